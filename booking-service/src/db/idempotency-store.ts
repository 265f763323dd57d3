import { QueryTypes, UniqueConstraintError, type Sequelize } from 'sequelize';
import { retryTransaction, sqlTime } from '@skyway/common';
import type { Claim, ClaimFence, FencedAnswer, StoredAnswer } from '../domain/idempotency';

export type { Claim, ClaimFence, StoredAnswer } from '../domain/idempotency';

export interface IdempotencyStoreOptions {
  /** How long a finished key is kept (and replayed). */
  ttlMs: number;
  /**
   * How long a claim stays locked while its request runs. A claim older than this belongs to a process
   * that died mid-request, and the next request with the key takes it over instead of getting 409 for a day.
   */
  lockMs: number;
}

interface KeyRow {
  id: number;
  fingerprint: string;
  state: 'IN_FLIGHT' | 'DONE';
  responseStatus: number | null;
  responseType: string | null;
  responseLocation: string | null;
  responseBody: string | null;
  lockedUntil: Date;
  expiresAt: Date;
}

const KEY_COLUMNS = `id, fingerprint, state, response_status AS responseStatus, response_type AS responseType,
  response_location AS responseLocation, response_body AS responseBody, locked_until AS lockedUntil,
  expires_at AS expiresAt`;

/** The one row mapper of idempotency_keys (mysql2 may hand BIGINT back as a string). */
const toKeyRow = (r: KeyRow): KeyRow => ({
  ...r,
  id: Number(r.id),
  responseStatus: r.responseStatus === null ? null : Number(r.responseStatus),
});

/**
 * The fenced answer of a booking, as two pieces of the booking's own round trip (see BookingsStore.markHeld):
 * `check` sets @owner (1 while the request still owns its claim, row locked), `store` writes the answer when
 * @held (the booking's write) is set. Without a fence @owner is simply 1.
 */
export function fencedAnswerSql(answer: FencedAnswer | undefined, now: Date) {
  if (!answer) return { check: 'SET @owner = 1;', checkValues: [], store: '', storeValues: [] };
  return {
    check: `SELECT COUNT(*) INTO @owner FROM idempotency_keys
             WHERE id = ? AND token = ? AND state = 'IN_FLIGHT' FOR UPDATE;`,
    checkValues: [answer.fence.id, answer.fence.token],
    store: `UPDATE idempotency_keys SET state = 'DONE', response_status = ?, response_type = ?,
                   response_location = ?, response_body = ?, updated_at = ? WHERE id = ? AND @held > 0;`,
    storeValues: [
      answer.answer.status,
      answer.answer.type,
      answer.answer.location,
      answer.answer.body,
      sqlTime(now),
      answer.fence.id,
    ],
  };
}

/** Idempotency keys in MariaDB: the unique (user, scope, key) row is the lock and holds the stored response. */
export class IdempotencyStore {
  constructor(
    private readonly sequelize: Sequelize,
    private readonly opts: IdempotencyStoreOptions,
  ) {}

  /**
   * One statement in its own transaction; run again whole on a deadlock or a Galera certification abort (1213),
   * which an UPDATE racing a replica on another node for the same key row can meet. Every such statement is
   * guarded (by the claim's token, state or expiry), so a second run does what the first would have.
   */
  private async write(sql: string, replacements: unknown[]): Promise<number> {
    const [, meta] = await retryTransaction(() =>
      this.sequelize.query(sql, { replacements, type: QueryTypes.RAW }),
    );
    return (meta as { affectedRows?: number }).affectedRows ?? 0;
  }

  /**
   * Writes a new IN_FLIGHT claim and returns its id; a duplicate (user, scope, key) throws UniqueConstraintError.
   * One plain INSERT: every payment claims a key.
   */
  async insertClaim(row: {
    userId: number;
    scope: string;
    idemKey: string;
    fingerprint: string;
    token: string;
    lockedUntil: Date;
    expiresAt: Date;
    now: Date;
  }): Promise<number> {
    const [id] = await this.sequelize.query(
      `INSERT INTO idempotency_keys (user_id, scope, idem_key, fingerprint, token, state, locked_until, expires_at,
                                     created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, 'IN_FLIGHT', ?, ?, ?, ?)`,
      {
        replacements: [
          row.userId,
          row.scope,
          row.idemKey,
          row.fingerprint,
          row.token,
          sqlTime(row.lockedUntil),
          sqlTime(row.expiresAt),
          sqlTime(row.now),
          sqlTime(row.now),
        ],
        type: QueryTypes.INSERT,
      },
    );
    return Number(id);
  }

