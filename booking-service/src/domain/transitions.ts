import type { BookingEvent } from '@skyway/common';
import {
  buildEvent,
  cancelRefusal,
  canSee,
  isVisible,
  paymentRefusal,
  RESERVATION_FAILED,
  type BookingRecord,
  type CancelRefusal,
  type PaymentRefusal,
} from './booking';

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
