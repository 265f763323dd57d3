import type { Logger } from '@skyway/common';
import type { FlightClient } from '../clients/flight-client';
import type { Booking } from '../db/models';

/**
 * Gives a cancelled booking's seats back at flight-service. The DELETE is idempotent there, so a release
 * retried by a second sweeper or after a crash restores the seats once all the same. Only a confirmed
 * release moves the booking from RELEASING to RELEASED; anything else leaves it for the sweeper.
 */
export class SeatReleaser {
  constructor(
    private readonly flights: FlightClient,
    private readonly bookings: typeof Booking,
    private readonly logger: Logger,
  ) {}

  async release(b: { id: number; flightId: number }): Promise<boolean> {
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
    await this.bookings.update(
      { seatsState: 'RELEASED', releaseLeaseUntil: null },
      // Seat bookkeeping is internal: it must not move the booking's public updatedAt.
      { where: { id: b.id, seatsState: 'RELEASING' }, silent: true },
    );
    return true;
  }

  /** Releases several bookings, a few at a time, so a batch does not flood flight-service. */
  async releaseAll(bookings: Array<{ id: number; flightId: number }>, concurrency = 8): Promise<number[]> {
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
