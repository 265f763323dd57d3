import { randomUUID } from 'node:crypto';
import type { BookingEvent, BookingEventType } from '@skyway/common';
import type { Passenger } from './seats';

export type BookingStatus = 'INITIATED' | 'PENDING' | 'BOOKED' | 'CANCELLED';

/**
 * USER and EXPIRED are the contract's reasons. RESERVATION_FAILED marks a booking the saga gave up on
 * (flight-service refused or could not be reached); such bookings are internal records only: the client
 * got an error, never the booking, and they are left out of every user-facing read.
 */
export type CancelReason = 'USER' | 'EXPIRED' | 'RESERVATION_FAILED';
export const RESERVATION_FAILED: CancelReason = 'RESERVATION_FAILED';

/**
 * The seat hold at flight-service, tracked apart from the status: HOLDING while the PUT is undecided,
 * HELD once it succeeded, RELEASING after a cancellation until flight-service confirmed the release,
 * RELEASED when nothing is held any more.
 */
export type SeatsState = 'HOLDING' | 'HELD' | 'RELEASING' | 'RELEASED';

/**
 * A seat change recorded before flight-service is asked (its intent): the change's id, the seats asked for in
 * passenger order, and until when the request that recorded it owns it. Until it is completed with flight-service's
 * answer to this same changeId (by that request, or after the lease by the sweeper) no other seat change starts,
 * so the seats the booking records can never stay different from the ones flight-service holds.
 */
export interface PendingSeatChange {
  changeId: string;
  seats: string[];
  leaseUntil: Date;
}

/** The booking fields the rules and the events need (a plain shape, no ORM). */
export interface BookingRecord {
  id: number;
  flightId: number;
  userId: number;
  userEmail: string;
  flightNumber: string;
  departureAirportCode: string;
  arrivalAirportCode: string;
  departureTime: Date;
  noOfSeats: number;
  totalCost: number;
  status: BookingStatus;
  cancelReason: CancelReason | null;
  seatsState: SeatsState;
  expiresAt: Date;
  createdAt: Date;
  updatedAt: Date;
  /** The record locator (6 characters of LOCATOR_ALPHABET, unique). */
  locator: string;
  /** In the order the booking named them; `noOfSeats` of them. */
  passengers: Passenger[];
  /** The seat numbers are still to be read back from flight-service (bookings from before seats existed). */
  seatsToLearn: boolean;
  seatChange: PendingSeatChange | null;
}

/** What clients see (contract: Booking). */
export interface BookingView {
  id: number;
  flightId: number;
  userId: number;
  noOfSeats: number;
  totalCost: number;
  status: BookingStatus;
  cancelReason: CancelReason | null;
  expiresAt: string;
  createdAt: string;
  updatedAt: string;
  locator: string;
  passengers: Passenger[];
}

export function toBookingView(b: BookingRecord): BookingView {
  return {
    id: b.id,
    flightId: b.flightId,
    userId: b.userId,
    noOfSeats: b.noOfSeats,
    totalCost: b.totalCost,
    status: b.status,
    cancelReason: b.cancelReason,
    expiresAt: b.expiresAt.toISOString(),
    createdAt: b.createdAt.toISOString(),
    updatedAt: b.updatedAt.toISOString(),
    locator: b.locator,
    passengers: b.passengers.map((p) => ({ name: p.name, seat: p.seat })),
  };
}

export const totalCostOf = (price: number, noOfSeats: number) => price * noOfSeats;

export const expiresAtFrom = (now: Date, ttlSeconds: number) => new Date(now.getTime() + ttlSeconds * 1000);

/**
 * Whether users may see (read, list, cancel, pay) a booking at all. Not a booking the saga gave up on, and not
 * one whose seats are still being held: until the hold is decided the booking is not theirs yet (its POST has
 * not answered), and a booking that could be paid before its seats are held could end BOOKED with no seat.
 */
export const isVisible = (b: Pick<BookingRecord, 'cancelReason' | 'status' | 'seatsState'>): boolean =>
  b.cancelReason !== RESERVATION_FAILED && !(b.status === 'INITIATED' && b.seatsState === 'HOLDING');

/** Why a payment for this booking cannot start now, or undefined when it may. */
export type PaymentRefusal =
  'not-found' | 'already-booked' | 'in-progress' | 'cancelled' | 'expired' | 'departed' | 'wrong-amount';

/**
 * `pendingAbandonedBefore`: a PENDING booking last changed before this instant belongs to a payment attempt
 * that died with its process (a live attempt gives up after the payment timeout and puts the booking back),
 * so it may be paid again under the same rules as an INITIATED one.
 */
