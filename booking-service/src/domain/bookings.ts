import { Op, type Sequelize, type WhereOptions } from 'sequelize';
import {
  conflict,
  HttpProblem,
  inTransaction,
  notFound,
  reservationRefusal,
  serviceUnavailable,
  type Identity,
  type Logger,
} from '@skyway/common';
import type { CachedLookup, FlightCache } from '../clients/flight-cache';
import { FlightServiceDown, type FlightClient, type FlightSummary } from '../clients/flight-client';
import { retryInBackground } from '../db/background-retry';
import { insertBookingWithinCaps, markHeld } from '../db/booking-sql';
import type { ClaimFence, StoredAnswer } from '../db/idempotency-store';
import type { Models } from '../db/models';
import { asRecord, recordEvent } from '../events/outbox';
import {
  buildEvent,
  cancelRefusal,
  canSee,
  expiresAtFrom,
  isVisible,
  RESERVATION_FAILED,
  toBookingView,
  totalCostOf,
  unpaidSeatsRefusal,
  type BookingRecord,
  type BookingView,
  type UnpaidSeatCaps,
} from './booking';
import type { SeatReleaser } from './seat-release';

export interface BookingServiceDeps {
  sequelize: Sequelize;
  models: Models;
  flights: FlightClient;
  flightCache: FlightCache;
  releaser: SeatReleaser;
  logger: Logger;
  ttlSeconds: number;
  releaseRetrySeconds: number;
  unpaidSeatCaps: UnpaidSeatCaps;
  /** Called after a transaction that wrote outbox events committed (wakes the relay). */
  onEvents: () => void;
  now?: () => Date;
}

export interface Page<T> {
  data: T[];
  page: number;
  limit: number;
  total: number;
}

const PROBLEM = 'urn:skyway:problem:';

/** The bookings users may see (`isVisible`, as a query): not given up on, not waiting for their seats. */
const visible: WhereOptions = {
  [Op.and]: [
    { [Op.or]: [{ cancelReason: null }, { cancelReason: { [Op.ne]: RESERVATION_FAILED } }] },
    { [Op.not]: { status: 'INITIATED', seatsState: 'HOLDING' } },
  ],
};

/** A create request's Idempotency-Key claim and how its answer is stored (see markHeld). */
export interface CreateFence {
  fence: ClaimFence;
  /** The answer exactly as the route sends it for a booking view. */
  answer: (view: BookingView) => StoredAnswer;
}

export class BookingService {
  private readonly now: () => Date;