  private async find(userId: number, scope: string, key: string): Promise<KeyRow | undefined> {
    const rows = await this.sequelize.query<KeyRow>(
      `SELECT ${KEY_COLUMNS} FROM idempotency_keys WHERE user_id = ? AND scope = ? AND idem_key = ?`,
      { replacements: [userId, scope, key], type: QueryTypes.SELECT },
    );
    return rows[0] && toKeyRow(rows[0]);
  }

  /**
   * Claims the key for a request. `token` is the request's own fencing token (random, made by the caller so it
   * can undo a claim whose outcome it never heard): every later write for the claim names it.
   */
  async claim(
    userId: number,
    scope: string,
    key: string,
    fingerprint: string,
    token: string,
    now = new Date(),
  ): Promise<Claim> {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        // On Galera two replicas inserting the same key on two nodes both succeed locally, and certification
        // aborts the later commit with 1213: that INSERT (its whole transaction) is run again, and then meets the
        // other's row as a duplicate like on one server (a Galera CI run answered 500 to three of 20 racers).
        const id = await retryTransaction(() =>
          this.insertClaim({
            userId,
            scope,
            idemKey: key,
            fingerprint,
            token,
            lockedUntil: new Date(now.getTime() + this.opts.lockMs),
            expiresAt: new Date(now.getTime() + this.opts.ttlMs),
            now,
          }),
        );
        return { kind: 'claimed', id, token };
      } catch (err) {
        if (!(err instanceof UniqueConstraintError)) throw err;
      }
      const existing = await this.find(userId, scope, key);
      if (!existing) continue; // released (after a 5xx) between our insert and this read
      if (existing.expiresAt.getTime() <= now.getTime()) {
        await this.write('DELETE FROM idempotency_keys WHERE id = ? AND expires_at <= ?', [
          existing.id,
          sqlTime(now),
        ]);
        continue;
      }
      if (existing.fingerprint !== fingerprint) return { kind: 'mismatch' };
      if (existing.state === 'DONE') {
        return {
          kind: 'replay',
          status: existing.responseStatus ?? 500,
          type: existing.responseType ?? 'application/json',
          location: existing.responseLocation,
          body: existing.responseBody ?? '',
        };
      }
      if (existing.lockedUntil.getTime() > now.getTime()) return { kind: 'in-flight' };
      // The owner is presumed dead: take over with a new token, which fences the old owner out if it wakes up.
      const taken = await this.write(
        `UPDATE idempotency_keys SET locked_until = ?, token = ?, updated_at = ?
          WHERE id = ? AND state = 'IN_FLIGHT' AND locked_until = ?`,
        [
          sqlTime(new Date(now.getTime() + this.opts.lockMs)),
          token,
          sqlTime(new Date()),
          existing.id,
          sqlTime(existing.lockedUntil),
        ],
      );
      if (taken === 1) return { kind: 'claimed', id: existing.id, token };
    }
    return { kind: 'in-flight' };
  }

  /**
   * Stores the response to replay for this key. False when the claim is no longer this request's (another
   * request took it over after the lock time): the write is refused, and the stored response stays the owner's.
   */
  async complete(fence: ClaimFence, answer: StoredAnswer): Promise<boolean> {
    const affected = await this.write(
      `UPDATE idempotency_keys SET state = 'DONE', response_status = ?, response_type = ?, response_location = ?,
              response_body = ?, updated_at = ? WHERE id = ? AND token = ?`,
      [answer.status, answer.type, answer.location, answer.body, sqlTime(new Date()), fence.id, fence.token],
    );
    return affected > 0;
  }

  /**
   * Undoes a claim whose outcome is unknown: the insert (or take-over) may have committed just before the
   * connection broke, leaving a claim nobody will finish. It is recognised by the request's token.
   */
  async abandon(userId: number, scope: string, key: string, token: string): Promise<void> {
    await this.write(
      `DELETE FROM idempotency_keys
        WHERE user_id = ? AND scope = ? AND idem_key = ? AND token = ? AND state = 'IN_FLIGHT'`,
      [userId, scope, key, token],
    );
  }

  /**
   * Forgets the claim (after a 5xx), so the client may retry with the same key; refused (false) when the claim
   * is no longer this request's.
   */
  async release(fence: ClaimFence): Promise<boolean> {
    // Never a DONE claim: a booking stores its answer in its own transaction, which may have committed although
    // this request failed afterwards; the retry then replays that booking.
    const n = await this.write(
      "DELETE FROM idempotency_keys WHERE id = ? AND token = ? AND state = 'IN_FLIGHT'",
      [fence.id, fence.token],
    );
    return n > 0;
  }

  /** Deletes expired keys in small batches; returns how many went. */
  async purgeExpired(now = new Date(), batch = 1000): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await this.write('DELETE FROM idempotency_keys WHERE expires_at <= ? LIMIT ?', [
        sqlTime(now),
        batch,
      ]);
      total += n;
      if (n < batch) return total;
    }
  }
}
