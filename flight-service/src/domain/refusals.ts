/** What a use case refuses, as data: http/problems.ts turns each code into a status, problem type and detail. */

/** A field and what is wrong with it (the shape of a problem's `errors` entries). */
export interface FieldIssue {
  path: string;
  message: string;
}

export type Noun = 'City' | 'Airport' | 'Airplane' | 'Flight' | 'Reservation';

/** A row that a write names but that does not exist (checked before writing). */
export interface UnknownReference {
  path: string;
  noun: 'city' | 'airport' | 'airplane';
  value: string | number;
}

export type Refusal =
  | { code: 'not-found'; noun: Noun; id: number }
  | { code: 'invalid-query'; errors: FieldIssue[] }
  | { code: 'unknown-reference'; missing: UnknownReference[] }
  | { code: 'capacity-below-seats'; largestSeats: number }
  | { code: 'flight-rules'; errors: FieldIssue[] }
  | { code: 'airplane-rules'; errors: FieldIssue[] }
  | { code: 'seats-below-held'; held: number }
  | { code: 'flight-has-reservations'; flightId: number }
  | { code: 'duplicate'; noun: Noun }
  /** The database refused a write whose reference vanished after the check (a concurrent delete). */
  | { code: 'reference-missing'; noun: Noun; parent: string; column?: string; value?: string }
  /** The database refused a delete: rows still refer to it. */
  | { code: 'still-referenced'; noun: Noun; id?: number; by: string }
  | { code: 'flight-departed'; flightId: number }
  | { code: 'not-enough-seats'; flightId: number; availableSeats: number }
  | { code: 'reservation-released'; bookingId: number }
  | { code: 'reservation-mismatch'; bookingId: number; heldSeats: number }
  | { code: 'booking-on-other-flight'; bookingId: number }
  /** Seats asked for that are not on the map, twice in one request, or a wrong number of them (a 400). */
  | { code: 'seat-numbers-invalid'; errors: FieldIssue[] }
  /** Requested seats that another live reservation holds. */
  | { code: 'seat-taken'; flightId: number; seats: string[] }
  | { code: 'change-id-reused'; bookingId: number; changeId: string }
  /** Seats are taken beyond the flight's new end of the map (a totalSeats patch). */
  | { code: 'seats-taken-beyond'; seats: string[] }
  /** A change of row width (seatsPerRow) would rename seats that live reservations hold. */
  | { code: 'layout-has-live-seats'; noun: 'Airplane' | 'Flight'; id: number };

export type RefusalCode = Refusal['code'];

/** A decision or a store write: a value, or the refusal that stopped it. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; refusal: Refusal };

export const accept = <T>(value: T): Outcome<T> => ({ ok: true, value });
export const refuse = (refusal: Refusal): { ok: false; refusal: Refusal } => ({ ok: false, refusal });

/** Thrown by use cases; the HTTP layer maps `refusal` through one table. */
export class Refused extends Error {
  override name = 'Refused';
  constructor(readonly refusal: Refusal) {
    super(refusal.code);
  }
}

/** The value of an outcome, or its refusal thrown. */
export function valueOrThrow<T>(outcome: Outcome<T>): T {
  if (!outcome.ok) throw new Refused(outcome.refusal);
  return outcome.value;
}
