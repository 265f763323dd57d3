import type { Sequelize } from 'sequelize';
import { sqlTime, withConnection, type BookingEvent } from '@skyway/common';

/** A statement (or statements) with its values, to be sent inside another store's transaction. */
export interface SqlPart {
  sql: string;
  values: unknown[];
}

/**
 * Appends an event to the outbox, in the caller's transaction (the only place an outbox row is written), so the
 * state change and its event commit or roll back together. With `onlyIf` (an SQL condition, e.g. on a session
 * variable the same round trip set) the row is written only when it holds.
 */
export function appendEvent(event: BookingEvent, onlyIf?: string): SqlPart {
  const values = [
    event.eventId,
    event.data.bookingId,
    event.type,
    JSON.stringify(event),
    sqlTime(new Date(event.occurredAt)),
  ];
  const sql = onlyIf
    ? `INSERT INTO outbox_events (event_id, booking_id, type, payload, created_at, published_at)
         SELECT ?, ?, ?, ?, ?, NULL FROM DUAL WHERE ${onlyIf}`
    : `INSERT INTO outbox_events (event_id, booking_id, type, payload, created_at, published_at)
         VALUES (?, ?, ?, ?, ?, NULL)`;
  return { sql, values };
}

/** An outbox row waiting to be published. */
export interface PendingEvent {
  id: number;
  eventId: string;
  type: string;
  payload: string;
}

/** The outbox as the relay and the purge job see it. */
export class OutboxStore {
  constructor(private readonly sequelize: Sequelize) {}

  get databaseName(): string {
    return this.sequelize.getDatabaseName();
  }

  /**
   * One relay batch under the named lock `lockName` (a single relay across replicas): takes the lock (or returns
   * undefined when another replica holds it), reads the oldest unpublished rows, lets `publish` send them and
   * marks the ids it returns published. Two round trips: lock + read, then mark + unlock.
   */
  async relayBatch(
    lockName: string,
    limit: number,
    publish: (rows: PendingEvent[]) => Promise<number[]>,
  ): Promise<{ read: number; confirmed: number } | undefined> {
    // One pinned connection throughout: GET_LOCK belongs to a connection.
    return withConnection(this.sequelize, async (run) => {
      let lock: { got: number | null } | undefined;
      let rows: PendingEvent[];
      try {
        [[lock], rows] = (await run(
          `SELECT GET_LOCK(?, 0) AS got;
           SELECT id, event_id AS eventId, type, payload FROM outbox_events
            WHERE published_at IS NULL AND IS_USED_LOCK(?) = CONNECTION_ID() ORDER BY id LIMIT ?`,
          [lockName, lockName, limit],
        )) as [Array<{ got: number | null }>, PendingEvent[]];
      } catch (err) {
        // The read failed after the lock may have been taken: a named lock outlives the statement, and this
        // pooled connection would keep it from every other replica's relay. (No-op if it was not taken.)
        await run('SELECT RELEASE_LOCK(?)', [lockName]).catch(() => undefined);
        throw err;
      }
      if (lock?.got !== 1) return undefined;
      let confirmed: number[] = [];
      try {
        if (rows.length > 0) confirmed = await publish(rows.map((r) => ({ ...r, id: Number(r.id) })));
      } finally {
        // A confirmed publish is recorded at once (autocommit), whatever happened to the rest.
        await run(
          confirmed.length > 0
            ? 'UPDATE outbox_events SET published_at = ? WHERE id IN (?); SELECT RELEASE_LOCK(?)'
            : 'SELECT RELEASE_LOCK(?)',
          confirmed.length > 0 ? [sqlTime(new Date()), confirmed, lockName] : [lockName],
        );
      }
      return { read: rows.length, confirmed: confirmed.length };
    });
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
