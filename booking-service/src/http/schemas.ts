import { z } from 'zod';

export const bookingCreate = z.object({
  flightId: z
    .number()
    .int()
    .positive()
    .max(2 ** 31 - 1),
  noOfSeats: z.number().int().min(1).max(10),
});

export const paymentCreate = z.object({
  bookingId: z
    .number()
    .int()
    .positive()
    .max(2 ** 31 - 1),
  amount: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
});

export const idParams = z.object({
  id: z
    .string()
    .regex(/^[1-9]\d{0,9}$/, 'must be a positive integer')
    .transform(Number)
    .pipe(z.number().max(2 ** 31 - 1)),
});

/** A whole number in a query string: digits only (no `0x10`, `1e2`, spaces or signs). */
const queryInt = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d{1,9}$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

export const pageQuery = z.object({
  page: queryInt(1, 1_000_000).default(1),
  limit: queryInt(1, 100).default(20),
});