  constructor(private readonly deps: BookingServiceDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  private leaseUntil(now: Date): Date {
    return new Date(now.getTime() + this.deps.releaseRetrySeconds * 1000);
  }

  /** The flight for a new booking: cached when that lets the booking go ahead, fresh for any refusal. */
  private async flightFor(flightId: number, noOfSeats: number, now: Date): Promise<FlightSummary> {
    let lookup: CachedLookup;
    try {
      lookup = await this.deps.flightCache.get(flightId);
      if (lookup.cached && reservationRefusal(lookup.flight!, noOfSeats, now)) {
        lookup = await this.deps.flightCache.get(flightId, { fresh: true });
      }
    } catch (err) {
      if (err instanceof FlightServiceDown)
        throw serviceUnavailable('flight-service cannot be reached; try again shortly');
      throw err;
    }
    const flight = lookup.flight;
    if (!flight) throw notFound(`Flight ${flightId} does not exist`);
    // Cheap early answers from a fresh look; flight-service's PUT stays the authority on seats.
    const refusal = reservationRefusal(flight, noOfSeats, now);
    if (refusal === 'departed') {
      throw new HttpProblem(
        409,
        `Flight ${flight.id} has already departed`,
        undefined,
        `${PROBLEM}flight-departed`,
      );
    }
    if (refusal === 'not-enough-seats') {
      throw new HttpProblem(
        409,
        `Flight ${flight.id} has ${flight.availableSeats} seats left`,
        undefined,
        `${PROBLEM}not-enough-seats`,
      );
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
    input: { flightId: number; noOfSeats: number },
    fenced?: CreateFence,
  ): Promise<BookingView> {
    const { flights, sequelize } = this.deps;
    const flight = await this.flightFor(input.flightId, input.noOfSeats, this.now());
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
      noOfSeats: input.noOfSeats,
      totalCost: totalCostOf(flight.price, input.noOfSeats),
      status: 'INITIATED',
      cancelReason: null,
      seatsState: 'HOLDING',
      expiresAt: expiresAtFrom(now, this.deps.ttlSeconds),
      createdAt: now,
      updatedAt: now,
    };
    const inserted = await insertBookingWithinCaps(sequelize, record, (unpaid) =>
      unpaidSeatsRefusal(unpaid, input.noOfSeats, this.deps.unpaidSeatCaps),
    );
    if ('refused' in inserted) {
      const { cap, limit, unpaid } = inserted.refused;
      const where = cap === 'per-flight' ? `on flight ${flight.id}` : 'in all';
      throw new HttpProblem(
        409,
        `At most ${limit} unpaid seats per customer ${where}; you hold ${unpaid}. Pay or cancel a booking first`,
        undefined,
        `${PROBLEM}unpaid-seats-limit`,
      );
    }
    record.id = inserted.id;

    let hold: Awaited<ReturnType<FlightClient['holdSeats']>>;
    try {
      hold = await flights.holdSeats(flight.id, record.id, input.noOfSeats);
    } catch (err) {
      await this.giveUp(record.id, true);
      throw err;
    }
    if (hold.kind === 'held') {
      const held: BookingRecord = {
        ...record,
        ...(hold.flight ?? {}),
        totalCost: totalCostOf(hold.flight?.price ?? flight.price, input.noOfSeats),
        seatsState: 'HELD',
      };
      const view = toBookingView(held);
      const created = buildEvent('booking.created', held, undefined, now);
      const answer = fenced && { fence: fenced.fence, answer: fenced.answer(view) };
      let outcome: Awaited<ReturnType<typeof markHeld>>;
      try {
        outcome = await markHeld(sequelize, held, created, now, answer);
      } catch (err) {
        // The seats are held but the database did not confirm the booking (it may have committed all the same).
        // Whatever is still HOLDING is given up as soon as the database answers again.
        this.deps.logger.warn('seats held but the booking could not be recorded; giving it up', {
          err,
          bookingId: record.id,
        });
        await this.giveUp(record.id, true);
        throw serviceUnavailable('The booking could not be recorded; no booking was made. Try again shortly');
      }
      if (outcome === 'held') {
        this.deps.onEvents();
        // Nothing else can have touched the booking yet (its id is not out), so the row is what we wrote.
        return view;
      }
      if (outcome === 'superseded') {
        // A retry with the same Idempotency-Key took the claim over while this request stalled: that one's
        // booking is the answer, this one is undone.
        await this.giveUp(record.id, true);
        throw conflict(
          'A retry with the same Idempotency-Key has taken this request over; no booking was made',
        );
      }
    }

    // A lost (timed-out, reset, 5xx) attempt may have held seats even though the last answer is a refusal.
    await this.giveUp(record.id, hold.kind === 'held' || hold.ambiguous);
    if (hold.kind === 'held') throw conflict(`Booking ${record.id} was cancelled while its seats were held`);
    if (hold.kind === 'unreachable') {
      throw serviceUnavailable('flight-service cannot be reached; no booking was made');
    }
    if (hold.status === 404) throw notFound(`Flight ${flight.id} does not exist`);
    if (hold.status === 409) {
      throw new HttpProblem(
        409,
        hold.detail ?? 'The seats could not be held',
        undefined,
        hold.type ?? 'about:blank',
      );
    }
    this.deps.logger.error('flight-service refused a seat hold unexpectedly', {
      status: hold.status,
      bookingId: record.id,
    });
    throw new HttpProblem(502, 'flight-service refused the seat hold');
  }

  /**
   * Compensation: a booking still waiting for its seats (HOLDING) ends CANCELLED (RESERVATION_FAILED, hidden from
   * users) and, when seats may be held, their release is started. No event: the booking was never published as
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
    const { models, sequelize } = this.deps;
    const now = this.now();
    const cancelled = await inTransaction(sequelize, async (transaction) => {
      const b = await models.Booking.findByPk(bookingId, { transaction, lock: transaction.LOCK.UPDATE });
      if (!b || b.status !== 'INITIATED' || b.seatsState !== 'HOLDING') return undefined;
      b.status = 'CANCELLED';
      b.cancelReason = RESERVATION_FAILED;
      b.seatsState = mayHoldSeats ? 'RELEASING' : 'RELEASED';
      b.releaseLeaseUntil = mayHoldSeats ? this.leaseUntil(now) : null;
      await b.save({ transaction });
      return b;
    });
    if (cancelled && mayHoldSeats) await this.deps.releaser.release(cancelled);
  }

  async get(who: Identity, id: number): Promise<BookingView> {
    const b = await this.deps.models.Booking.findByPk(id);
    if (!b || !isVisible(asRecord(b)) || !canSee(b, who)) throw notFound(`Booking ${id} not found`);
    return toBookingView(asRecord(b));
  }

  /** The caller's bookings, newest first. */
  async list(who: Identity, page: number, limit: number): Promise<Page<BookingView>> {
    const { rows, count } = await this.deps.models.Booking.findAndCountAll({
      where: { [Op.and]: [{ userId: who.userId }, visible] },
      order: [['id', 'DESC']],
      offset: (page - 1) * limit,
      limit,
    });
    return { data: rows.map((b) => toBookingView(asRecord(b))), page, limit, total: count };
  }

  /** Cancels for the user: CANCELLED/USER with a booking.cancelled event, then the seats are released once. */
  async cancel(who: Identity, id: number): Promise<BookingView> {
    const { models, sequelize } = this.deps;
    const now = this.now();
    const { booking, changed } = await inTransaction(sequelize, async (transaction) => {
      const b = await models.Booking.findByPk(id, { transaction, lock: transaction.LOCK.UPDATE });
      if (!b || !isVisible(asRecord(b)) || !canSee(b, who)) throw notFound(`Booking ${id} not found`);
      if (b.status === 'CANCELLED') return { booking: b, changed: false };
      const refusal = cancelRefusal(asRecord(b), now);
      if (refusal === 'payment-in-progress') {
        throw conflict(`A payment for booking ${id} is in progress; try again shortly`);
      }
      if (refusal === 'departed')
        throw conflict(`The flight of booking ${id} has departed; it can no longer be cancelled`);
      const previous = b.status;
      b.status = 'CANCELLED';
      b.cancelReason = 'USER';
      if (b.seatsState !== 'RELEASED') {
        b.seatsState = 'RELEASING';
        b.releaseLeaseUntil = this.leaseUntil(now);
      }
      await b.save({ transaction });
      await recordEvent(models.OutboxEvent, 'booking.cancelled', b, previous, transaction, now);
      return { booking: b, changed: true };
    });
    if (changed) {
      this.deps.onEvents();
      if (booking.seatsState === 'RELEASING') await this.deps.releaser.release(booking);
    }
    return toBookingView(asRecord(booking));
  }
}
