import { randomBytes } from 'node:crypto';

/** One traveller of a booking: `name` null for a count-only booking, `seat` null while not known (pre-v1.1 rows). */
export interface Passenger {
  name: string | null;
  seat: string | null;
}

/** A seat's name: row (1..999) and letter from `ABCDEFGHJK` (no I), e.g. `12A` (contract: Seats). */
export const SEAT_SYNTAX = /^[1-9][0-9]{0,3}[A-HJK]$/;

/**
 * A passenger's name after trimming: letters of any script (each may carry combining marks, so a decomposed
 * "José" is as good as a composed one), spaces, `.`, `'` and `-`, with at least one letter.
 */
const NAME_SYNTAX = /^(?=.*\p{L})(?:\p{L}\p{M}*|[ .'-])+$/u;
export const MAX_NAME_LENGTH = 100;

/** Why a name is refused, or undefined when it is fine (`name` already trimmed and NFC-normalised). */
export function nameRefusal(name: string): string | undefined {
  const length = [...name].length;
  if (length < 1 || length > MAX_NAME_LENGTH) return `must be 1–${MAX_NAME_LENGTH} characters after trimming`;
  if (!NAME_SYNTAX.test(name)) return "may contain only letters, spaces, '.', \"'\" and '-'";
  return undefined;
}

/** The name as stored: trimmed, NFC (so the 100-character limit counts what a reader sees). */
export const normaliseName = (name: string): string => name.normalize('NFC').trim();

/** Indexes of seats named a second time in `seats` (nulls ignored). */
export function duplicateSeatIndexes(seats: ReadonlyArray<string | null | undefined>): number[] {
  const seen = new Set<string>();
  const dupes: number[] = [];
  seats.forEach((s, i) => {
    if (s == null) return;
    if (seen.has(s)) dupes.push(i);
    seen.add(s);
  });
  return dupes;
}

/** Count-only bookings (`noOfSeats` alone): that many nameless passengers, seats assigned by flight-service. */
export const namelessPassengers = (n: number): Passenger[] =>
  Array.from({ length: n }, () => ({ name: null, seat: null }));

/** The passengers with the seats flight-service holds for them (positional), names kept. */
export const withSeats = (passengers: Passenger[], seats: ReadonlyArray<string | null>): Passenger[] =>
  passengers.map((p, i) => ({ name: p.name, seat: seats[i] ?? null }));

/** Whether every passenger's seat is known and equal, in order, to `seats`. */
export const seatsAre = (passengers: Passenger[], seats: readonly string[]): boolean =>
  passengers.length === seats.length && passengers.every((p, i) => p.seat !== null && p.seat === seats[i]);

/** The alphabet of record locators: no 0/O, 1/I, so a locator read out over the phone is unambiguous. */
export const LOCATOR_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
export const LOCATOR_LENGTH = 6;
export const LOCATOR_SYNTAX = /^[ABCDEFGHJKLMNPQRSTUVWXYZ23456789]{6}$/;

/**
 * A new record locator: 6 characters drawn uniformly from the 32-letter alphabet with the platform's CSPRNG
 * (32 divides 256, so `byte & 31` has no bias); nothing about it comes from the booking id. Uniqueness is the
 * database's unique index: the store draws again on the rare duplicate.
 */
export function newLocator(random: (n: number) => Uint8Array = randomBytes): string {
  const bytes = random(LOCATOR_LENGTH);
  let locator = '';
  for (let i = 0; i < LOCATOR_LENGTH; i++) locator += LOCATOR_ALPHABET[bytes[i] & 31];
  return locator;
}
