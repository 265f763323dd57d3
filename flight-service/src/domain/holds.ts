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
import type { Layout } from './seats';

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

/** The flight row as a hold decides on it (read before the hold; its guard keeps it so to the commit), with its seat map's layout. */
export interface LockedFlight extends HeldFlight, Layout {
  availableSeats: number;
}

export interface HoldRequest {
  flightId: number;
  bookingId: number;
  seats: number;
  /** Per passenger: a chosen seat, or null to have one assigned. Absent: all assigned. */
  seatNumbers?: Array<string | null>;
}

/** A reservation with the seat of each passenger, in passenger order ([] once released). */
export type SeatedReservation = Reservation & { seatNumbers: string[] };

export type HeldReservation = SeatedReservation & { flight: HeldFlight };

export type HoldDecision =
  /** A new hold: the reservation to answer with and the flight's seats after it. */
  | { kind: 'hold'; reservation: HeldReservation; availableSeats: number }
  /** This booking already holds exactly these seats: the same answer again, nothing changes. */
  | { kind: 'repeat'; reservation: HeldReservation }
  /** The seat map changed (totalSeats or seatsPerRow) since the seats were chosen: read it again and re-choose. */
  | { kind: 'stale-layout' }
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
  held: SeatedReservation | undefined,
  request: HoldRequest,
  now: Date,
  /** The seats a new hold takes (passenger order) and the layout they were chosen on; none for a repeat. */
  seating?: { seatNumbers: string[]; layout: Layout },
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
  // The seats were named on the map as it was read before the lock; a changed map means choose again.
  if (
    !seating ||
    seating.layout.totalSeats !== flight.totalSeats ||
    seating.layout.seatsPerRow !== flight.seatsPerRow
  ) {
    return { kind: 'stale-layout' };
  }
  return {
    kind: 'hold',
    reservation: {
      bookingId,
      flightId,
      seats,
      status: 'HELD',
      seatNumbers: seating.seatNumbers,
      flight: heldFlight(flight),
    },
    availableSeats: flight.availableSeats - seats,
  };
}

/**
 * What a new hold needs of the flight row at its commit, as data: the row exactly as the hold was decided on (every
 * field {@link decideHold} reads, so any rule it applies still holds) and enough seats left. The store has the
 * database check it inside the hold's own UPDATE of the row, so the hold takes one round trip and the hot row is
 * locked only inside the server; when it fails, the use case reads the row again and decides again.
 */
export interface HoldGuard {
  seats: number;
  decidedOn: HeldFlight & Layout;
}

export const holdGuard = (flight: LockedFlight, seats: number): HoldGuard => ({
  seats,
  decidedOn: {
    ...heldFlight(flight),
    totalSeats: flight.totalSeats,
    seatsPerRow: flight.seatsPerRow,
  },
});

/** Whether two flight rows are the same as far as a hold decides on them (every field of a guard's `decidedOn`). */
export function sameDecidedRow(a: HeldFlight & Layout, b: HeldFlight & Layout): boolean {
  return (
    a.departureTime.getTime() === b.departureTime.getTime() &&
    a.totalSeats === b.totalSeats &&
    a.seatsPerRow === b.seatsPerRow &&
    a.price === b.price &&
    a.flightNumber === b.flightNumber &&
    a.departureAirportCode === b.departureAirportCode &&
    a.arrivalAirportCode === b.arrivalAirportCode
  );
}

/** The guard over a flight row, as the database evaluates it (the tests hold it to decideHold). */
export const holdGuardPasses = (flight: LockedFlight, g: HoldGuard): boolean =>
  flight.availableSeats >= g.seats && sameDecidedRow(flight, g.decidedOn);

export type ReleaseDecision =
  /** The booking never held seats: leave a RELEASED tombstone so a late hold is refused. */
  | { kind: 'tombstone' }
  /** Nothing of this flight to release (another flight's booking, or a tombstone). */
  | { kind: 'nothing' }
  /** Give the held seats back, once (the store frees exactly this booking's seat rows). */
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

/**
 * What a release answers: the released reservation with the seats it freed (`[]` for a repeat), or nothing when no
 * seats were ever held here.
 */
export const releasedReservation = (d: ReleaseDecision, freed: string[]): SeatedReservation | undefined =>
  d.kind === 'release'
    ? { ...d.reservation, seatNumbers: freed }
    : d.kind === 'already-released'
      ? { ...d.reservation, seatNumbers: [] }
      : undefined;

/** A seat change: the new seat of every passenger, in passenger order. */
export interface SeatChangeRequest {
  flightId: number;
  bookingId: number;
  changeId: string;
  seatNumbers: string[];
}

export type SeatChangeDecision =
  | { kind: 'unchanged' }
  /** Free every seat the booking holds and take `seatNumbers` (some may be the same seats, reordered). */
  | { kind: 'change'; seatNumbers: string[] }
  | { kind: 'refused'; refusal: Refusal };

/**
 * Whether a booking's reservation (locked, with its current seats in passenger order) may move to the requested
 * seats. The seats' validity on the map was checked before; whether they are free is the database's to say.
 */
export function decideSeatChange(
  held: SeatedReservation | undefined,
  request: SeatChangeRequest,
): SeatChangeDecision {
  const { flightId, bookingId, seatNumbers } = request;
  if (!held || held.flightId !== flightId || (held.status === 'RELEASED' && held.seats === 0)) {
    return { kind: 'refused', refusal: { code: 'not-found', noun: 'Reservation', id: bookingId } };
  }
  if (held.status === 'RELEASED') {
    return { kind: 'refused', refusal: { code: 'reservation-released', bookingId } };
  }
  if (seatNumbers.length !== held.seats) {
    const message = `must name ${held.seats} seats, one per passenger`;
    return {
      kind: 'refused',
      refusal: { code: 'seat-numbers-invalid', errors: [{ path: 'seatNumbers', message }] },
    };
  }
  const same = seatNumbers.every((s, i) => held.seatNumbers[i] === s);
  return same ? { kind: 'unchanged' } : { kind: 'change', seatNumbers };
}
