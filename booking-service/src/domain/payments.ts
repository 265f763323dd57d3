import type { Sequelize } from 'sequelize';
import {
  badRequest,
  conflict,
  gone,
  HttpProblem,
  inTransaction,
  notFound,
  retryTransaction,
  withConnection,
  type Identity,
  type Logger,
} from '@skyway/common';
import { retryInBackground } from '../db/background-retry';
import type { Models } from '../db/models';
import { findPayment, lockBooking, markPending, recordBooked, type PaymentRow } from '../db/payment-sql';
import { buildEvent, paymentRefusal } from './booking';
import { PaymentDeclinedError, type PaymentProvider } from './payment-provider';

export interface PaymentView {
  id: number;
  bookingId: number;
  amount: number;
  status: 'SUCCEEDED';
  createdAt: string;
}

export interface PaymentServiceDeps {
  sequelize: Sequelize;
  models: Models;
  provider: PaymentProvider;
  logger: Logger;
  /** The longest a provider call may take before the attempt is given up (and the booking unlocked). */
  paymentTimeoutSeconds: number;
  onEvents: () => void;
  now?: () => Date;
}

/**
 * A payment that failed after the booking went PENDING, at a moment the booking could not be put back to
 * INITIATED (the database was away). That happens in the background; `settled` resolves once it is done, and
 * the Idempotency-Key must not be released before (see releaseKeyAfter).
 */
export class PaymentInterrupted extends HttpProblem {
  constructor(
    status: number,
    detail: string,
    readonly settled: Promise<unknown>,
  ) {
    super(status, detail);
  }
}

/** Beyond the payment timeout, before a PENDING booking counts as abandoned by a dead process. */
const ABANDON_GRACE_MS = 5000;

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the payment provider did not answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * Pays a booking: INITIATED → PENDING (booking row locked, rules checked), the provider charge outside any
 * transaction, then PENDING → BOOKED with the payment row and the booking.confirmed event (row locked again).
 * PENDING is what keeps a second payment, a user cancel and the sweeper away while the charge runs.
 */
export class PaymentService {
  private readonly now: () => Date;

