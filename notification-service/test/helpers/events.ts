import { randomUUID } from 'node:crypto';
import type { BookingEvent, BookingEventType } from '@skyway/common';

let nextBookingId = 1000 + Math.floor(Math.random() * 1000) * 1000;

/** A fresh booking id for each test, so tests sharing a database never look at each other's rows. */
export const newBookingId = () => ++nextBookingId;

export const HOUR = 3_600_000;

/** A valid event as booking-service publishes it (contract: Events). */
export function bookingEvent(
  type: BookingEventType,
  bookingId: number,
  data: Partial<BookingEvent['data']> = {},
  occurredAt = new Date(),
): BookingEvent {
  const status =
    { 'booking.created': 'INITIATED', 'booking.confirmed': 'BOOKED' }[type as string] ?? 'CANCELLED';
  return {
    eventId: randomUUID(),
    type,
    occurredAt: occurredAt.toISOString(),
    data: {
      bookingId,
      userId: 42,
      userEmail: `customer${bookingId}@example.com`,
      flightId: 7,
      flightNumber: 'AI-101',
      departureAirportCode: 'DEL',
      arrivalAirportCode: 'BOM',
      departureTime: '2030-01-15T06:30:00.000Z',
      noOfSeats: 2,
      totalCost: 900000,
      status,
      ...data,
    },
  };
}
