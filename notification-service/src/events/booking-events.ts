import { z } from 'zod';
import { bookingEventDataSchema, bookingEventSchema, type BookingEvent } from '@skyway/common';
import type { NotifierDeps } from '../app/deps';
import { DatabaseUnavailableError, handleBookingEvent, type EventHandled } from '../app/handle-booking-event';
import { DependencyDownError, InvalidMessageError, type DeliveryContext } from './consumer';

/** The contract's event, with the limits our tables and the mail transport need (else: DLQ at once). */
export const incomingEventSchema = bookingEventSchema.extend({
  data: bookingEventDataSchema.extend({
    bookingId: z.number().int().positive().max(4_294_967_295),
    userEmail: z.email().max(320),
    flightNumber: z.string().min(1).max(40),
    departureAirportCode: z.string().min(1).max(10),
    arrivalAirportCode: z.string().min(1).max(10),
    noOfSeats: z.number().int().positive().max(10_000),
    totalCost: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
    locator: z.string().min(1).max(16).optional(),
    passengers: z
      .array(z.object({ name: z.string().max(200).nullable(), seat: z.string().max(8).nullable() }))
      .max(1000)
      .optional(),
  }),
});

export function parseBookingEvent(content: Buffer): BookingEvent {
  let json: unknown;
  try {
    json = JSON.parse(content.toString('utf8'));
  } catch {
    throw new InvalidMessageError('the body is not JSON');
  }
  const result = incomingEventSchema.safeParse(json);
  if (!result.success) {
    throw new InvalidMessageError(
      result.error.issues.map((i) => `${i.path.map(String).join('.') || '(body)'}: ${i.message}`).join('; '),
    );
  }
  return result.data;
}

/**
 * The consumer's handler: runs the use case for one delivery and turns its outcome into the consumer's terms
 * (resolve = ack; throw = retry, or the DLQ after the last attempt; DependencyDownError = retry, not counted).
 */
export function bookingEventHandler(deps: NotifierDeps) {
  return async (event: BookingEvent, ctx: DeliveryContext): Promise<void> => {
    let handled: EventHandled;
    try {
      handled = await handleBookingEvent(deps, event, ctx);
    } catch (err) {
      if (err instanceof DatabaseUnavailableError) throw new DependencyDownError(err.message);
      throw err;
    }
    if (handled.outcome === 'retry') throw new Error(`email not sent: ${handled.error}`);
  };
}
