import { Op, QueryTypes, UniqueConstraintError, type Sequelize } from 'sequelize';
import { sqlTime } from '@skyway/common';
import type { IdempotencyKey } from './models';

export type Claim =
  | { kind: 'claimed'; id: number }
  | { kind: 'replay'; status: number; type: string; body: string }
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
    lockedUntil: Date;
    expiresAt: Date;
    now: Date;
  }): Promise<number> {
    const [id] = await this.sequelize.query(
      `INSERT INTO idempotency_keys (user_id, scope, idem_key, fingerprint, state, locked_until, expires_at,
                                     created_at, updated_at)
       VALUES (?, ?, ?, ?, 'IN_FLIGHT', ?, ?, ?, ?)`,
      {
        replacements: [
          row.userId,
          row.scope,
          row.idemKey,
          row.fingerprint,
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

  async claim(
    userId: number,
    scope: string,
    key: string,
    fingerprint: string,
    now = new Date(),
  ): Promise<Claim> {
    const where = { userId, scope, idemKey: key };
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const id = await this.insertClaim({
          ...where,
          fingerprint,
          lockedUntil: new Date(now.getTime() + this.opts.lockMs),
          expiresAt: new Date(now.getTime() + this.opts.ttlMs),
          now,
        });
        return { kind: 'claimed', id };
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
          body: existing.responseBody ?? '',
        };
      }
      if (existing.lockedUntil.getTime() > now.getTime()) return { kind: 'in-flight' };
      const [taken] = await this.keys.update(
        { lockedUntil: new Date(now.getTime() + this.opts.lockMs) },
        { where: { id: existing.id, state: 'IN_FLIGHT', lockedUntil: existing.lockedUntil } },
      );
      if (taken === 1) return { kind: 'claimed', id: existing.id };
    }
    return { kind: 'in-flight' };
  }

  /** Stores the response to replay for this key. */
  async complete(id: number, status: number, type: string, body: string): Promise<void> {
    await this.sequelize.query(
      `UPDATE idempotency_keys SET state = 'DONE', response_status = ?, response_type = ?, response_body = ?,
              updated_at = ? WHERE id = ?`,
      { replacements: [status, type, body, sqlTime(new Date()), id], type: QueryTypes.UPDATE },
    );
  }

  /**
   * Undoes a claim whose outcome is unknown: the insert (or take-over) made at `now` may have committed just
   * before the connection broke, leaving a claim nobody will finish. It is recognised by its exact lock time.
   */
  async abandon(userId: number, scope: string, key: string, fingerprint: string, now: Date): Promise<void> {
    await this.keys.destroy({
      where: {
        userId,
        scope,
        idemKey: key,
        fingerprint,
        state: 'IN_FLIGHT',
        lockedUntil: new Date(now.getTime() + this.opts.lockMs),
      },
    });
  }

  /** Forgets the claim (after a 5xx), so the client may retry with the same key. */
  async release(id: number): Promise<void> {
    await this.keys.destroy({ where: { id } });
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
