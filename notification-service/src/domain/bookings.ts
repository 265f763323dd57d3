import type { BookingEvent } from '@skyway/common';
import { composeEmail, type NotificationKind, type PassengerFacts } from './emails';
import type { NewNotification } from './notifications';

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
  /** v1.1: null for a booking only known from events written before locators and passengers. */
  locator: string | null;
  passengers: PassengerFacts[] | null;
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
    case 'booking.seats-changed':
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
    locator: d.locator ?? prev?.locator ?? null,
    passengers: d.passengers ?? prev?.passengers ?? null,
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
  // Only a paid booking's customer is told (an unpaid one sees its new seats in the answer to the change).
  if (event.type === 'booking.seats-changed') return event.data.status === BOOKED ? 'seats-changed' : null;
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

/** The booking as it stands after an event, and the email that event calls for (none: `null`). */
export interface EventDecision {
  booking: BookingRecord;
  email: NewNotification | null;
}

/** Pure: what handling `event` changes, given what we knew about its booking before (`prev`). */
export function decideOnEvent(
  prev: BookingRecord | undefined,
  event: BookingEvent,
  currency: string,
): EventDecision {
  const booking = applyEvent(prev, event);
  const kind = emailKindFor(event, prev);
  if (!kind) return { booking, email: null };
  return {
    booking,
    email: {
      eventId: event.eventId,
      bookingId: event.data.bookingId,
      kind,
      recipient: event.data.userEmail,
      email: composeEmail(kind, event.data, currency),
    },
  };
}

/** The reminder a booking is due now, or `null` when it is not due (not BOOKED, departed, or later). */
export function reminderFor(
  booking: BookingRecord,
  now: Date,
  leadMs: number,
  currency: string,
): NewNotification | null {
  if (!isDueReminder(booking, now, leadMs)) return null;
  return {
    eventId: null,
    bookingId: booking.bookingId,
    kind: 'reminder',
    recipient: booking.userEmail,
    email: composeEmail('reminder', booking, currency),
  };
}
