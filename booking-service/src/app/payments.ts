import type { Identity, Logger } from '@skyway/common';
import type { BookingsStore } from '../db/bookings-store';
import type { PaymentRow, PaymentsStore } from '../db/payments-store';
import type { BookingRecord, PaymentRefusal } from '../domain/booking';
import { PaymentDeclinedError, type PaymentProvider } from '../domain/payment-provider';
import { abandonPayment, confirmPayment, startPayment, type BookingChange } from '../domain/transitions';
import { NO_METRICS, type BookingMetrics } from '../metrics';
import { retryInBackground } from './background-retry';
import { Refused, type Refusal } from './refusals';

export interface PaymentView {
  id: number;
  bookingId: number;
  amount: number;
  status: 'SUCCEEDED';
  createdAt: string;
}

export interface PaymentServiceDeps {
  payments: PaymentsStore;
  bookings: BookingsStore;
  provider: PaymentProvider;
  logger: Logger;
  /** The longest a provider call may take before the attempt is given up (and the booking unlocked). */
  paymentTimeoutSeconds: number;
  onEvents: () => void;
  /** Counts confirmed bookings (bookings_total); nothing is counted when absent. */
  metrics?: BookingMetrics;
  now?: () => Date;
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

/** The refusal a user gets for a payment the rules do not allow ('already-booked' is looked into first). */
function paymentRefused(r: Exclude<PaymentRefusal, 'already-booked'>, b: BookingRecord): Refusal {
  const bookingId = b.id;
  switch (r) {
    case 'not-found':
      // Given up on, or its seats are still being held (its POST has not answered): not payable, not shown.
      return { kind: 'booking-not-found', bookingId };
    case 'in-progress':
      return { kind: 'payment-in-progress', bookingId };
    case 'cancelled':
      return { kind: 'booking-cancelled', bookingId };
    case 'expired':
      return { kind: 'booking-expired', bookingId, expiresAt: b.expiresAt };
    case 'departed':
      return { kind: 'pay-after-departure', bookingId, departureTime: b.departureTime };
    case 'wrong-amount':
      return { kind: 'wrong-amount', totalCost: b.totalCost };
  }
}

type Start =
  | { effect: 'none'; refusal: Refusal }
  | { effect: 'read-payment' }
  | { effect: 'start'; change: BookingChange; takesOver: boolean };

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
    const { provider, logger } = this.deps;
    const { bookingId, amount } = input;
    // The PENDING this attempt wrote, should the database not confirm the commit (see below).
    let pendingAt: Date | undefined;
    const begin = this.deps.payments.start(bookingId, (b): Start => {
      if (!b || b.userId !== who.userId) {
        return { effect: 'none', refusal: { kind: 'booking-not-found', bookingId } };
      }
      const now = this.now();
      const abandonedBefore = new Date(
        now.getTime() - this.deps.paymentTimeoutSeconds * 1000 - ABANDON_GRACE_MS,
      );
      const decision = startPayment(b, amount, now, abandonedBefore);
      if (decision.kind === 'started') {
        pendingAt = decision.change.booking.updatedAt;
        return { effect: 'start', ...decision };
      }
      // Perhaps paid with this very key by a request whose answer was lost (its commit went through while the
      // connection broke): the retry gets that payment, not a 409.
      if (decision.refusal === 'already-booked') return { effect: 'read-payment' };
      return { effect: 'none', refusal: paymentRefused(decision.refusal, b) };
    });
    let started: Awaited<typeof begin>;
    try {
      started = await begin;
    } catch (err) {
      if (err instanceof Refused || !pendingAt) throw err;
      // The connection broke around the COMMIT of PENDING: it may have gone through, with nobody left to finish
      // or undo it, and every retry would be told "in progress" until the attempt counted as abandoned. Undo it
      // (a no-op if it never committed) before the key is released.
      logger.warn('the start of a payment was not confirmed; undoing it', { err, bookingId });
      const later = await this.backToInitiated(bookingId, pendingAt);
      throw new Refused({ kind: 'payment-not-started', settled: later?.settled });
    }
    const { step, payment: earlier } = started;
    if (step.effect === 'none') throw new Refused(step.refusal);
    if (step.effect === 'read-payment') {
      if (earlier && earlier.userId === who.userId && earlier.idempotencyKey === idempotencyKey) {
        return toPaymentView(earlier);
      }
      throw new Refused({ kind: 'already-paid', bookingId });
    }
    if (step.takesOver) {
      // The attempt that set PENDING died with its process (booking-service was killed mid-payment). Taking
      // over lets the customer pay: with the same Idempotency-Key the provider charges once; with another
      // key, a charge the dead attempt may have made needs a refund (logged, as for every such case).
      logger.warn('taking over an abandoned payment attempt', { bookingId });
    }
    // This attempt's mark: only this attempt may complete or undo the PENDING it set.
    const startedAt = step.change.booking.updatedAt;

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
        throw new Refused({ kind: 'payment-declined', reason: err.message });
      logger.error('payment provider failed', { err, bookingId });
      throw new Refused({ kind: 'payment-unconfirmed', settled: later?.settled });
    }

    let payment: PaymentRow | undefined;
    try {
      const now = this.now();
      payment = await this.deps.payments.confirm(
        bookingId,
        { userId: who.userId, amount, providerRef, idempotencyKey },
        (b) => confirmPayment(b, startedAt, now),
      );
    } catch (err) {
      // Charged, but BOOKED could not be recorded: the database went away (perhaps after committing). Back to
      // INITIATED (a no-op if it did commit), so a retry with the same key completes it: the provider charges
      // each key once, and a committed payment is found by its key.
      logger.warn('payment charged but not recorded; the booking goes back to INITIATED', { err, bookingId });
      const later = await this.backToInitiated(bookingId, startedAt);
      throw new Refused({ kind: 'payment-not-recorded', settled: later?.settled });
    }
    if (!payment) {
      // Only reachable if something bypassed PENDING, or took over this attempt presumed dead: the charge
      // needs a person to refund it.
      logger.error('charged a booking that is no longer pending; refund needed', { bookingId, providerRef });
      throw new Refused({ kind: 'changed-while-paying', bookingId });
    }
    (this.deps.metrics ?? NO_METRICS).booking('confirmed');
    this.deps.onEvents();
    return toPaymentView(payment);
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
    const { bookings, logger } = this.deps;
    const revert = () =>
      bookings.change(bookingId, (b) => ({
        change: abandonPayment(b, startedAt, this.now()),
        result: undefined,
      }));
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
