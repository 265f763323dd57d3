import type { Identity, Logger } from '@skyway/common';
import type { CachedLookup, FlightCache } from '../clients/flight-cache';
import { FlightServiceDown, type FlightClient, type FlightSummary } from '../clients/flight-client';
import type { BookingsStore } from '../db/bookings-store';
import {
  hopelessHold,
  buildEvent,
  canSee,
  expiresAtFrom,
  isVisible,
  toBookingView,
  totalCostOf,
  unpaidSeatsAllowance,
  unpaidSeatsRefusal,
  type BookingRecord,
  type BookingView,
  type UnpaidSeatCaps,
} from '../domain/booking';
import type { ClaimFence, StoredAnswer } from '../domain/idempotency';
import { newLocator, withSeats, type Passenger } from '../domain/seats';
import { cancelByUser, giveUpHold, needsRelease } from '../domain/transitions';
import { NO_METRICS, seatConflictOf, type BookingMetrics } from '../metrics';
import { retryInBackground } from './background-retry';
import { Refused } from './refusals';
import type { SeatReleaser } from './release-seats';

export type { BookingView } from '../domain/booking';

export const SEAT_TAKEN = 'urn:skyway:problem:seat-taken';

/**
 * flight-service's 400 names seats by their place in its `seatNumbers` (`seatNumbers.2`); the client named them
 * elsewhere (`passengers.2.seat`, `seats.2`): `pattern` with `%` for the index. Undefined when the errors are
 * not all about seat numbers (then the refusal is unexpected).
 */
export function seatErrorsAs(
  errors: Array<{ path: string; message: string }> | undefined,
  pattern: string,
): Array<{ path: string; message: string }> | undefined {
  if (!errors?.length) return undefined;
  const mapped = errors.map((e) => {
    const m = /^seatNumbers\.(\d+)$/.exec(e.path);
    return m ? { path: pattern.replace('%', m[1]), message: e.message } : undefined;
  });
  return mapped.every((e) => e !== undefined) ? mapped : undefined;
}

export interface BookingServiceDeps {
  store: BookingsStore;
  flights: FlightClient;
  flightCache: FlightCache;
  releaser: SeatReleaser;
  logger: Logger;
  ttlSeconds: number;
  releaseRetrySeconds: number;
  unpaidSeatCaps: UnpaidSeatCaps;
  /** Called after a transaction that wrote outbox events committed (wakes the relay). */
  onEvents: () => void;
  /** Counts outcomes (bookings_total, seat conflicts); nothing is counted when absent. */
  metrics?: BookingMetrics;
  now?: () => Date;
}

export interface Page<T> {
  data: T[];
  page: number;
  limit: number;
  total: number;
}

/** A create request's Idempotency-Key claim and how its answer is stored (see BookingsStore.markHeld). */
export interface CreateFence {
  fence: ClaimFence;
  /** The answer exactly as the route sends it for a booking view. */
  answer: (view: BookingView) => StoredAnswer;
}

/** The booking use cases: the saga, reads, and the user's cancel. */
export class BookingService {
  private readonly now: () => Date;
  private readonly metrics: BookingMetrics;

  constructor(private readonly deps: BookingServiceDeps) {
    this.now = deps.now ?? (() => new Date());
    this.metrics = deps.metrics ?? NO_METRICS;
  }

  /** The flight for a new booking: cached when that lets the booking go ahead, fresh for any refusal. */
  private async flightFor(flightId: number, noOfSeats: number, now: Date): Promise<FlightSummary> {
    let lookup: CachedLookup;
    try {
      lookup = await this.deps.flightCache.get(flightId);
      if (lookup.cached && hopelessHold(lookup.flight!, noOfSeats, now)) {
        lookup = await this.deps.flightCache.get(flightId, { fresh: true });
      }
    } catch (err) {
      if (err instanceof FlightServiceDown)
        throw new Refused({ kind: 'flight-service-down', before: 'lookup' });
      throw err;
    }
    const flight = lookup.flight;
    if (!flight) throw new Refused({ kind: 'flight-not-found', flightId });
    // Cheap early answers from a fresh look; flight-service's PUT stays the authority on seats.
    const refusal = hopelessHold(flight, noOfSeats, now);
    if (refusal === 'departed') throw new Refused({ kind: 'flight-departed', flightId: flight.id });
    if (refusal === 'not-enough-seats') {
      this.metrics.seatConflict('not-enough-seats');
      throw new Refused({
        kind: 'not-enough-seats',
        flightId: flight.id,
        availableSeats: flight.availableSeats,
      });
    }
    return flight;
  }

