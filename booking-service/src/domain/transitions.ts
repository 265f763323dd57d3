import type { BookingEvent } from '@skyway/common';
import {
  buildEvent,
  cancelRefusal,
  canSee,
  isVisible,
  paymentRefusal,
  RESERVATION_FAILED,
  type BookingRecord,
  type BookingStatus,
  type CancelRefusal,
  type PaymentRefusal,
  type PendingSeatChange,
} from './booking';
import { seatsAre, withSeats } from './seats';

/**
 * A booking's new state, decided here and written by the bookings store in one transaction: the row, the seat
 * release lease when the change sets one (undefined: left as it is), and the event committed with it.
 */
export interface BookingChange {
  booking: BookingRecord;
  releaseLeaseUntil?: Date | null;
  event?: BookingEvent;
}

/** Until when whoever starts a seat release owns it (after that the sweeper may retry it). */
export const releaseLeaseUntil = (now: Date, releaseRetrySeconds: number): Date =>
  new Date(now.getTime() + releaseRetrySeconds * 1000);

/** Whether a cancelled booking's seats still have to be given back. */
export const needsRelease = (b: Pick<BookingRecord, 'seatsState'>): boolean => b.seatsState === 'RELEASING';

/** Cancelled (or expired): the seats go RELEASING under a lease, unless nothing is held any more. */
function cancelled(
  b: BookingRecord,
  reason: 'USER' | 'EXPIRED',
  now: Date,
  releaseRetrySeconds: number,
): BookingChange {
  const release = b.seatsState !== 'RELEASED';
  const booking: BookingRecord = {
    ...b,
    status: 'CANCELLED',
    cancelReason: reason,
    seatsState: release ? 'RELEASING' : 'RELEASED',
    updatedAt: now,
  };
  return {
    booking,
    ...(release ? { releaseLeaseUntil: releaseLeaseUntil(now, releaseRetrySeconds) } : {}),
    event: buildEvent(reason === 'USER' ? 'booking.cancelled' : 'booking.expired', booking, b.status, now),
  };
}

export type UserCancel =
  | { kind: 'refused'; refusal: 'not-found' | CancelRefusal }
  /** Already cancelled: returned as it is. */
  | { kind: 'unchanged'; booking: BookingRecord }
  | { kind: 'cancelled'; change: BookingChange };

/** A user cancels: CANCELLED/USER with a booking.cancelled event; a cancelled booking is returned unchanged. */
export function cancelByUser(
  b: BookingRecord | undefined,
  who: { userId: number; role: string },
  now: Date,
  releaseRetrySeconds: number,
): UserCancel {
  if (!b || !isVisible(b) || !canSee(b, who)) return { kind: 'refused', refusal: 'not-found' };
  if (b.status === 'CANCELLED') return { kind: 'unchanged', booking: b };
  const refusal = cancelRefusal(b, now);
  if (refusal) return { kind: 'refused', refusal };
  return { kind: 'cancelled', change: cancelled(b, 'USER', now, releaseRetrySeconds) };
}

/** The sweeper expires a booking it claimed as due: CANCELLED/EXPIRED with a booking.expired event. */
export const expire = (b: BookingRecord, now: Date, releaseRetrySeconds: number): BookingChange =>
  cancelled(b, 'EXPIRED', now, releaseRetrySeconds);

/**
 * The saga gives up a booking still waiting for its seats (HOLDING): CANCELLED/RESERVATION_FAILED, hidden from
 * users, and no event (it was never published as created). Its seats go RELEASING when a hold attempt may have
 * taken them. Undefined (nothing to do) for a booking that left HOLDING: one that reached HELD is live.
 */
