import { z } from 'zod';

/** Topic exchange every booking event is published to (durable). */
export const EVENTS_EXCHANGE = 'skyway.events';

/** Names with the optional AMQP_NAME_PREFIX that tests use to stay isolated (default: no prefix). */
export const amqpName = (prefix: string, name: string) => `${prefix}${name}`;

export const BOOKING_EVENT_TYPES = [
  'booking.created',
  'booking.confirmed',
  'booking.cancelled',
  'booking.expired',
  /** A BOOKED booking's passengers moved to other seats (v1.1). */
  'booking.seats-changed',
] as const;
export type BookingEventType = (typeof BOOKING_EVENT_TYPES)[number];

export const bookingEventDataSchema = z.object({
  bookingId: z.number().int().positive(),
  userId: z.number().int().positive(),
  userEmail: z.string(),
  flightId: z.number().int().positive(),
  flightNumber: z.string(),
  departureAirportCode: z.string(),
  arrivalAirportCode: z.string(),
  departureTime: z.iso.datetime(),
  noOfSeats: z.number().int().positive(),
  totalCost: z.number().int().nonnegative(),
  status: z.string(),
  /** Status before this change (an addition to the contract's shape): tells a cancellation of a BOOKED booking apart. */
  previousStatus: z.string().optional(),
  /**
   * v1.1: the record locator and each passenger with their seat, in passenger order. Optional so events written
   * before v1.1 (still in an outbox or a queue) keep parsing; every event booking-service writes now has them.
   * `name` is null for a count-only booking, `seat` null while a pre-v1.1 booking's seat is not known yet.
   */
  locator: z.string().optional(),
  passengers: z.array(z.object({ name: z.string().nullable(), seat: z.string().nullable() })).optional(),
});

/** The message body of every booking event (contract: Events). */
export const bookingEventSchema = z.object({
  eventId: z.uuid(),
  type: z.enum(BOOKING_EVENT_TYPES),
  occurredAt: z.iso.datetime(),
  data: bookingEventDataSchema,
});

export type BookingEventData = z.infer<typeof bookingEventDataSchema>;
export type BookingEvent = z.infer<typeof bookingEventSchema>;
