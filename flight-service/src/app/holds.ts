import type { ReservationsStore } from '../db/reservations-store';
import {
  decideHold,
  decideRelease,
  releasedReservation,
  repeatRefusal,
  type HeldReservation,
  type HoldRequest,
  type Reservation,
} from '../domain/holds';
import { Refused } from '../domain/refusals';

/** Holding and releasing seats for a booking (booking-service's calls), idempotent per bookingId. */
export function holdUseCases(reservations: ReservationsStore, now: () => Date = () => new Date()) {
  return {
    /** `created` is false for a repeat of a hold this booking already has (answered as the first one was). */
    async holdSeats(request: HoldRequest): Promise<{ created: boolean; reservation: HeldReservation }> {
      const attempt = await reservations.hold(request, (flight) =>
        decideHold(flight, undefined, request, now()),
      );
      if (attempt.kind === 'held') return { created: true, reservation: attempt.reservation };
      if (attempt.kind === 'refused') throw new Refused(attempt.refusal);
      // The booking's row exists: refuse from it alone when we can, before reading the flight.
      const early = repeatRefusal(attempt.existing, request);
      if (early) throw new Refused(early);
      const flight = await reservations.readFlight(request.flightId);
      const decision = decideHold(flight, attempt.existing, request, now());
      if (decision.kind === 'refused') throw new Refused(decision.refusal);
      return { created: false, reservation: decision.reservation };
    },

    /** The released reservation, or undefined when this booking never held seats on the flight. */
    async releaseSeats(flightId: number, bookingId: number): Promise<Reservation | undefined> {
      const decision = await reservations.release(flightId, bookingId, (held) =>
        decideRelease(held, flightId),
      );
      return releasedReservation(decision);
    },
  };
}

export type HoldUseCases = ReturnType<typeof holdUseCases>;
