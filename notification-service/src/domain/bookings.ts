import type { BookingEvent } from '@skyway/common';
import type { NotificationKind } from './emails';

/** What notification-service remembers about a booking (from its events), for reminders and cancellations. */
export interface BookingRecord {
  bookingId: number;
  userEmail: string;
  flightNumber: string;
  departureAirportCode: string;
  arrivalAirportCode: string;
  departureTime: Date;
  noOfSeats: number;
  totalCost: number;
  status: string;
  /** When we first learned the booking was BOOKED (confirmation, or a cancellation saying it had been). */
  confirmedAt: Date | null;
  /** `occurredAt` of the newest event applied to `status`: events may arrive out of order after retries. */
  lastEventAt: Date;
}

export const BOOKED = 'BOOKED';
export const CANCELLED = 'CANCELLED';

/** The booking's status right after this event. */
export function statusAfter(event: BookingEvent): string {
  switch (event.type) {
    case 'booking.confirmed':
      return BOOKED;
    case 'booking.cancelled':
    case 'booking.expired':
      return CANCELLED;
    case 'booking.created':
      return event.data.status;
  }
}

/**
 * The record after applying `event` to `prev`. An event older than the newest one already applied does not
 * roll the status back (a retried confirmation must not revive a booking cancelled since), but still teaches
 * us that the booking was once BOOKED.
 */
export function applyEvent(prev: BookingRecord | undefined, event: BookingEvent): BookingRecord {
  const occurredAt = new Date(event.occurredAt);
  const d = event.data;
  const wasBooked = event.type === 'booking.confirmed' || d.previousStatus === BOOKED;
  const confirmedAt = prev?.confirmedAt ?? (wasBooked ? occurredAt : null);
  if (prev && occurredAt < prev.lastEventAt) return { ...prev, confirmedAt };
  return {
    bookingId: d.bookingId,
    userEmail: d.userEmail,
    flightNumber: d.flightNumber,
    departureAirportCode: d.departureAirportCode,
    arrivalAirportCode: d.arrivalAirportCode,
    departureTime: new Date(d.departureTime),
    noOfSeats: d.noOfSeats,
    totalCost: d.totalCost,
    status: statusAfter(event),
    confirmedAt,
    lastEventAt: occurredAt,
  };
}

/**
 * Which email an event calls for: a confirmation for `booking.confirmed`; a cancellation notice for
 * `booking.cancelled` of a booking that was BOOKED (the event says so, or we saw it confirmed); nothing else.
 */
export function emailKindFor(event: BookingEvent, prev: BookingRecord | undefined): NotificationKind | null {
  if (event.type === 'booking.confirmed') return 'confirmation';
  if (event.type === 'booking.cancelled') {
    return event.data.previousStatus === BOOKED || prev?.confirmedAt ? 'cancellation' : null;
  }
  return null;
}

/** A BOOKED booking departing within the lead time (and not yet departed) is due its reminder. */
export function isDueReminder(
  b: Pick<BookingRecord, 'status' | 'departureTime'>,
  now: Date,
  leadMs: number,
): boolean {
  const t = b.departureTime.getTime();
  return b.status === BOOKED && t > now.getTime() && t <= now.getTime() + leadMs;
}

/** Delay before delivery attempt `failedAttempt + 1`: doubles from `baseMs`, capped at `maxMs`. */
export function retryDelayMs(failedAttempt: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, failedAttempt - 1));
}

/** Distinct retry delays used when a message may be tried `maxAttempts` times (one per retry queue). */
export function retryDelaySchedule(maxAttempts: number, baseMs: number, maxMs: number): number[] {
  const delays: number[] = [];
  for (let n = 1; n < maxAttempts; n++) delays.push(retryDelayMs(n, baseMs, maxMs));
  return [...new Set(delays)];
}
