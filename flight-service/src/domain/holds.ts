/** Why seats cannot be held on a flight right now. */
export type ReservationRefusal = 'departed' | 'not-enough-seats';

/** Whether `seats` seats can be held on a flight right now (decided while the flight's row is locked). */
export function reservationRefusal(
  flight: { availableSeats: number; departureTime: Date },
  seats: number,
  now: Date,
): ReservationRefusal | undefined {
  if (flight.departureTime.getTime() <= now.getTime()) return 'departed';
  if (flight.availableSeats < seats) return 'not-enough-seats';
  return undefined;
}

import type { Refusal } from './refusals';

export interface Reservation {
  bookingId: number;
  flightId: number;
  seats: number;
  status: 'HELD' | 'RELEASED';
}

/** The flight as it stood when its seats were held: what a booking records. */
export interface HeldFlight {
  flightNumber: string;
  departureAirportCode: string;
  arrivalAirportCode: string;
  departureTime: Date;
  price: number;
}

/** The flight row as a hold reads it (under its row lock for a new hold). */
export interface LockedFlight extends HeldFlight {
  availableSeats: number;
}

export interface HoldRequest {
  flightId: number;
  bookingId: number;
  seats: number;
}

export type HeldReservation = Reservation & { flight: HeldFlight };

export type HoldDecision =
  /** A new hold: the reservation to answer with and the flight's seats after it. */
  | { kind: 'hold'; reservation: HeldReservation; availableSeats: number }
  /** This booking already holds exactly these seats: the same answer again, nothing changes. */
  | { kind: 'repeat'; reservation: HeldReservation }
  | { kind: 'refused'; refusal: Refusal };

const refused = (refusal: Refusal): HoldDecision => ({ kind: 'refused', refusal });

const heldFlight = (f: LockedFlight): HeldFlight => ({
  flightNumber: f.flightNumber,
  departureAirportCode: f.departureAirportCode,
  arrivalAirportCode: f.arrivalAirportCode,
  departureTime: f.departureTime,
  price: f.price,
});

/**
 * Why a booking that already has a reservation row cannot be answered as a repeat, if it cannot. Needs no flight:
 * the use case asks it before reading one.
 */
export function repeatRefusal(held: Reservation, request: HoldRequest): Refusal | undefined {
  if (held.flightId !== request.flightId)
    return { code: 'booking-on-other-flight', bookingId: held.bookingId };
  if (held.status === 'RELEASED') return { code: 'reservation-released', bookingId: held.bookingId };
  if (held.seats !== request.seats) {
    return { code: 'reservation-mismatch', bookingId: held.bookingId, heldSeats: held.seats };
  }
  return undefined;
}

/**
 * Whether `request` may hold seats. `flight` is the flight row (undefined: no such flight); `held` is the booking's
 * existing reservation row, if any (a released one is a tombstone). A repeat answers as the first hold did, with the
 * flight as it is now, and is not re-checked for departure or seats: the seats are already held.
 */
export function decideHold(
  flight: LockedFlight | undefined,
  held: Reservation | undefined,
  request: HoldRequest,
  now: Date,
): HoldDecision {
  const { flightId, bookingId, seats } = request;
  if (held) {
    const refusal = repeatRefusal(held, request);
    if (refusal) return refused(refusal);
    if (!flight) return refused({ code: 'not-found', noun: 'Flight', id: flightId });
    return { kind: 'repeat', reservation: { ...held, flight: heldFlight(flight) } };
  }
  if (!flight) return refused({ code: 'not-found', noun: 'Flight', id: flightId });
  const refusal = reservationRefusal(flight, seats, now);
  if (refusal === 'departed') return refused({ code: 'flight-departed', flightId });
  if (refusal === 'not-enough-seats') {
    return refused({ code: 'not-enough-seats', flightId, availableSeats: flight.availableSeats });
  }
  return {
    kind: 'hold',
    reservation: { bookingId, flightId, seats, status: 'HELD', flight: heldFlight(flight) },
    availableSeats: flight.availableSeats - seats,
  };
}

export type ReleaseDecision =
  /** The booking never held seats: leave a RELEASED tombstone so a late hold is refused. */
  | { kind: 'tombstone' }
  /** Nothing of this flight to release (another flight's booking, or a tombstone). */
  | { kind: 'nothing' }
  /** Give the held seats back, once. */
  | { kind: 'release'; seats: number; reservation: Reservation }
  /** Already released: the same answer, nothing restored twice. */
  | { kind: 'already-released'; reservation: Reservation };

export function decideRelease(held: Reservation | undefined, flightId: number): ReleaseDecision {
  if (!held) return { kind: 'tombstone' };
  if (held.flightId !== flightId || held.seats === 0) return { kind: 'nothing' };
  const reservation: Reservation = { ...held, status: 'RELEASED' };
  return held.status === 'HELD'
    ? { kind: 'release', seats: held.seats, reservation }
    : { kind: 'already-released', reservation };
}

/** What a release answers: the released reservation, or nothing when no seats were ever held here. */
export const releasedReservation = (d: ReleaseDecision): Reservation | undefined =>
  d.kind === 'release' || d.kind === 'already-released' ? d.reservation : undefined;
