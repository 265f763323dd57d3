import { QueryTypes, type Sequelize } from 'sequelize';
import type { IdempotencyStore } from '../db/idempotency-store';

/**
 * Deletes idempotency keys past their retention (≥ 24 h) and outbox rows published longer ago than the
 * outbox retention. Both in small batches so the job never holds many locks at once.
 */
export async function purgeOldRows(
  sequelize: Sequelize,
  store: IdempotencyStore,
  outboxRetentionHours: number,
  now = new Date(),
): Promise<{ keys: number; events: number }> {
  const keys = await store.purgeExpired(now);
  const publishedBefore = new Date(now.getTime() - outboxRetentionHours * 3600_000);
  let events = 0;
  for (;;) {
    const [, meta] = await sequelize.query(
      'DELETE FROM outbox_events WHERE published_at IS NOT NULL AND published_at < :before ORDER BY id LIMIT 1000',
      { replacements: { before: publishedBefore }, type: QueryTypes.RAW },
    );
    const n = (meta as { affectedRows?: number }).affectedRows ?? 0;
    events += n;
    if (n < 1000) break;
  }
  return { keys, events };
}