  constructor(private readonly deps: PaymentServiceDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  async pay(
    who: Identity,
    idempotencyKey: string,
    input: { bookingId: number; amount: number },
  ): Promise<PaymentView> {
    const { sequelize, provider, logger } = this.deps;
    const { bookingId, amount } = input;
    const attempt = await retryTransaction(() =>
      withConnection(sequelize, async (run): Promise<{ paid: PaymentRow } | { startedAt: Date }> => {
        const b = await lockBooking(run, bookingId);
        if (!b || b.userId !== who.userId) throw notFound(`Booking ${bookingId} not found`);
        const now = this.now();
        const abandonedBefore = new Date(
          now.getTime() - this.deps.paymentTimeoutSeconds * 1000 - ABANDON_GRACE_MS,
        );
        const previous = b.status;
        switch (paymentRefusal(b, amount, now, abandonedBefore)) {
          case 'not-found':
            // Given up on, or its seats are still being held (its POST has not answered): not payable, not shown.
            throw notFound(`Booking ${bookingId} not found`);
          case 'already-booked': {
            // Paid with this very key by a request whose answer was lost (its commit went through while the
            // connection broke): the retry gets that payment, not a 409.
            const p = await findPayment(run, bookingId);
            await run('COMMIT');
            if (p && p.userId === who.userId && p.idempotencyKey === idempotencyKey) return { paid: p };
            throw conflict(`Booking ${bookingId} is already paid`);
          }
          case 'in-progress':
            throw conflict(`A payment for booking ${bookingId} is already in progress`);
          case 'cancelled':
            throw gone(`Booking ${bookingId} is cancelled`);
          case 'expired':
            throw gone(`Booking ${bookingId} expired at ${b.expiresAt.toISOString()}`);
          case 'departed':
            throw new HttpProblem(
              409,
              `The flight of booking ${bookingId} departed at ${b.departureTime.toISOString()}; it can no longer be paid`,
              undefined,
              'urn:skyway:problem:flight-departed',
            );
          case 'wrong-amount':
            throw badRequest('The amount does not match the booking', [
              { path: 'amount', message: `must equal the booking's totalCost (${b.totalCost})` },
            ]);
          case undefined:
            break;
        }
        if (previous === 'PENDING') {
          // The attempt that set PENDING died with its process (booking-service was killed mid-payment). Taking
          // over lets the customer pay: with the same Idempotency-Key the provider charges once; with another
          // key, a charge the dead attempt may have made needs a refund (logged, as for every such case).
          logger.warn('taking over an abandoned payment attempt', { bookingId, pendingSince: b.updatedAt });
        }
        // This attempt's mark: only this attempt may complete or undo the PENDING it set.
        await markPending(run, bookingId, now);
        return { startedAt: now };
      }),
    );
    if ('paid' in attempt) return toPaymentView(attempt.paid);
    const { startedAt } = attempt;

    let providerRef: string;
    try {
      const charge = provider.charge({
        bookingId,
        amount,
        // Stable across retries of the same request, so the provider charges it once at most.
        idempotencyKey: `booking-${bookingId}:user-${who.userId}:${idempotencyKey}`,
      });
      ({ providerRef } = await withTimeout(charge, this.deps.paymentTimeoutSeconds * 1000));
    } catch (err) {
      const later = await this.backToInitiated(bookingId, startedAt);
      if (err instanceof PaymentDeclinedError)
        throw new HttpProblem(402, `The payment was declined: ${err.message}`);
      logger.error('payment provider failed', { err, bookingId });
      const detail = 'The payment provider did not confirm the charge; retry with the same Idempotency-Key';
      throw later ? new PaymentInterrupted(502, detail, later.settled) : new HttpProblem(502, detail);
    }

    const now = this.now();
    let payment: PaymentRow;
    try {
      payment = await this.recordPayment(who, idempotencyKey, input, providerRef, startedAt, now);
    } catch (err) {
      if (err instanceof HttpProblem) throw err;
      // Charged, but BOOKED could not be recorded: the database went away (perhaps after committing). Back to
      // INITIATED (a no-op if it did commit), so a retry with the same key completes it: the provider charges
      // each key once, and a committed payment is found by its key.
      logger.warn('payment charged but not recorded; the booking goes back to INITIATED', { err, bookingId });
      const later = await this.backToInitiated(bookingId, startedAt);
      const detail = 'The payment could not be recorded; retry with the same Idempotency-Key';
      throw later ? new PaymentInterrupted(503, detail, later.settled) : new HttpProblem(503, detail);
    }
    this.deps.onEvents();
    return toPaymentView(payment);
  }

  private recordPayment(
    who: Identity,
    idempotencyKey: string,
    { bookingId, amount }: { bookingId: number; amount: number },
    providerRef: string,
    startedAt: Date,
    now: Date,
  ): Promise<PaymentRow> {
    const { sequelize, logger } = this.deps;
    return retryTransaction(() =>
      withConnection(sequelize, async (run) => {
        const b = await lockBooking(run, bookingId);
        if (!b || b.status !== 'PENDING' || b.updatedAt.getTime() !== startedAt.getTime()) {
          // Only reachable if something bypassed PENDING, or took over this attempt presumed dead: the charge
          // needs a person to refund it.
          logger.error('charged a booking that is no longer pending; refund needed', {
            bookingId,
            providerRef,
          });
          throw conflict(`Booking ${bookingId} changed while it was being paid`);
        }
        const confirmed = buildEvent(
          'booking.confirmed',
          { ...b, status: 'BOOKED', updatedAt: now },
          'PENDING',
          now,
        );
        const payment = { userId: who.userId, amount, providerRef, idempotencyKey };
        return recordBooked(run, b, payment, confirmed, now);
      }),
    );
  }

  /**
   * PENDING → INITIATED after a failed attempt, so the booking can be paid again. When the database is away it
   * keeps trying in the background and returns that attempt (otherwise the booking would stay PENDING, every
   * retry would get 409 until the sweeper expired it, and a charged customer would lose the booking).
   */
  private async backToInitiated(
    bookingId: number,
    startedAt: Date,
  ): Promise<{ settled: Promise<boolean> } | undefined> {
    const { models, sequelize, logger } = this.deps;
    const revert = () =>
      inTransaction(sequelize, async (transaction) => {
        const b = await models.Booking.findByPk(bookingId, { transaction, lock: transaction.LOCK.UPDATE });
        // Not when another attempt has taken the booking over since (this one was presumed dead).
        if (b?.status !== 'PENDING' || b.updatedAt.getTime() !== startedAt.getTime()) return;
        b.status = 'INITIATED';
        await b.save({ transaction });
      });
    try {
      await revert();
      return undefined;
    } catch (err) {
      logger.warn('could not put a booking back to INITIATED; retrying in the background', {
        err,
        bookingId,
      });
      return { settled: retryInBackground(`put booking ${bookingId} back to INITIATED`, revert, logger) };
    }
  }
}

function toPaymentView(p: PaymentRow): PaymentView {
  return {
    id: p.id,
    bookingId: p.bookingId,
    amount: p.amount,
    status: 'SUCCEEDED',
    createdAt: p.createdAt.toISOString(),
  };
}
