import { z } from 'zod';
import {
  duplicateSeatIndexes,
  LOCATOR_SYNTAX,
  namelessPassengers,
  nameRefusal,
  normaliseName,
  SEAT_SYNTAX,
  type Passenger,
} from '../domain/seats';

const seat = z.string().regex(SEAT_SYNTAX, 'must be a seat like 12A (row, then a letter A–K without I)');

const passengerName = z
  .string()
  .transform(normaliseName)
  .superRefine((name, ctx) => {
    const refusal = nameRefusal(name);
    if (refusal) ctx.addIssue({ code: 'custom', message: refusal });
  });

/** Adds an issue for every seat named a second time (`pathOf(i)` places it). */
const noDuplicateSeats = (
  seats: ReadonlyArray<string | null | undefined>,
  ctx: z.RefinementCtx,
  pathOf: (i: number) => Array<string | number>,
) => {
  for (const i of duplicateSeatIndexes(seats)) {
    ctx.addIssue({ code: 'custom', path: pathOf(i), message: `seat ${seats[i]} is named twice` });
  }
};

/**
 * `{ flightId, passengers?: [{ name, seat? }], noOfSeats? }` → `{ flightId, passengers }`: with passengers,
 * noOfSeats may be left out and must agree when given; without, noOfSeats (1–10) alone makes nameless passengers.
 */
export const bookingCreate = z
  .object({
    flightId: z
      .number()
      .int()
      .positive()
      .max(2 ** 31 - 1),
    noOfSeats: z.number().int().min(1).max(10).optional(),
    passengers: z
      .array(z.object({ name: passengerName, seat: seat.nullish() }))
      .min(1)
      .max(10)
      .optional(),
  })
  .superRefine((b, ctx) => {
    if (!b.passengers) {
      if (b.noOfSeats === undefined) {
        ctx.addIssue({ code: 'custom', path: ['noOfSeats'], message: 'give passengers or noOfSeats (1–10)' });
      }
      return;
    }
    if (b.noOfSeats !== undefined && b.noOfSeats !== b.passengers.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['noOfSeats'],
        message: `must equal the number of passengers (${b.passengers.length})`,
      });
    }
    noDuplicateSeats(
      b.passengers.map((p) => p.seat),
      ctx,
      (i) => ['passengers', i, 'seat'],
    );
  })
  .transform((b): { flightId: number; passengers: Passenger[] } => ({
    flightId: b.flightId,
    passengers: b.passengers
      ? b.passengers.map((p) => ({ name: p.name, seat: p.seat ?? null }))
      : namelessPassengers(b.noOfSeats as number),
  }));

/** `{ seats: ["14C", "14D"] }`: the new seat of every passenger, in passenger order. */
export const seatChange = z
  .object({ seats: z.array(seat).min(1).max(10) })
  .superRefine((b, ctx) => noDuplicateSeats(b.seats, ctx, (i) => ['seats', i]));

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
  locator: z
    .string()
    .regex(LOCATOR_SYNTAX, 'must be 6 characters of ABCDEFGHJKLMNPQRSTUVWXYZ23456789')
    .optional(),
});