export function paymentRefusal(
  b: BookingRecord,
  amount: number,
  now: Date,
  pendingAbandonedBefore?: Date,
): PaymentRefusal | undefined {
  if (!isVisible(b)) return 'not-found';
  if (b.status === 'BOOKED') return 'already-booked';
  const abandoned = pendingAbandonedBefore && b.updatedAt.getTime() <= pendingAbandonedBefore.getTime();
  if (b.status === 'PENDING' && !abandoned) return 'in-progress';
  if (b.status === 'CANCELLED') return 'cancelled';
  // Only a booking whose seats are held can be paid (belt and braces: isVisible already hides HOLDING ones).
  if (b.seatsState !== 'HELD') return 'not-found';
  if (b.expiresAt.getTime() <= now.getTime()) return 'expired';
  if (b.departureTime.getTime() <= now.getTime()) return 'departed';
  if (amount !== b.totalCost) return 'wrong-amount';
  return undefined;
}

/** Why a user may not cancel this booking now, or undefined when they may (a cancelled one is returned as is). */
export type CancelRefusal = 'payment-in-progress' | 'departed';

export function cancelRefusal(b: BookingRecord, now: Date): CancelRefusal | undefined {
  if (b.status === 'PENDING') return 'payment-in-progress';
  if (b.status === 'BOOKED' && b.departureTime.getTime() <= now.getTime()) return 'departed';
  return undefined;
}

/** Who may read or cancel a booking: its owner, or an admin. */
export const canSee = (b: Pick<BookingRecord, 'userId'>, who: { userId: number; role: string }) =>
  b.userId === who.userId || who.role === 'admin';

/** The event for a booking's new state (contract: Events), with the status it left. */
export function buildEvent(
  type: BookingEventType,
  b: BookingRecord,
  previousStatus: BookingStatus | undefined,
  now: Date,
): BookingEvent {
  return {
    eventId: randomUUID(),
    type,
    occurredAt: now.toISOString(),
    data: {
      bookingId: b.id,
      userId: b.userId,
      userEmail: b.userEmail,
      flightId: b.flightId,
      flightNumber: b.flightNumber,
      departureAirportCode: b.departureAirportCode,
      arrivalAirportCode: b.arrivalAirportCode,
      departureTime: b.departureTime.toISOString(),
      noOfSeats: b.noOfSeats,
      totalCost: b.totalCost,
      status: b.status,
      ...(previousStatus ? { previousStatus } : {}),
      locator: b.locator,
      passengers: b.passengers.map((p) => ({ name: p.name, seat: p.seat })),
    },
  };
}

/** A user's unpaid seats (INITIATED or PENDING bookings not yet expired): on one flight, and in all. */
export interface UnpaidSeats {
  onFlight: number;
  total: number;
}

/** How many unpaid seats one user may hold: on one flight, and across all flights. */
export interface UnpaidSeatCaps {
  perFlight: number;
  total: number;
}

export interface UnpaidSeatsRefusal {
  cap: 'per-flight' | 'total';
  limit: number;
  unpaid: number;
}

/**
 * The most unpaid seats a user may already hold, on this flight and in all, for `requested` more to be allowed:
 * the rule below as two numbers, which the store's insert checks under the user's lock in the same round trip.
 */
export function unpaidSeatsAllowance(requested: number, caps: UnpaidSeatCaps): UnpaidSeats {
  return { onFlight: caps.perFlight - requested, total: caps.total - requested };
}

/**
 * Whether a user may hold `requested` more unpaid seats. Without a cap one customer could hold a whole flight
 * for the booking TTL, again and again, and nobody else could buy it.
 */
export function unpaidSeatsRefusal(
  unpaid: UnpaidSeats,
  requested: number,
  caps: UnpaidSeatCaps,
): UnpaidSeatsRefusal | undefined {
  const allowed = unpaidSeatsAllowance(requested, caps);
  if (unpaid.onFlight > allowed.onFlight) {
    return { cap: 'per-flight', limit: caps.perFlight, unpaid: unpaid.onFlight };
  }
  if (unpaid.total > allowed.total) return { cap: 'total', limit: caps.total, unpaid: unpaid.total };
  return undefined;
}

/**
 * Whether a look at the flight already says a seat hold for `seats` cannot succeed (departed, or fewer seats
 * left). booking-service's own early answer, so a hopeless request writes nothing; flight-service decides the
 * hold itself under its row lock and stays the authority.
 */
export function hopelessHold(
  flight: { availableSeats: number; departureTime: Date },
  seats: number,
  now: Date,
): 'departed' | 'not-enough-seats' | undefined {
  if (flight.departureTime.getTime() <= now.getTime()) return 'departed';
  if (flight.availableSeats < seats) return 'not-enough-seats';
  return undefined;
}
