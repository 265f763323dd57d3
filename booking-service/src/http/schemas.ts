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

export const pageQuery = z.object({
  page: z.coerce.number().int().min(1).default(1),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});
