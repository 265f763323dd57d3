import type { Logger } from '@skyway/common';
import type { Expiry } from '../app/expire';
import type { SeatReleaser } from '../app/release-seats';
import type { SeatChanges } from '../app/seat-changes';

export interface SweeperDeps {
  expiry: Expiry;
  releaser: SeatReleaser;
  /** Seat changes whose request died are finished, and pre-seat bookings learn their seats, in the background. */
  seatChanges?: Pick<SeatChanges, 'finishStale' | 'learnSeats'>;
  logger: Logger;
  /** Called after expiries committed their events (wakes the relay). */
  onEvents: () => void;
}

export interface SweepResult {
  /** Bookings this sweeper expired (no other sweeper expired them). */
  expired: number[];
  /** Bookings whose seats this sweeper saw released (expired now, or releases left over from before). */
  released: number[];
}

/**
 * The stale-booking sweeper: one loop (`sweep`) over the expiry use cases. Expiring is database work only and is
 * done at once; the seat releases (HTTP calls to flight-service) run in the background, so a slow or hung
 * flight-service never delays the next tick's expiries (with a hung flight-service a run that waited for its
 * releases lasted FLIGHT_CALL_ATTEMPTS × UPSTREAM_TIMEOUT_MS per batch while due bookings waited). Leftover
 * releases are retried only once the previous retry pass is over, so a hung flight-service does not pile them up.
 */
export class Sweeper {
  /** Seat releases started by a sweep and not finished yet. */
  private readonly releasing = new Set<Promise<unknown>>();
  private retrying?: Promise<unknown>;
  private seatWork?: Promise<unknown>;

  constructor(private readonly deps: SweeperDeps) {}

  /** What the cron runs: expires what is due and leaves the releases to the background. */
  async tick(): Promise<number[]> {
    return (await this.sweep()).expired;
  }

  /** The same sweep as tick(), then waits for its releases: what an operator (or a test) runs by hand. */
  async runOnce(): Promise<SweepResult> {
    const result = await this.sweep();
    await this.idle();
    return result;
  }

  /** Waits for the releases sweeps started (before the pool closes). */
  async idle(): Promise<void> {
    while (this.releasing.size) await Promise.allSettled([...this.releasing]);
  }

  /** The one loop. `released` fills in as the background releases finish (complete once idle() resolved). */
  private async sweep(): Promise<SweepResult> {
    const { expiry, releaser, logger } = this.deps;
    const result: SweepResult = { expired: [], released: [] };
    const release = (batch: Array<{ id: number; flightId: number }>) => async () => {
      result.released.push(...(await releaser.releaseAll(batch)));
    };

    const givenUp: Array<{ id: number; flightId: number }> = [];
    for (;;) {
      const batch = await expiry.giveUpStaleHolds();
      if (batch.length === 0) break;
      givenUp.push(...batch);
    }
    if (givenUp.length) {
      logger.warn('sweeper gave up bookings whose saga was lost', { bookings: givenUp.length });
      this.inBackground(release(givenUp));
    }

    const toRelease: Array<{ id: number; flightId: number }> = [];
    for (;;) {
      const batch = await expiry.expireDue();
      if (batch.length === 0) break;
      result.expired.push(...batch.map((b) => b.id));
      toRelease.push(...batch.filter((b) => b.needsRelease));
      this.deps.onEvents();
    }
    if (toRelease.length) this.inBackground(release(toRelease));

    this.retrying ??= this.inBackground(async () => {
      for (;;) {
        // Every RELEASING row carries a lease; each claim moves it on, so a release that fails again is not
        // picked twice in one pass.
        const batch = await expiry.claimPendingReleases();
        if (batch.length === 0) break;
        await release(batch)();
      }
    }).finally(() => {
      this.retrying = undefined;
    });
    const seatChanges = this.deps.seatChanges;
    if (seatChanges) {
      // Calls flight-service: in the background like the releases, one pass at a time.
      this.seatWork ??= this.inBackground(async () => {
        try {
          const finished = await seatChanges.finishStale();
          const learned = await seatChanges.learnSeats();
          if (finished || learned) logger.info('sweeper seat work', { finished, learned });
        } catch (err) {
          logger.error('sweeper seat work failed (seat changes to finish, seats to learn)', { err });
        }
      }).finally(() => {
        this.seatWork = undefined;
      });
    }
    if (result.expired.length) logger.info('sweeper run', { expired: result.expired.length });
    return result;
  }

  private inBackground(run: () => Promise<unknown>): Promise<unknown> {
    const p: Promise<unknown> = run()
      .catch((err: unknown) => this.deps.logger.error('seat releases failed', { err }))
      .finally(() => this.releasing.delete(p));
    this.releasing.add(p);
    return p;
  }
}
