import { Op, QueryTypes, UniqueConstraintError, type Sequelize } from 'sequelize';
import { sqlTime } from '@skyway/common';
import type { IdempotencyKey } from './models';

/** The claim a request owns: its row and the fencing token that proves it is still the owner. */
export interface ClaimFence {
  id: number;
  token: string;
}

/** A stored answer, replayed as it was first sent: status, Content-Type, Location (201s) and body. */
export interface StoredAnswer {
  status: number;
  type: string;
  location: string | null;
  body: string;
}

export type Claim =
  | ({ kind: 'claimed' } & ClaimFence)
  | ({ kind: 'replay' } & StoredAnswer)
  | { kind: 'mismatch' }
  | { kind: 'in-flight' };

export interface IdempotencyStoreOptions {
  /** How long a finished key is kept (and replayed). */
  ttlMs: number;
  /**
   * How long a claim stays locked while its request runs. A claim older than this belongs to a process
   * that died mid-request, and the next request with the key takes it over instead of getting 409 for a day.
   */
  lockMs: number;
}

/** Idempotency keys in MariaDB: the unique (user, scope, key) row is the lock and holds the stored response. */
export class IdempotencyStore {
  private readonly sequelize: Sequelize;

  constructor(
    private readonly keys: typeof IdempotencyKey,
    private readonly opts: IdempotencyStoreOptions,
  ) {
    this.sequelize = keys.sequelize as Sequelize;
  }

  /**
   * Writes a new IN_FLIGHT claim and returns its id; a duplicate (user, scope, key) throws UniqueConstraintError.
   * One plain INSERT: every payment claims a key, and the ORM's create cost more than the rest of the claim.
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
    const where = { userId, scope, idemKey: key };
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const id = await this.insertClaim({
          ...where,
          fingerprint,
          token,
          lockedUntil: new Date(now.getTime() + this.opts.lockMs),
          expiresAt: new Date(now.getTime() + this.opts.ttlMs),
          now,
        });
        return { kind: 'claimed', id, token };
      } catch (err) {
        if (!(err instanceof UniqueConstraintError)) throw err;
      }
      const existing = await this.keys.findOne({ where });
      if (!existing) continue; // released (after a 5xx) between our insert and this read
      if (existing.expiresAt.getTime() <= now.getTime()) {
        await this.keys.destroy({ where: { id: existing.id, expiresAt: { [Op.lte]: now } } });
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
      const [taken] = await this.keys.update(
        { lockedUntil: new Date(now.getTime() + this.opts.lockMs), token },
        { where: { id: existing.id, state: 'IN_FLIGHT', lockedUntil: existing.lockedUntil } },
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
    const [, affected] = await this.sequelize.query(
      `UPDATE idempotency_keys SET state = 'DONE', response_status = ?, response_type = ?, response_location = ?,
              response_body = ?, updated_at = ? WHERE id = ? AND token = ?`,
      {
        replacements: [
          answer.status,
          answer.type,
          answer.location,
          answer.body,
          sqlTime(new Date()),
          fence.id,
          fence.token,
        ],
        type: QueryTypes.UPDATE,
      },
    );
    return Number(affected) > 0;
  }

  /**
   * Undoes a claim whose outcome is unknown: the insert (or take-over) may have committed just before the
   * connection broke, leaving a claim nobody will finish. It is recognised by the request's token.
   */
  async abandon(userId: number, scope: string, key: string, token: string): Promise<void> {
    await this.keys.destroy({ where: { userId, scope, idemKey: key, token, state: 'IN_FLIGHT' } });
  }

  /**
   * Forgets the claim (after a 5xx), so the client may retry with the same key; refused (false) when the claim
   * is no longer this request's.
   */
  async release(fence: ClaimFence): Promise<boolean> {
    // Never a DONE claim: a booking stores its answer in its own transaction, which may have committed although
    // this request failed afterwards; the retry then replays that booking.
    const n = await this.keys.destroy({ where: { id: fence.id, token: fence.token, state: 'IN_FLIGHT' } });
    return n > 0;
  }

  /** Deletes expired keys in small batches; returns how many went. */
  async purgeExpired(now = new Date(), batch = 1000): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await this.keys.destroy({ where: { expiresAt: { [Op.lte]: now } }, limit: batch });
      total += n;
      if (n < batch) return total;
    }
  }
}
