import { QueryTypes, type Sequelize } from 'sequelize';
import { inTransaction, sqlTime, type Logger } from '@skyway/common';
import type { Models } from '../db/models';
import { recordEvent } from '../events/outbox';
import type { SeatReleaser } from '../domain/seat-release';

export interface SweeperDeps {
  sequelize: Sequelize;
  models: Models;
  releaser: SeatReleaser;
  logger: Logger;
  batchSize: number;
  paymentTimeoutSeconds: number;
  releaseRetrySeconds: number;
  /**
   * Longer than any booking saga can still be running (every seat-hold attempt timed out, plus slack). A booking
   * still HOLDING after that lost its saga (the process died, or its database refused the compensation): it is
   * given up and whatever it may hold is released.
   */
  staleHoldMs: number;
  onEvents: () => void;
  now?: () => Date;
}

export interface SweepResult {
  /** Bookings this sweeper expired (no other sweeper expired them). */
  expired: number[];
  /** Bookings whose seats this sweeper saw released (expired now, or releases left over from before). */
  released: number[];
}

/**
 * The stale-booking sweeper. Expired INITIATED bookings (and PENDING ones whose payment attempt is older than
 * the payment timeout, i.e. abandoned) become CANCELLED/EXPIRED in short transactions that claim their rows
 * with FOR UPDATE SKIP LOCKED, so replicas running at the same time take disjoint batches. The HTTP release
 * happens after the commit, under a lease, so no row lock is held while flight-service is called. The same
 * lease lets it retry releases that failed earlier (flight-service down during a cancel or a saga).
 *
 * Sequelize 6 drops `skipLocked` on MySQL/MariaDB without a word, hence the raw SQL.
 */
export class Sweeper {
  private readonly now: () => Date;
  /** Seat releases started by tick() and not finished yet. */
  private readonly releasing = new Set<Promise<unknown>>();
  private retrying?: Promise<unknown>;

