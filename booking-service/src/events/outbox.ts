import type { Transaction } from 'sequelize';
import type { BookingEventType } from '@skyway/common';
import { buildEvent, type BookingRecord, type BookingStatus } from '../domain/booking';
import type { Booking, OutboxEvent } from '../db/models';

/** The plain record of a booking row (numbers as numbers, dates as Dates). */
export const asRecord = (b: Booking): BookingRecord => b.get({ plain: true }) as BookingRecord;

/**
 * Writes the event for a booking's new state into the outbox, in the caller's transaction, so the state
 * change and its event commit (or roll back) together.
 */
export async function recordEvent(
  outbox: typeof OutboxEvent,
  type: BookingEventType,
  booking: Booking,
  previousStatus: BookingStatus | undefined,
  transaction: Transaction,
  now = new Date(),
): Promise<void> {
  const event = buildEvent(type, asRecord(booking), previousStatus, now);
  await outbox.create(
    {
      eventId: event.eventId,
      bookingId: event.data.bookingId,
      type,
      payload: JSON.stringify(event),
      publishedAt: null,
    },
    { transaction },
  );
}
