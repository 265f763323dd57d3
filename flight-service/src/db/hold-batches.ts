import type { HoldGuard, HoldRequest } from '../domain/holds';

/**
 * Group commit of new holds on one flight (see `reservationsStore().hold`): while one hold transaction of a flight is
 * in flight in this process, the holds that arrive for the same flight wait, and go together as ONE transaction once
 * it ends — one lock of the flight row, one UPDATE and one COMMIT (one log flush) for all of them, where each would
 * otherwise take the hot row's lock and flush in turn. Nothing about what is decided changes: each hold was decided
 * on its own read, the batch's guard is theirs (the same row, the sum of their seats), the primary keys still admit
 * each seat and each booking once, and a batch that fails in any way is retried as single holds, which answer
 * exactly as before.
 */

/** A hold as the store's single attempt takes it: the request, the seats it decided on and its guard. */
export interface HoldMember {
  request: HoldRequest;
  seatNumbers: string[];
  guard: HoldGuard;
}

/** At most this many holds go in one transaction (a statement of a few thousand placeholders at most). */
export const MAX_HOLD_BATCH = 50;

/** Two guards over the same row as read: the batch's guard is then the same row with the seats summed. */
const sameRow = (a: HoldGuard, b: HoldGuard): boolean => {
  const x = a.decidedOn;
  const y = b.decidedOn;
  return (
    x.departureTime.getTime() === y.departureTime.getTime() &&
    x.totalSeats === y.totalSeats &&
    x.seatsPerRow === y.seatsPerRow &&
    x.price === y.price &&
    x.flightNumber === y.flightNumber &&
    x.departureAirportCode === y.departureAirportCode &&
    x.arrivalAirportCode === y.arrivalAirportCode
  );
};

/**
 * The next batch from the holds waiting on one flight, in arrival order: each hold that was decided on the same row
 * as the first, is for another booking than those already taken, and asks for none of their seats. The others wait
 * for the batch after (a hold whose seats an earlier one takes then finds them taken, and chooses again, as it would
 * have after losing the race on its own).
 */
export function nextHoldBatch<M extends HoldMember>(
  waiting: readonly M[],
  max = MAX_HOLD_BATCH,
): { batch: M[]; rest: M[] } {
  const batch: M[] = [];
  const rest: M[] = [];
  const bookings = new Set<number>();
  const seats = new Set<string>();
  for (const m of waiting) {
    const fits =
      batch.length < max &&
      (batch.length === 0 || sameRow(batch[0].guard, m.guard)) &&
      !bookings.has(m.request.bookingId) &&
      !m.seatNumbers.some((s) => seats.has(s));
    if (!fits) {
      rest.push(m);
      continue;
    }
    batch.push(m);
    bookings.add(m.request.bookingId);
    for (const s of m.seatNumbers) seats.add(s);
  }
  return { batch, rest };
}

/** The guard of a batch: the row its holds were decided on, with enough seats left for all of them. */
export const batchGuard = (batch: readonly HoldMember[]): HoldGuard => ({
  decidedOn: batch[0].guard.decidedOn,
  seats: batch.reduce((n, m) => n + m.guard.seats, 0),
});