  constructor(private readonly deps: SweeperDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  async runOnce(): Promise<SweepResult> {
    const result: SweepResult = { expired: [], released: [] };
    for (;;) {
      const batch = await this.giveUpStaleHolds();
      if (batch.length === 0) break;
      result.released.push(...(await this.deps.releaser.releaseAll(batch)));
    }
    for (;;) {
      const batch = await this.expireBatch();
      if (batch.length === 0) break;
      result.expired.push(...batch.map((b) => b.id));
      this.deps.onEvents();
      result.released.push(...(await this.deps.releaser.releaseAll(batch.filter((b) => b.needsRelease))));
    }
    for (;;) {
      // Every RELEASING row carries a lease. Each claim moves it forward, so a release that fails again is not picked twice in one run.
      const batch = await this.claimPendingReleases();
      if (batch.length === 0) break;
      result.released.push(...(await this.deps.releaser.releaseAll(batch)));
    }
    if (result.expired.length || result.released.length) {
      this.deps.logger.info('sweeper run', {
        expired: result.expired.length,
        released: result.released.length,
      });
    }
    return result;
  }

  /**
   * What the cron runs. Expiring is database work only and is done at once; the seat releases (HTTP calls to
   * flight-service) run in the background. A slow or hung flight-service therefore never delays the next
   * tick's expiries (runOnce waits for its releases, and with a hung flight-service a run lasted
   * FLIGHT_CALL_ATTEMPTS × UPSTREAM_TIMEOUT_MS per batch while due bookings waited). Leftover releases are
   * retried only once the previous retry pass is over, so a hung flight-service does not pile them up.
   */
  async tick(): Promise<number[]> {
    const expired: Array<{ id: number; flightId: number; needsRelease: boolean }> = [];
    const givenUp: Array<{ id: number; flightId: number }> = [];
    for (;;) {
      const batch = await this.giveUpStaleHolds();
      if (batch.length === 0) break;
      givenUp.push(...batch);
    }
    if (givenUp.length) {
      this.deps.logger.warn('sweeper gave up bookings whose saga was lost', { bookings: givenUp.length });
      this.inBackground(() => this.deps.releaser.releaseAll(givenUp));
    }
    for (;;) {
      const batch = await this.expireBatch();
      if (batch.length === 0) break;
      expired.push(...batch);
      this.deps.onEvents();
    }
    const toRelease = expired.filter((b) => b.needsRelease);
    if (toRelease.length) this.inBackground(() => this.deps.releaser.releaseAll(toRelease));
    this.retrying ??= this.inBackground(async () => {
      for (;;) {
        const batch = await this.claimPendingReleases();
        if (batch.length === 0) break;
        await this.deps.releaser.releaseAll(batch);
      }
    }).finally(() => {
      this.retrying = undefined;
    });
    if (expired.length) this.deps.logger.info('sweeper run', { expired: expired.length });
    return expired.map((b) => b.id);
  }

  /** Waits for the releases tick() started (before the pool closes). */
  async idle(): Promise<void> {
    while (this.releasing.size) await Promise.allSettled([...this.releasing]);
  }

  private inBackground(run: () => Promise<unknown>): Promise<unknown> {
    const p: Promise<unknown> = run()
      .catch((err: unknown) => this.deps.logger.error('seat releases failed', { err }))
      .finally(() => this.releasing.delete(p));
    this.releasing.add(p);
    return p;
  }

  private leaseUntil(now: Date): Date {
    return new Date(now.getTime() + this.deps.releaseRetrySeconds * 1000);
  }

  /**
   * Bookings still HOLDING long after any saga could be running: CANCELLED/RESERVATION_FAILED (hidden, no event:
   * they were never published) and RELEASING under a lease, whatever a lost hold attempt may have taken.
   */
  private async giveUpStaleHolds(): Promise<Array<{ id: number; flightId: number }>> {
    const { sequelize, batchSize } = this.deps;
    const now = this.now();
    const before = new Date(now.getTime() - this.deps.staleHoldMs);
    return inTransaction(sequelize, async (transaction) => {
      const rows = await sequelize.query<{ id: number; flightId: number }>(
        `SELECT id, flight_id AS flightId FROM bookings
          WHERE seats_state = 'HOLDING' AND status = 'INITIATED' AND created_at <= :before
          ORDER BY id
          LIMIT :limit
          FOR UPDATE SKIP LOCKED`,
        { replacements: { before: sqlTime(before), limit: batchSize }, type: QueryTypes.SELECT, transaction },
      );
      if (rows.length === 0) return [];
      await sequelize.query(
        `UPDATE bookings SET status = 'CANCELLED', cancel_reason = 'RESERVATION_FAILED', seats_state = 'RELEASING',
                release_lease_until = :lease
          WHERE id IN (:ids)`,
        { replacements: { lease: sqlTime(this.leaseUntil(now)), ids: rows.map((r) => r.id) }, transaction },
      );
      return rows.map((r) => ({ id: Number(r.id), flightId: Number(r.flightId) }));
    });
  }

  private async expireBatch(): Promise<Array<{ id: number; flightId: number; needsRelease: boolean }>> {
    const { sequelize, models, batchSize, paymentTimeoutSeconds } = this.deps;
    const now = this.now();
    const abandonedPaymentBefore = new Date(now.getTime() - paymentTimeoutSeconds * 1000);
    return inTransaction(sequelize, async (transaction) => {
      // One query per status, each walking the (status, expires_at) index in order, so LIMIT stops the
      // scan after `limit` rows: with an OR and a filesort InnoDB would lock every match before sorting,
      // and a second sweeper would find everything skipped.
      const claim = (status: 'INITIATED' | 'PENDING', limit: number) =>
        sequelize.query<{ id: number }>(
          `SELECT id FROM bookings
            WHERE status = :status AND expires_at <= :now
              ${status === 'PENDING' ? 'AND updated_at <= :abandoned' : "AND seats_state <> 'HOLDING'"}
            ORDER BY expires_at, id
            LIMIT :limit
            FOR UPDATE SKIP LOCKED`,
          {
            replacements: { status, now: sqlTime(now), abandoned: sqlTime(abandonedPaymentBefore), limit },
            type: QueryTypes.SELECT,
            transaction,
          },
        );
      const rows = await claim('INITIATED', batchSize);
      if (rows.length < batchSize) rows.push(...(await claim('PENDING', batchSize - rows.length)));
      if (rows.length === 0) return [];
      // Already locked by the statement above; this read just loads them as models.
      const bookings = await models.Booking.findAll({
        where: { id: rows.map((r) => r.id) },
        order: [['id', 'ASC']],
        transaction,
        lock: transaction.LOCK.UPDATE,
      });
      const out = [];
      for (const b of bookings) {
        const previous = b.status;
        const needsRelease = b.seatsState !== 'RELEASED';
        b.status = 'CANCELLED';
        b.cancelReason = 'EXPIRED';
        if (needsRelease) {
          b.seatsState = 'RELEASING';
          b.releaseLeaseUntil = this.leaseUntil(now);
        }
        await b.save({ transaction });
        await recordEvent(models.OutboxEvent, 'booking.expired', b, previous, transaction, now);
        out.push({ id: b.id, flightId: b.flightId, needsRelease });
      }
      return out;
    });
  }

  private async claimPendingReleases(): Promise<Array<{ id: number; flightId: number }>> {
    const { sequelize, batchSize } = this.deps;
    const now = this.now();
    return inTransaction(sequelize, async (transaction) => {
      const rows = await sequelize.query<{ id: number; flightId: number }>(
        `SELECT id, flight_id AS flightId FROM bookings
          WHERE seats_state = 'RELEASING' AND release_lease_until <= :now
          ORDER BY release_lease_until, id
          LIMIT :limit
          FOR UPDATE SKIP LOCKED`,
        { replacements: { now: sqlTime(now), limit: batchSize }, type: QueryTypes.SELECT, transaction },
      );
      if (rows.length === 0) return [];
      await sequelize.query('UPDATE bookings SET release_lease_until = :lease WHERE id IN (:ids)', {
        replacements: { lease: sqlTime(this.leaseUntil(now)), ids: rows.map((r) => r.id) },
        transaction,
      });
      return rows;
    });
  }
}
