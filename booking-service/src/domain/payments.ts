import type { Sequelize } from 'sequelize';
import {
  badRequest,
  conflict,
  gone,
  HttpProblem,
  inTransaction,
  notFound,
  type Identity,
  type Logger,
} from '@skyway/common';
import type { Models } from '../db/models';
import { asRecord, recordEvent } from '../events/outbox';
import { paymentRefusal, RESERVATION_FAILED } from './booking';
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
    const { models, sequelize, provider, logger } = this.deps;
    const { bookingId, amount } = input;
    await inTransaction(sequelize, async (transaction) => {
      const b = await models.Booking.findByPk(bookingId, { transaction, lock: transaction.LOCK.UPDATE });
      if (!b || b.cancelReason === RESERVATION_FAILED || b.userId !== who.userId) {
        throw notFound(`Booking ${bookingId} not found`);
      }
      switch (paymentRefusal(asRecord(b), amount, this.now())) {
        case 'already-booked':
          throw conflict(`Booking ${bookingId} is already paid`);
        case 'in-progress':
          throw conflict(`A payment for booking ${bookingId} is already in progress`);
        case 'cancelled':
          throw gone(`Booking ${bookingId} is cancelled`);
        case 'expired':
          throw gone(`Booking ${bookingId} expired at ${b.expiresAt.toISOString()}`);
        case 'wrong-amount':
          throw badRequest('The amount does not match the booking', [
            { path: 'amount', message: `must equal the booking's totalCost (${b.totalCost})` },
          ]);
        case undefined:
          break;
      }
      b.status = 'PENDING';
      await b.save({ transaction });
    });

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
      await this.backToInitiated(bookingId);
      if (err instanceof PaymentDeclinedError)
        throw new HttpProblem(402, `The payment was declined: ${err.message}`);
      logger.error('payment provider failed', { err, bookingId });
      throw new HttpProblem(
        502,
        'The payment provider did not confirm the charge; retry with the same Idempotency-Key',
      );
    }

    const now = this.now();
    const payment = await inTransaction(sequelize, async (transaction) => {
      const b = await models.Booking.findByPk(bookingId, { transaction, lock: transaction.LOCK.UPDATE });
      if (!b || b.status !== 'PENDING') {
        // Only reachable if something bypassed PENDING; the charge needs a person to refund it.
        logger.error('charged a booking that is no longer pending; refund needed', {
          bookingId,
          providerRef,
        });
        throw conflict(`Booking ${bookingId} changed while it was being paid`);
      }
      const p = await models.Payment.create(
        { bookingId, userId: who.userId, amount, status: 'SUCCEEDED', providerRef, idempotencyKey },
        { transaction },
      );
      b.status = 'BOOKED';
      await b.save({ transaction });
      await recordEvent(models.OutboxEvent, 'booking.confirmed', b, 'PENDING', transaction, now);
      return p;
    });
    this.deps.onEvents();
    return {
      id: payment.id,
      bookingId: payment.bookingId,
      amount: payment.amount,
      status: 'SUCCEEDED',
      createdAt: payment.createdAt.toISOString(),
    };
  }

  private async backToInitiated(bookingId: number): Promise<void> {
    const { models, sequelize } = this.deps;
    await inTransaction(sequelize, async (transaction) => {
      const b = await models.Booking.findByPk(bookingId, { transaction, lock: transaction.LOCK.UPDATE });
      if (b?.status !== 'PENDING') return;
      b.status = 'INITIATED';
      await b.save({ transaction });
    });
  }
}
