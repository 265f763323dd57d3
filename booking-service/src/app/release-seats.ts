import type { Logger } from '@skyway/common';
import type { FlightClient } from '../clients/flight-client';
import type { BookingsStore, SeatsToRelease } from '../db/bookings-store';

/**
 * Gives a cancelled booking's seats back at flight-service. The DELETE is idempotent there, so a release
 * retried by a second sweeper or after a crash restores the seats once all the same. Only a confirmed
 * release moves the booking from RELEASING to RELEASED; anything else leaves it for the sweeper.
 */
export class SeatReleaser {
  constructor(
    private readonly flights: Pick<FlightClient, 'releaseSeats'>,
    private readonly bookings: Pick<BookingsStore, 'markReleased'>,
    private readonly logger: Logger,
  ) {}

  async release(b: SeatsToRelease): Promise<boolean> {
    let released = false;
    try {
      released = await this.flights.releaseSeats(b.flightId, b.id);
    } catch (err) {
      this.logger.error('seat release failed', { err, bookingId: b.id });
    }
    if (!released) {
      this.logger.warn('seat release not confirmed; the sweeper will retry it', { bookingId: b.id });
      return false;
    }
    await this.bookings.markReleased(b.id);
    return true;
  }

  /** Releases several bookings, a few at a time, so a batch does not flood flight-service. */
  async releaseAll(bookings: SeatsToRelease[], concurrency = 8): Promise<number[]> {
    const done: number[] = [];
    let next = 0;
    const worker = async () => {
      while (next < bookings.length) {
        const b = bookings[next++];
        if (await this.release(b)) done.push(b.id);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, bookings.length) }, worker));
    return done;
  }
}