  /**
   * The booking saga: look the flight up, record the booking (INITIATED, seats HOLDING), hold the seats
   * with flight-service's idempotent PUT, then record the hold — with the price and schedule the seats were
   * held at — together with the booking.created event. When the hold definitely fails the booking is
   * cancelled and whatever a lost attempt may have held is released, so neither a seatless booking nor a
   * bookingless hold survives. A booking the saga gave up on was never shown to anyone: it publishes no event.
   */
  async create(
    who: Identity,
    input: { flightId: number; passengers: Passenger[] },
    fenced?: CreateFence,
  ): Promise<BookingView> {
    const { flights, store } = this.deps;
    const noOfSeats = input.passengers.length;
    const flight = await this.flightFor(input.flightId, noOfSeats, this.now());
    // After the lookup, which may have waited on flight-service: the booking's times start when it is written.
    const now = this.now();
    const record: BookingRecord = {
      id: 0,
      flightId: flight.id,
      userId: who.userId,
      userEmail: who.email,
      flightNumber: flight.flightNumber,
      departureAirportCode: flight.departureAirportCode,
      arrivalAirportCode: flight.arrivalAirportCode,
      departureTime: flight.departureTime,
      noOfSeats,
      totalCost: totalCostOf(flight.price, noOfSeats),
      status: 'INITIATED',
      cancelReason: null,
      seatsState: 'HOLDING',
      expiresAt: expiresAtFrom(now, this.deps.ttlSeconds),
      createdAt: now,
      updatedAt: now,
      locator: '',
      passengers: input.passengers,
      seatsToLearn: false,
      seatChange: null,
    };
    const caps = this.deps.unpaidSeatCaps;
    const inserted = await store.insertWithinCaps(
      record,
      unpaidSeatsAllowance(noOfSeats, caps),
      (unpaid) => unpaidSeatsRefusal(unpaid, noOfSeats, caps),
      () => newLocator(),
    );
    if ('refused' in inserted) {
      throw new Refused({ kind: 'unpaid-seats-limit', flightId: flight.id, ...inserted.refused });
    }
    record.id = inserted.id;
    record.locator = inserted.locator;

    let hold: Awaited<ReturnType<FlightClient['holdSeats']>>;
    try {
      hold = await flights.holdSeats(
        flight.id,
        record.id,
        noOfSeats,
        input.passengers.map((p) => p.seat),
      );
    } catch (err) {
      await this.giveUp(record.id, true);
      throw err;
    }
    if (hold.kind === 'held') {
      const { price: heldPrice, ...heldFlight } = hold.flight ?? { price: flight.price };
      const held: BookingRecord = {
        ...record,
        ...heldFlight,
        totalCost: totalCostOf(heldPrice, noOfSeats),
        seatsState: 'HELD',
        // Each passenger's seat as flight-service holds it; an answer without them is read back later.
        passengers: hold.seatNumbers ? withSeats(record.passengers, hold.seatNumbers) : record.passengers,
        seatsToLearn: !hold.seatNumbers,
      };
      const view = toBookingView(held);
      const created = buildEvent('booking.created', held, undefined, now);
      const answer = fenced && { fence: fenced.fence, answer: fenced.answer(view) };
      let outcome: Awaited<ReturnType<BookingsStore['markHeld']>>;
      try {
        outcome = await store.markHeld(held, created, now, answer);
      } catch (err) {
        // The seats are held but the database did not confirm the booking (it may have committed all the same).
        // Whatever is still HOLDING is given up as soon as the database answers again.
        this.deps.logger.warn('seats held but the booking could not be recorded; giving it up', {
          err,
          bookingId: record.id,
        });
        await this.giveUp(record.id, true);
        throw new Refused({ kind: 'booking-not-recorded' });
      }
      if (outcome === 'held') {
        this.metrics.booking('created');
        this.deps.onEvents();
        // Nothing else can have touched the booking yet (its id is not out), so the row is what we wrote.
        return view;
      }
      if (outcome === 'superseded') {
        // A retry with the same Idempotency-Key took the claim over while this request stalled: that one's
        // booking is the answer, this one is undone.
        await this.giveUp(record.id, true);
        throw new Refused({ kind: 'idempotency-superseded' });
      }
    }

    // A lost (timed-out, reset, 5xx) attempt may have held seats even though the last answer is a refusal.
    await this.giveUp(record.id, hold.kind === 'held' || hold.ambiguous);
    if (hold.kind === 'held') throw new Refused({ kind: 'cancelled-while-held', bookingId: record.id });
    if (hold.kind === 'unreachable') throw new Refused({ kind: 'flight-service-down', before: 'hold' });
    if (hold.status === 404) throw new Refused({ kind: 'flight-not-found', flightId: flight.id });
    const conflict = hold.status === 409 ? seatConflictOf(hold.type) : undefined;
    if (conflict) this.metrics.seatConflict(conflict);
    if (hold.status === 409 && hold.type === SEAT_TAKEN && hold.seats) {
      throw new Refused({ kind: 'seat-taken', seats: hold.seats });
    }
    if (hold.status === 409)
      throw new Refused({ kind: 'hold-refused', type: hold.type, detail: hold.detail });
    const seatErrors = hold.status === 400 ? seatErrorsAs(hold.errors, 'passengers.%.seat') : undefined;
    if (seatErrors) throw new Refused({ kind: 'seats-invalid', errors: seatErrors });
    this.deps.logger.error('flight-service refused a seat hold unexpectedly', {
      status: hold.status,
      bookingId: record.id,
    });
    throw new Refused({ kind: 'hold-refused-unexpectedly' });
  }

