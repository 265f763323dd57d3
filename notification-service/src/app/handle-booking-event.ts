import type { BookingEvent } from '@skyway/common';
import { isDatabaseDown } from '../db/errors';
import { decideOnEvent } from '../domain/bookings';
import { decideOnExisting, failurePlanForDelivery, isLastAttempt } from '../domain/notifications';
import { deliver } from './deliver';
import type { NotifierDeps } from './deps';

/** Which delivery of the event this is (the consumer counts them). */
export interface DeliveryAttempt {
  attempt: number;
  maxAttempts: number;
  redelivered: boolean;
}

export type EventHandled =
  /** Nothing (more) to do: no email, already sent, just sent, or a last failed attempt left to the retry job. */
  | { outcome: 'done' }
  /** The email could not be sent and this was not the event's last attempt: deliver the event again later. */
  | { outcome: 'retry'; error: string };

/** Our database could not be reached: not the event's fault. */
export class DatabaseUnavailableError extends Error {
  override name = 'DatabaseUnavailableError';
}

/**
 * Handles one booking event: records the booking and the notification it calls for (deduplicated by eventId
 * in the same transaction), then sends it if this delivery won the claim. A send that fails before the last
 * attempt asks for a retry; on the last attempt the row becomes FAILED and the event is done: from then on the
 * FAILED-retry job owns the email.
 */
export async function handleBookingEvent(
  deps: NotifierDeps,
  event: BookingEvent,
  delivery: DeliveryAttempt,
): Promise<EventHandled> {
  const { config, logger } = deps;
  try {
    const now = new Date();
    const recorded = await deps.store.recordEvent(
      {
        bookingId: event.data.bookingId,
        decide: (prev) => decideOnEvent(prev, event, config.CURRENCY),
        onExisting: (existing) => decideOnExisting(existing, now),
      },
      config.SEND_LEASE_MS,
      now,
    );
    if (recorded.outcome !== 'send') {
      logger.debug('no email to send for this delivery', {
        eventId: event.eventId,
        type: event.type,
        outcome: recorded.outcome,
        redelivered: delivery.redelivered,
      });
      return { outcome: 'done' };
    }
    const result = await deliver(deps, recorded.notification, (n) =>
      failurePlanForDelivery(delivery, n, config, new Date(), deps.retryDelayMs),
    );
    if (!result.sent && !isLastAttempt(delivery)) return { outcome: 'retry', error: result.error };
    return { outcome: 'done' };
  } catch (err) {
    if (isDatabaseDown(err))
      throw new DatabaseUnavailableError(`database unavailable: ${(err as Error).message}`);
    throw err;
  }
}
