import { z } from 'zod';
import { bookingEventDataSchema, bookingEventSchema, type BookingEvent } from '@skyway/common';
import { recordEvent } from '../db/repository';
import { composeEmail } from '../domain/emails';
import { deliver } from '../mail/deliver';
import { DependencyDownError, InvalidMessageError, type DeliveryContext } from './consumer';
import { failurePlanForJob, isDatabaseDown, type NotifierDeps } from '../notifier';

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
 * Handles one booking event: records the booking and the notification it calls for (deduplicated by eventId
 * in the same transaction), then sends it if this delivery won the claim. A send that fails before the last
 * attempt throws, so the message comes back later; on the last attempt the row becomes FAILED and the
 * message is acked: from then on the FAILED-retry job owns the email.
 */
export function bookingEventHandler(deps: NotifierDeps) {
  const { config, logger } = deps;
  return async (event: BookingEvent, ctx: DeliveryContext): Promise<void> => {
    try {
      const recorded = await recordEvent(
        deps.sequelize,
        event,
        (kind, data) => composeEmail(kind, data, config.CURRENCY),
        config.SEND_LEASE_MS,
      );
      if (recorded.outcome !== 'send') {
        logger.debug('no email to send for this delivery', {
          eventId: event.eventId,
          type: event.type,
          outcome: recorded.outcome,
          redelivered: ctx.redelivered,
        });
        return;
      }
      const last = ctx.attempt >= ctx.maxAttempts;
      const result = await deliver(deps, recorded.notification, (n) => {
        if (last) return failurePlanForJob(config, n);
        // The message retry comes back after its delay; the retry job only steps in if it never does.
        const retryAt = Date.now() + deps.retryDelayMs(ctx.attempt) + config.SEND_LEASE_MS;
        return { status: 'PENDING', nextAttemptAt: new Date(retryAt) };
      });
      if (!result.sent && !last) throw new Error(`email not sent: ${result.error}`);
    } catch (err) {
      if (isDatabaseDown(err))
        throw new DependencyDownError(`database unavailable: ${(err as Error).message}`);
      throw err;
    }
  };
}
