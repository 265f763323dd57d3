import type { ReservationsStore, SeatChangeAnswer, Seating } from '../db/reservations-store';
import {
  decideHold,
  decideRelease,
  decideSeatChange,
  holdGuard,
  releasedReservation,
  repeatRefusal,
  type HeldReservation,
  type HoldRequest,
  type SeatChangeRequest,
  type SeatedReservation,
} from '../domain/holds';
import { Refused } from '../domain/refusals';
import {
  chooseSeats,
  chooseSeatsInWindow,
  chosenSeatIssues,
  fillSeats,
  seatWindow,
  type Layout,
} from '../domain/seats';

/**
 * Attempts of a hold whose assigned seats another hold took between the read and the insert (each attempt reads
 * the map afresh; somebody won each lost attempt, so the flight fills up and the loop ends with a refusal).
 */
const HOLD_ATTEMPTS = 30;
/** Attempts of a seat change whose map changed under it (a catalog patch). */
const CHANGE_ATTEMPTS = 5;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Flights whose last-seen layout is kept to place seat windows (beyond it the memory starts over). */
const LAYOUTS_KEPT = 10_000;

/** Holding, changing and releasing seats for a booking (booking-service's calls), idempotent per bookingId. */
export function holdUseCases(reservations: ReservationsStore, now: () => Date = () => new Date()) {
  /**
   * The layout each flight had when last read: where the next hold's window of rows goes. A stale one only places
   * the window badly (the hold's read returns the current layout, and the hold's guard checks it at the commit).
   */
  const layouts = new Map<number, Layout>();
  const remember = (flightId: number, { totalSeats, seatsPerRow }: Layout) => {
    if (layouts.size >= LAYOUTS_KEPT && !layouts.has(flightId)) layouts.clear();
    layouts.set(flightId, { totalSeats, seatsPerRow });
  };

  /**
   * The flight's seating and the seats assigned to the `null` entries of `chosen`, or `assigned` undefined when
   * too few are free. On a large map the seats taken in a random window of rows are read first, and the whole map
   * only when the window holds no choice as good as the best on the whole map.
   */
  async function readAndAssign(request: HoldRequest, chosen: ReadonlyArray<string | null>, toAssign: number) {
    const { flightId } = request;
    const asking = { bookingId: request.bookingId, seats: chosen.filter((s): s is string => s !== null) };
    // Seats the chooser must not assign: those taken, and those this request chose itself.
    const unavailable = (seating: Seating) => new Set([...seating.taken, ...asking.seats]);
    const known =
      layouts.get(flightId) ??
      (toAssign > 0 ? (await reservations.seating(flightId, 'none'))?.flight : undefined);
    // Assigned seats go next to the ones this booking chose, when the rules allow (chooseSeats).
    const near = asking.seats;
    const window = known && toAssign > 0 ? seatWindow(known, toAssign, undefined, near) : undefined;
    if (window) {
      const seating = await reservations.seating(flightId, window, asking);
      if (!seating) return undefined;
      remember(flightId, seating.flight);
      const assigned = chooseSeatsInWindow(
        seating.flight,
        window,
        unavailable(seating),
        toAssign,
        undefined,
        near,
      );
      if (assigned) return { seating, assigned };
    }
    const seating = await reservations.seating(flightId, toAssign > 0 ? 'all' : 'none', asking);
    if (!seating) return undefined;
    remember(flightId, seating.flight);
    return {
      seating,
      assigned: chooseSeats(seating.flight, unavailable(seating), toAssign, undefined, near),
    };
  }

  /** A hold for a booking that already has a reservation row: the same answer as the first time, or a refusal. */
  async function repeat(request: HoldRequest, existing: SeatedReservation): Promise<HeldReservation> {
    const early = repeatRefusal(existing, request);
    if (early) throw new Refused(early);
    const flight = await reservations.readFlight(request.flightId);
    const decision = decideHold(flight, existing, request, now());
    if (decision.kind === 'refused') throw new Refused(decision.refusal);
    if (decision.kind === 'stale-layout') throw new Error('a repeat is not decided on a layout');
    return decision.reservation;
  }

  /** Before a refusal decided on the unlocked read: a booking that already holds seats is a repeat instead. */
  async function repeatOr(request: HoldRequest, refused: Refused): Promise<HeldReservation> {
    const existing = await reservations.reservation(request.bookingId);
    if (existing) return repeat(request, existing);
    throw refused;
  }

  return {
    /** `created` is false for a repeat of a hold this booking already has (answered as it stands now). */
    async holdSeats(request: HoldRequest): Promise<{ created: boolean; reservation: HeldReservation }> {
      const { flightId, seats } = request;
      const chosen = request.seatNumbers ?? Array.from({ length: seats }, () => null);
      const toAssign = chosen.filter((s) => s === null).length;
      for (let attempt = 1; attempt <= HOLD_ATTEMPTS; attempt++) {
        const read = await readAndAssign(request, chosen, toAssign);
        if (!read) {
          const missing = new Refused({ code: 'not-found', noun: 'Flight', id: flightId });
          return { created: false, reservation: await repeatOr(request, missing) };
        }
        const { seating, assigned } = read;
        const errors = chosenSeatIssues(chosen, seating.flight);
        if (errors.length) {
          const invalid = new Refused({ code: 'seat-numbers-invalid', errors });
          return { created: false, reservation: await repeatOr(request, invalid) };
        }
        if (seating.chosenTaken.length) {
          // Taken by another booking when read: refused before anything is written (a repeat is still a repeat).
          const taken = new Refused({
            code: 'seat-taken',
            flightId,
            seats: chosen.filter((s): s is string => s !== null && seating.chosenTaken.includes(s)),
          });
          return { created: false, reservation: await repeatOr(request, taken) };
        }
        if (!assigned) {
          const refusal =
            seating.flight.departureTime.getTime() <= now().getTime()
              ? new Refused({ code: 'flight-departed', flightId })
              : new Refused({
                  code: 'not-enough-seats',
                  flightId,
                  availableSeats: seating.flight.totalSeats - seating.taken.size,
                });
          return { created: false, reservation: await repeatOr(request, refusal) };
        }
        const seatNumbers = fillSeats(chosen, assigned);
        // Decided on the row as read; the hold commits only if the row is still so, with enough seats left.
        const decision = decideHold(seating.flight, undefined, request, now(), {
          seatNumbers,
          layout: seating.flight,
        });
        if (decision.kind === 'refused') {
          return { created: false, reservation: await repeatOr(request, new Refused(decision.refusal)) };
        }
        if (decision.kind !== 'hold') throw new Error(`a new hold cannot be a ${decision.kind}`);
        const attemptResult = await reservations.hold(
          request,
          seatNumbers,
          holdGuard(seating.flight, request.seats),
        );
        switch (attemptResult.kind) {
          case 'held':
            return { created: true, reservation: decision.reservation };
          case 'guard-failed':
            break; // the row changed since it was read (or the seats ran out): read it and decide again
          case 'refused':
            throw new Refused(attemptResult.refusal);
          case 'exists':
            return { created: false, reservation: await repeat(request, attemptResult.existing) };
          case 'seats-conflict':
            if (attemptResult.chosen.length) {
              throw new Refused({ code: 'seat-taken', flightId, seats: attemptResult.chosen });
            }
            break; // an assigned seat (or a chosen one freed since) was taken: choose again
        }
        await sleep(Math.random() * Math.min(2 * attempt, 20));
      }
      throw new Error(
        `no seats could be claimed for booking ${request.bookingId} in ${HOLD_ATTEMPTS} attempts`,
      );
    },

    /** The released reservation with the seats it freed, or undefined when this booking never held seats here. */
    async releaseSeats(flightId: number, bookingId: number): Promise<SeatedReservation | undefined> {
      const { decision, freed } = await reservations.release(flightId, bookingId, (held) =>
        decideRelease(held, flightId),
      );
      return releasedReservation(decision, freed);
    },

    /** The booking's reservation on this flight with its current seats (recovery after an ambiguous change). */
    async reservation(flightId: number, bookingId: number): Promise<HeldReservation> {
      const found = await reservations.reservation(bookingId);
      const flight = found?.flightId === flightId ? await reservations.readFlight(flightId) : undefined;
      if (!found || !flight || found.seats === 0) {
        throw new Refused({ code: 'not-found', noun: 'Reservation', id: bookingId });
      }
      const decision = decideHold(
        flight,
        { ...found, status: 'HELD' },
        { flightId, bookingId, seats: found.seats },
        now(),
      );
      if (decision.kind !== 'repeat') throw new Error(`a read cannot be a ${decision.kind}`);
      return { ...decision.reservation, status: found.status };
    },

    /** A seat change, all or nothing; `replay` is true when this changeId was answered before. */
    async changeSeats(request: SeatChangeRequest): Promise<SeatChangeAnswer> {
      for (let attempt = 1; attempt <= CHANGE_ATTEMPTS; attempt++) {
        const seating = await reservations.seating(request.flightId, 'none');
        if (!seating) throw new Refused({ code: 'not-found', noun: 'Flight', id: request.flightId });
        const errors = chosenSeatIssues(request.seatNumbers, seating.flight);
        if (errors.length) throw new Refused({ code: 'seat-numbers-invalid', errors });
        const result = await reservations.changeSeats(
          request,
          seating.flight,
          (held) => decideSeatChange(held, request),
          now(),
        );
        if (result.kind === 'answered') return result.answer;
        if (result.kind === 'refused') throw new Refused(result.refusal);
      }
      throw new Error(`the seat map of flight ${request.flightId} kept changing under a seat change`);
    },
  };
}

export type HoldUseCases = ReturnType<typeof holdUseCases>;