export function giveUpHold(
  b: BookingRecord | undefined,
  mayHoldSeats: boolean,
  now: Date,
  releaseRetrySeconds: number,
): BookingChange | undefined {
  if (!b || b.status !== 'INITIATED' || b.seatsState !== 'HOLDING') return undefined;
  return {
    booking: {
      ...b,
      status: 'CANCELLED',
      cancelReason: RESERVATION_FAILED,
      seatsState: mayHoldSeats ? 'RELEASING' : 'RELEASED',
      updatedAt: now,
    },
    releaseLeaseUntil: mayHoldSeats ? releaseLeaseUntil(now, releaseRetrySeconds) : null,
  };
}

export type PaymentStart =
  | { kind: 'refused'; refusal: PaymentRefusal }
  /** PENDING, stamped `now` (the attempt's mark); `takesOver` when an abandoned attempt's PENDING is taken over. */
  | { kind: 'started'; change: BookingChange; takesOver: boolean };

/** INITIATED (or abandoned PENDING) → PENDING, when the rules allow the payment. */
export function startPayment(
  b: BookingRecord,
  amount: number,
  now: Date,
  abandonedBefore: Date,
): PaymentStart {
  const refusal = paymentRefusal(b, amount, now, abandonedBefore);
  if (refusal) return { kind: 'refused', refusal };
  return {
    kind: 'started',
    change: { booking: { ...b, status: 'PENDING', updatedAt: now } },
    takesOver: b.status === 'PENDING',
  };
}

/** Whether the booking still carries this attempt's PENDING (nobody took the attempt over meanwhile). */
const pendingSince = (b: BookingRecord | undefined, startedAt: Date): b is BookingRecord =>
  b?.status === 'PENDING' && b.updatedAt.getTime() === startedAt.getTime();

/**
 * PENDING → BOOKED with the booking.confirmed event, once the charge went through. Undefined when the booking
 * is no longer this attempt's PENDING (the charge then needs a refund).
 */
export function confirmPayment(
  b: BookingRecord | undefined,
  startedAt: Date,
  now: Date,
): BookingChange | undefined {
  if (!pendingSince(b, startedAt)) return undefined;
  const booking: BookingRecord = { ...b, status: 'BOOKED', updatedAt: now };
  return { booking, event: buildEvent('booking.confirmed', booking, 'PENDING', now) };
}

/** PENDING → INITIATED after a failed attempt, so the booking can be paid again (not if taken over since). */
export function abandonPayment(
  b: BookingRecord | undefined,
  startedAt: Date,
  now: Date,
): BookingChange | undefined {
  if (!pendingSince(b, startedAt)) return undefined;
  return { booking: { ...b, status: 'INITIATED', updatedAt: now } };
}

/** Why a booking's seats cannot be changed now. */
export type SeatChangeRefusal =
  | { kind: 'not-found' }
  | { kind: 'seat-count'; expected: number }
  | { kind: 'payment-in-progress' }
  | { kind: 'change-in-progress' }
  | { kind: 'not-changeable'; status: BookingStatus; expired: boolean }
  | { kind: 'departed' };

export type SeatChangeStart =
  | { kind: 'refused'; refusal: SeatChangeRefusal }
  /** The seats asked for are exactly the ones it has: nothing to do (200 unchanged). */
  | { kind: 'unchanged'; booking: BookingRecord }
  /** An earlier change's intent outlived its lease (its request died): finish that one first. */
  | { kind: 'recover-first'; pending: PendingSeatChange }
  /** The intent is recorded (`change` writes it); now ask flight-service with this changeId. */
  | { kind: 'started'; change: BookingChange; pending: PendingSeatChange };

/**
 * A user asks for new seats (one per passenger, in passenger order): allowed for the owner (or an admin) of an
 * INITIATED (not expired) or BOOKED booking whose flight has not departed, with exactly one seat per passenger,
 * and only while no other seat change of the booking is under way. Records the change's intent first.
 */
