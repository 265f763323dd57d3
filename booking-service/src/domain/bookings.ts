import { Op, type Sequelize, type WhereOptions } from 'sequelize';
import {
  conflict,
  HttpProblem,
  inTransaction,
  notFound,
  serviceUnavailable,
  type Identity,
  type Logger,
} from '@skyway/common';
import { FlightServiceDown, type FlightClient } from '../clients/flight-client';
import type { Booking, Models } from '../db/models';
import { asRecord, recordEvent } from '../events/outbox';
import {
  cancelRefusal,
  canSee,
  expiresAtFrom,
  RESERVATION_FAILED,
  toBookingView,
  totalCostOf,
  type BookingView,
} from './booking';
import type { SeatReleaser } from './seat-release';

export interface BookingServiceDeps {
  sequelize: Sequelize;
  models: Models;
  flights: FlightClient;
  releaser: SeatReleaser;
  logger: Logger;
  ttlSeconds: number;
  releaseRetrySeconds: number;
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

/** Bookings the saga gave up on are internal records: no user-facing read shows them. */
const visible: WhereOptions = {
  [Op.or]: [{ cancelReason: null }, { cancelReason: { [Op.ne]: RESERVATION_FAILED } }],
};
const isVisible = (b: Booking) => b.cancelReason !== RESERVATION_FAILED;

export class BookingService {
  private readonly now: () => Date;

  constructor(private readonly deps: BookingServiceDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  private leaseUntil(now: Date): Date {
    return new Date(now.getTime() + this.deps.releaseRetrySeconds * 1000);
  }

  /**
   * The booking saga: look the flight up, record the booking (INITIATED, with its booking.created event),
   * hold the seats with flight-service's idempotent PUT, and when that definitely fails cancel the booking
   * and release whatever a lost attempt may have held, so neither a seatless booking nor a bookingless
   * hold survives.
   */
  async create(who: Identity, input: { flightId: number; noOfSeats: number }): Promise<BookingView> {
    const { models, flights } = this.deps;
    let flight;
    try {
      flight = await flights.getFlight(input.flightId);
    } catch (err) {
      if (err instanceof FlightServiceDown)
        throw serviceUnavailable('flight-service cannot be reached; try again shortly');
      throw err;
    }
    if (!flight) throw notFound(`Flight ${input.flightId} does not exist`);
    const now = this.now();
    // Cheap early answers; flight-service's PUT stays the authority on seats.
    if (flight.departureTime.getTime() <= now.getTime()) {
      throw new HttpProblem(
        409,
        `Flight ${flight.id} has already departed`,
        undefined,
        `${PROBLEM}flight-departed`,
      );
    }
    if (flight.availableSeats < input.noOfSeats) {
      throw new HttpProblem(
        409,
        `Flight ${flight.id} has ${flight.availableSeats} seats left`,
        undefined,
        `${PROBLEM}not-enough-seats`,
      );
    }

    const booking = await inTransaction(this.deps.sequelize, async (transaction) => {
      const b = await models.Booking.create(
        {
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
          releaseLeaseUntil: null,
          expiresAt: expiresAtFrom(now, this.deps.ttlSeconds),
        },
        { transaction },
      );
      await recordEvent(models.OutboxEvent, 'booking.created', b, undefined, transaction, now);
      return b;
    });
    this.deps.onEvents();

    const hold = await flights.holdSeats(flight.id, booking.id, input.noOfSeats);
    if (hold.kind === 'held') {
      await models.Booking.update(
        { seatsState: 'HELD' },
        { where: { id: booking.id, seatsState: 'HOLDING' }, silent: true },
      );
      // Nothing else can have touched the booking yet (its id is not out), so the row is what we wrote.
      return toBookingView(asRecord(booking));
    }

    // A lost (timed-out, reset, 5xx) attempt may have held seats even though the last answer is a refusal.
    await this.giveUp(booking, hold.ambiguous);
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
      bookingId: booking.id,
    });
    throw new HttpProblem(502, 'flight-service refused the seat hold');
  }

  /** Compensation: the booking ends CANCELLED and, when seats may be held, their release is started. */
  private async giveUp(booking: Booking, mayHoldSeats: boolean): Promise<void> {
    const { models, sequelize } = this.deps;
    const now = this.now();
    const cancelled = await inTransaction(sequelize, async (transaction) => {
      const b = await models.Booking.findByPk(booking.id, { transaction, lock: transaction.LOCK.UPDATE });
      if (!b || b.status !== 'INITIATED') return undefined;
      b.status = 'CANCELLED';
      b.cancelReason = RESERVATION_FAILED;
      b.seatsState = mayHoldSeats ? 'RELEASING' : 'RELEASED';
      b.releaseLeaseUntil = mayHoldSeats ? this.leaseUntil(now) : null;
      await b.save({ transaction });
      await recordEvent(models.OutboxEvent, 'booking.cancelled', b, 'INITIATED', transaction, now);
      return b;
    });
    if (!cancelled) return;
    this.deps.onEvents();
    if (mayHoldSeats) await this.deps.releaser.release(cancelled);
  }

  async get(who: Identity, id: number): Promise<BookingView> {
    const b = await this.deps.models.Booking.findByPk(id);
    if (!b || !isVisible(b) || !canSee(b, who)) throw notFound(`Booking ${id} not found`);
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
      if (!b || !isVisible(b) || !canSee(b, who)) throw notFound(`Booking ${id} not found`);
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
