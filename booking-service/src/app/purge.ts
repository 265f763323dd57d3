import type { IdempotencyStore } from '../db/idempotency-store';
import type { OutboxStore } from '../db/outbox-store';

/**
 * Deletes idempotency keys past their retention (≥ 24 h) and outbox rows published longer ago than the
 * outbox retention. Both in small batches so the job never holds many locks at once.
 */
export async function purgeOldRows(
  keys: Pick<IdempotencyStore, 'purgeExpired'>,
  outbox: Pick<OutboxStore, 'purgePublished'>,
  outboxRetentionHours: number,
  now = new Date(),
): Promise<{ keys: number; events: number }> {
  const purgedKeys = await keys.purgeExpired(now);
  const events = await outbox.purgePublished(new Date(now.getTime() - outboxRetentionHours * 3600_000));
  return { keys: purgedKeys, events };
}
