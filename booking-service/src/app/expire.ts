import type { BookingsStore, SeatsToRelease } from '../db/bookings-store';
import { expire, giveUpHold, needsRelease, releaseLeaseUntil } from '../domain/transitions';
import { NO_METRICS, type BookingMetrics } from '../metrics';

export interface ExpiryDeps {
  store: BookingsStore;
  batchSize: number;
  paymentTimeoutSeconds: number;
  releaseRetrySeconds: number;
  /**
   * Longer than any booking saga can still be running (every seat-hold attempt timed out, plus slack). A booking
   * still HOLDING after that lost its saga (the process died, or its database refused the compensation): it is
   * given up and whatever it may hold is released.
   */
  staleHoldMs: number;
  /** Counts expired bookings (bookings_total); nothing is counted when absent. */
  metrics?: BookingMetrics;
  now?: () => Date;
}

/**
 * The sweeper's use cases, one batch each, in short transactions that claim their rows with FOR UPDATE SKIP
 * LOCKED, so replicas running at the same time take disjoint batches. The seats are released afterwards (no row
 * lock held while flight-service is called), under a lease that also lets failed releases be retried.
 */
export class Expiry {
  private readonly now: () => Date;

  constructor(private readonly deps: ExpiryDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  /**
   * Bookings still HOLDING long after any saga could be running: CANCELLED/RESERVATION_FAILED (hidden, no event:
   * they were never published) and RELEASING under a lease, whatever a lost hold attempt may have taken.
   */
  async giveUpStaleHolds(): Promise<SeatsToRelease[]> {
    const { store, batchSize, releaseRetrySeconds, staleHoldMs } = this.deps;
    const now = this.now();
    const changes = await store.claimStaleHolds(new Date(now.getTime() - staleHoldMs), batchSize, (b) => {
      const change = giveUpHold(b, true, now, releaseRetrySeconds);
      // Claimed as INITIATED and HOLDING under its row lock, so giveUpHold always decides a change.
      if (!change) throw new Error(`booking ${b.id} was claimed as a stale hold but is not holding`);
      return change;
    });
    return changes.map(({ booking }) => ({ id: booking.id, flightId: booking.flightId }));
  }

  /**
   * Expired INITIATED bookings, and PENDING ones whose payment attempt is older than the payment timeout (i.e.
   * abandoned), become CANCELLED/EXPIRED with a booking.expired event.
   */
  async expireDue(): Promise<Array<SeatsToRelease & { needsRelease: boolean }>> {
    const { store, batchSize, paymentTimeoutSeconds, releaseRetrySeconds } = this.deps;
    const now = this.now();
    const abandonedBefore = new Date(now.getTime() - paymentTimeoutSeconds * 1000);
    const changes = await store.claimExpired(now, abandonedBefore, batchSize, (b) =>
      expire(b, now, releaseRetrySeconds),
    );
    if (changes.length) (this.deps.metrics ?? NO_METRICS).booking('expired', changes.length);
    return changes.map(({ booking }) => ({
      id: booking.id,
      flightId: booking.flightId,
      needsRelease: needsRelease(booking),
    }));
  }

  /** Releases whose lease ran out (flight-service was down during a cancel, a saga or a sweep): claimed again. */
  claimPendingReleases(): Promise<SeatsToRelease[]> {
    const now = this.now();
    return this.deps.store.claimPendingReleases(
      now,
      releaseLeaseUntil(now, this.deps.releaseRetrySeconds),
      this.deps.batchSize,
    );
  }
}
