import type { Sequelize } from 'sequelize';
import {
  currentTraceparent,
  isRetryableTxError,
  retryTransaction,
  sqlTime,
  withConnection,
  type BookingEvent,
} from '@skyway/common';

/** A statement (or statements) with its values, to be sent inside another store's transaction. */
export interface SqlPart {
  sql: string;
  values: unknown[];
}

/**
 * Appends an event to the outbox, in the caller's transaction (the only place an outbox row is written), so the
 * state change and its event commit or roll back together. With `onlyIf` (an SQL condition, e.g. on a session
 * variable the same round trip set) the row is written only when it holds. The row keeps the trace context of the
 * request writing it (its `traceparent`), for the relay to send on.
 */
export function appendEvent(event: BookingEvent, onlyIf?: string): SqlPart {
  const values = [
    event.eventId,
    event.data.bookingId,
    event.type,
    JSON.stringify(event),
    currentTraceparent(),
    sqlTime(new Date(event.occurredAt)),
  ];
  const sql = onlyIf
    ? `INSERT INTO outbox_events (event_id, booking_id, type, payload, traceparent, created_at, published_at)
         SELECT ?, ?, ?, ?, ?, ?, NULL FROM DUAL WHERE ${onlyIf}`
    : `INSERT INTO outbox_events (event_id, booking_id, type, payload, traceparent, created_at, published_at)
         VALUES (?, ?, ?, ?, ?, ?, NULL)`;
  return { sql, values };
}

/** An outbox row waiting to be published. */
export interface PendingEvent {
  id: number;
  eventId: string;
  type: string;
  payload: string;
  /** W3C trace context of the request that wrote the event (null: written outside any trace). */
  traceparent: string | null;
}

/** The outbox as the relay and the purge job see it. */
export class OutboxStore {
  constructor(private readonly sequelize: Sequelize) {}

  /**
   * One relay batch under the relay lease (a single relay across replicas): takes or renews the lease for
   * `holder` (or returns undefined when another replica holds an unexpired one), reads the oldest unpublished
   * rows, lets `publish` send them and marks the ids it returns published. Two round trips: lease + read, then
   * mark. The lease is a row written in its own autocommit statement, so on a Galera cluster it is certified like
   * any write: of two replicas on two nodes one takes it (the other's write is aborted, or finds it taken).
   */
  async relayBatch(
    lease: { holder: string; ms: number },
    limit: number,
    publish: (rows: PendingEvent[]) => Promise<number[]>,
  ): Promise<{ read: number; confirmed: number } | undefined> {
    let mine: Array<{ mine: number }>;
    let rows: PendingEvent[];
    try {
      [, mine, rows] = (await withConnection(this.sequelize, (run) =>
        run(
          `UPDATE outbox_relay_lease SET holder = ?, expires_at = NOW(3) + INTERVAL ? MICROSECOND
            WHERE name = 'relay' AND (holder = ? OR holder IS NULL OR expires_at < NOW(3));
           SELECT holder = ? AS mine FROM outbox_relay_lease WHERE name = 'relay';
           SELECT id, event_id AS eventId, type, payload, traceparent FROM outbox_events
            WHERE published_at IS NULL
              AND (SELECT holder FROM outbox_relay_lease WHERE name = 'relay') = ?
            ORDER BY id LIMIT ?`,
          [lease.holder, lease.ms * 1000, lease.holder, lease.holder, lease.holder, limit],
        ),
      )) as [unknown, Array<{ mine: number }>, PendingEvent[]];
    } catch (err) {
      // Another replica's lease write won the cluster's certification: it relays this time.
      if (isRetryableTxError(err)) return undefined;
      throw err;
    }
    if (mine[0]?.mine !== 1) return undefined;
    let confirmed: number[] = [];
    try {
      if (rows.length > 0) confirmed = await publish(rows.map((r) => ({ ...r, id: Number(r.id) })));
    } finally {
      // A confirmed publish is recorded at once (autocommit), whatever happened to the rest.
      if (confirmed.length > 0) {
        // Run again whole on a deadlock or a Galera certification abort (not recorded: published again, and the
        // consumer's event id makes that harmless; recorded: no second publish).
        await retryTransaction(() =>
          withConnection(this.sequelize, (run) =>
            run('UPDATE outbox_events SET published_at = ? WHERE id IN (?)', [
              sqlTime(new Date()),
              confirmed,
            ]),
          ),
        );
      }
    }
    return { read: rows.length, confirmed: confirmed.length };
  }

  /** Gives the lease up (a replica stopping), so another replica relays at once instead of after it expires. */
  async releaseLease(holder: string): Promise<void> {
    await withConnection(this.sequelize, (run) =>
      run("UPDATE outbox_relay_lease SET holder = NULL WHERE name = 'relay' AND holder = ?", [holder]),
    );
  }

  /** Unpublished events and the age of the oldest one, in seconds (for the outbox gauges). */
  async backlog(): Promise<{ pending: number; oldestAgeSeconds: number }> {
    const [row] = (await withConnection(this.sequelize, (run) =>
      run(
        `SELECT COUNT(*) AS pending,
                COALESCE(TIMESTAMPDIFF(MICROSECOND, MIN(created_at), UTC_TIMESTAMP(3)), 0) / 1e6 AS age
           FROM outbox_events WHERE published_at IS NULL`,
      ),
    )) as Array<{ pending: number | string; age: number | string }>;
    return { pending: Number(row?.pending ?? 0), oldestAgeSeconds: Math.max(0, Number(row?.age ?? 0)) };
  }

  /** Deletes rows published before `before`, in batches of `batch`; returns how many went. */
  async purgePublished(before: Date, batch = 1000): Promise<number> {
    let total = 0;
    for (;;) {
      const result = (await withConnection(this.sequelize, (run) =>
        run(
          'DELETE FROM outbox_events WHERE published_at IS NOT NULL AND published_at < ? ORDER BY id LIMIT ?',
          [sqlTime(before), batch],
        ),
      )) as { affectedRows?: number };
      const n = result.affectedRows ?? 0;
      total += n;
      if (n < batch) return total;
    }
  }
}