  /**
   * Compensation: a booking still waiting for its seats (HOLDING) ends CANCELLED (RESERVATION_FAILED, hidden from
   * users) and, when seats may be held, their release is started (not awaited). No event: the booking was never published as
   * created. A booking that got as far as HELD is left alone (it is live and published). When the database does
   * not answer, this keeps trying in the background (and the sweeper recovers stale HOLDING bookings), so a
   * failed saga never leaves a live booking without its seats.
   */
  private async giveUp(bookingId: number, mayHoldSeats: boolean): Promise<void> {
    try {
      await this.cancelHolding(bookingId, mayHoldSeats);
    } catch (err) {
      this.deps.logger.warn('could not give up a failed booking; retrying in the background', {
        err,
        bookingId,
      });
      void retryInBackground(
        `give up booking ${bookingId}`,
        () => this.cancelHolding(bookingId, mayHoldSeats),
        this.deps.logger,
      );
    }
  }

  private async cancelHolding(bookingId: number, mayHoldSeats: boolean): Promise<void> {
    const now = this.now();
    const cancelled = await this.deps.store.change(bookingId, (b) => {
      const change = giveUpHold(b, mayHoldSeats, now, this.deps.releaseRetrySeconds);
      return { change, result: change?.booking };
    });
    // In the background: the client's answer does not wait for a flight-service that may be hung too (each call
    // can take FLIGHT_CALL_ATTEMPTS × UPSTREAM_TIMEOUT_MS); the RELEASING lease lets the sweeper finish it anyway.
    if (cancelled && needsRelease(cancelled)) {
      void this.deps.releaser.release(cancelled).catch((err: unknown) => {
        this.deps.logger.warn('seat release after a failed booking not recorded; the sweeper will retry it', {
          err,
          bookingId,
        });
      });
    }
  }

  async get(who: Identity, id: number): Promise<BookingView> {
    const b = await this.deps.store.find(id);
    if (!b || !isVisible(b) || !canSee(b, who))
      throw new Refused({ kind: 'booking-not-found', bookingId: id });
    return toBookingView(b);
  }

  /**
   * The caller's bookings, newest first; with `locator`, the caller's booking with that locator (an admin's:
   * anyone's), so a locator never shows someone else's booking.
   */
  async list(who: Identity, page: number, limit: number, locator?: string): Promise<Page<BookingView>> {
    const offset = (page - 1) * limit;
    const { rows, total } =
      locator === undefined
        ? await this.deps.store.listVisible(who.userId, offset, limit)
        : await this.deps.store.listVisibleByLocator(
            locator,
            who.role === 'admin' ? undefined : who.userId,
            offset,
            limit,
          );
    return { data: rows.map(toBookingView), page, limit, total };
  }

  /** Cancels for the user: CANCELLED/USER with a booking.cancelled event, then the seats are released once. */
  async cancel(who: Identity, id: number): Promise<BookingView> {
    const now = this.now();
    const decision = await this.deps.store.change(id, (b) => {
      const d = cancelByUser(b, who, now, this.deps.releaseRetrySeconds);
      return { change: d.kind === 'cancelled' ? d.change : undefined, result: d };
    });
    switch (decision.kind) {
      case 'refused':
        if (decision.refusal === 'payment-in-progress') {
          throw new Refused({ kind: 'cancel-while-paying', bookingId: id });
        }
        if (decision.refusal === 'departed')
          throw new Refused({ kind: 'cancel-after-departure', bookingId: id });
        throw new Refused({ kind: 'booking-not-found', bookingId: id });
      case 'unchanged':
        return toBookingView(decision.booking);
      case 'cancelled': {
        const { booking } = decision.change;
        this.metrics.booking('cancelled');
        this.deps.onEvents();
        if (needsRelease(booking)) await this.deps.releaser.release(booking);
        return toBookingView(booking);
      }
    }
  }
}