export function startSeatChange(
  b: BookingRecord | undefined,
  who: { userId: number; role: string },
  seats: string[],
  changeId: string,
  now: Date,
  leaseMs: number,
): SeatChangeStart {
  if (!b || !isVisible(b) || !canSee(b, who)) return { kind: 'refused', refusal: { kind: 'not-found' } };
  if (seats.length !== b.noOfSeats) {
    return { kind: 'refused', refusal: { kind: 'seat-count', expected: b.noOfSeats } };
  }
  if (b.status === 'PENDING') return { kind: 'refused', refusal: { kind: 'payment-in-progress' } };
  const expired = b.status === 'INITIATED' && b.expiresAt.getTime() <= now.getTime();
  if ((b.status !== 'INITIATED' && b.status !== 'BOOKED') || expired || b.seatsState !== 'HELD') {
    return { kind: 'refused', refusal: { kind: 'not-changeable', status: b.status, expired } };
  }
  if (b.departureTime.getTime() <= now.getTime()) return { kind: 'refused', refusal: { kind: 'departed' } };
  if (b.seatChange) {
    if (b.seatChange.leaseUntil.getTime() > now.getTime()) {
      return { kind: 'refused', refusal: { kind: 'change-in-progress' } };
    }
    return { kind: 'recover-first', pending: b.seatChange };
  }
  if (seatsAre(b.passengers, seats)) return { kind: 'unchanged', booking: b };
  const pending: PendingSeatChange = { changeId, seats, leaseUntil: new Date(now.getTime() + leaseMs) };
  // Seat bookkeeping only: the booking's public updatedAt moves when the change is done.
  return { kind: 'started', change: { booking: { ...b, seatChange: pending } }, pending };
}

/**
 * flight-service's final word on a seat change: the seats it holds for the booking now (`changed` false when they
 * were those already), or nothing applied.
 */
export type SeatChangeOutcome =
  { kind: 'applied'; seats: string[]; changed: boolean } | { kind: 'not-applied' };

/**
 * Completes the seat change `changeId` with flight-service's answer: the passengers get the seats it holds now,
 * the intent is cleared, and a BOOKED booking whose seats changed gets its `booking.seats-changed` event in the
 * same transaction. Undefined when the booking no longer carries this change (completed by someone else).
 */
export function completeSeatChange(
  b: BookingRecord | undefined,
  changeId: string,
  outcome: SeatChangeOutcome,
  now: Date,
): BookingChange | undefined {
  if (!b || b.seatChange?.changeId !== changeId) return undefined;
  const cleared: BookingRecord = { ...b, seatChange: null };
  // A booking cancelled meanwhile: flight-service released whatever it held; its record stays as it was.
  if (outcome.kind === 'not-applied' || b.status === 'CANCELLED') return { booking: cleared };
  if (outcome.seats.length !== b.passengers.length) return { booking: cleared };
  if (seatsAre(b.passengers, outcome.seats)) return { booking: { ...cleared, seatsToLearn: false } };
  // The seats it had (a booking from before seats did not know them yet): learnt, not changed.
  if (!outcome.changed) {
    return {
      booking: { ...cleared, passengers: withSeats(b.passengers, outcome.seats), seatsToLearn: false },
    };
  }
  const booking: BookingRecord = {
    ...cleared,
    passengers: withSeats(b.passengers, outcome.seats),
    seatsToLearn: false,
    updatedAt: now,
  };
  if (b.status !== 'BOOKED') return { booking };
  return { booking, event: buildEvent('booking.seats-changed', booking, b.status, now) };
}

/**
 * A pre-v1.1 booking learns the seat numbers flight-service gave its reservation (`seats` empty: it holds none).
 * Undefined when there is nothing to learn (already known, or a seat change under way will tell).
 */
export function learnSeats(b: BookingRecord | undefined, seats: string[]): BookingChange | undefined {
  if (!b || !b.seatsToLearn || b.seatChange) return undefined;
  if (seats.length !== b.passengers.length || b.status === 'CANCELLED') {
    return { booking: { ...b, seatsToLearn: false } };
  }
  return { booking: { ...b, passengers: withSeats(b.passengers, seats), seatsToLearn: false } };
}
