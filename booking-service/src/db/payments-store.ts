import type { Sequelize } from 'sequelize';
import { retryTransaction, sqlTime, withConnection, type RunSql } from '@skyway/common';
import type { BookingRecord } from '../domain/booking';
import type { BookingChange } from '../domain/transitions';
import { lockBookingSql, lockedBooking, writeChangeSql } from './bookings-store';

/**
 * The payment's two transactions in plain SQL, two round trips each (lock and read; then write and commit).
 * The store owns each transaction from START TRANSACTION to COMMIT; the use case only decides, in between,
 * on the booking as locked. They run on one pinned connection (`withConnection`), so a failure anywhere rolls
 * the transaction back there, and are re-run whole on a deadlock or lock wait timeout.
 */

export interface PaymentRow {
  id: number;
  bookingId: number;
  userId: number;
  amount: number;
  idempotencyKey: string;
  createdAt: Date;
}

/** The one row mapper of `payments`. */
const toPaymentRow = (p: PaymentRow): PaymentRow => ({
  ...p,
  id: Number(p.id),
  bookingId: Number(p.bookingId),
  userId: Number(p.userId),
  amount: Number(p.amount),
});

/** What the first transaction does once the booking is locked and the use case has decided. */
export type StartStep =
  /** Nothing (refused): rolled back. */
  | { effect: 'none' }
  /** The booking's payment is read (a retry of a payment whose answer was lost), then committed. */
  | { effect: 'read-payment' }
  /** The booking becomes PENDING (the attempt's mark), committed. */
  | { effect: 'start'; change: BookingChange };

export interface NewPayment {
  userId: number;
  amount: number;
  providerRef: string;
  idempotencyKey: string;
}

export class PaymentsStore {
  constructor(private readonly sequelize: Sequelize) {}

  private transaction<T>(work: (run: RunSql) => Promise<T>): Promise<T> {
    return retryTransaction(() => withConnection(this.sequelize, work));
  }

  /**
   * The first transaction: locks the booking, lets `decide` choose the step, and does it. Returns the step
   * (with whatever the use case attached to it) and, for 'read-payment', the booking's payment if it has one.
   */
  async start<S extends StartStep>(
    bookingId: number,
    decide: (b: BookingRecord | undefined) => S,
  ): Promise<{ step: S; payment?: PaymentRow }> {
    return this.transaction(async (run) => {
      const lock = lockBookingSql(bookingId);
      const step = decide(lockedBooking(await run(lock.sql, lock.values)));
      if (step.effect === 'none') {
        await run('ROLLBACK');
        return { step };
      }
      if (step.effect === 'read-payment') {
        const rows = (await run(
          `SELECT id, booking_id AS bookingId, user_id AS userId, amount, idempotency_key AS idempotencyKey,
                  created_at AS createdAt
             FROM payments WHERE booking_id = ?`,
          [bookingId],
        )) as PaymentRow[];
        await run('COMMIT');
        return { step, payment: rows[0] && toPaymentRow(rows[0]) };
      }
      const write = writeChangeSql(step.change);
      await run(`${write.sql}; COMMIT`, write.values);
      return { step };
    });
  }

  /**
   * The second transaction: locks the booking again and, when `decide` confirms it (PENDING → BOOKED with its
   * booking.confirmed event), writes the payment row with it. Undefined (rolled back) when `decide` refuses.
   */
  async confirm(
    bookingId: number,
    payment: NewPayment,
    decide: (b: BookingRecord | undefined) => BookingChange | undefined,
  ): Promise<PaymentRow | undefined> {
    return this.transaction(async (run) => {
      const lock = lockBookingSql(bookingId);
      const change = decide(lockedBooking(await run(lock.sql, lock.values)));
      if (!change) {
        await run('ROLLBACK');
        return undefined;
      }
      const at = change.booking.updatedAt;
      const booked = writeChangeSql(change);
      const results = (await run(
        `INSERT INTO payments (booking_id, user_id, amount, status, provider_ref, idempotency_key, created_at, updated_at)
           VALUES (?, ?, ?, 'SUCCEEDED', ?, ?, ?, ?);
         SET @payment = LAST_INSERT_ID();
         ${booked.sql};
         COMMIT;
         SELECT @payment AS id`,
        [
          bookingId,
          payment.userId,
          payment.amount,
          payment.providerRef,
          payment.idempotencyKey,
          sqlTime(at),
          sqlTime(at),
          ...booked.values,
        ],
      )) as unknown[];
      const [row] = results[results.length - 1] as Array<{ id: number | string }>;
      return {
        id: Number(row.id),
        bookingId,
        userId: payment.userId,
        amount: payment.amount,
        idempotencyKey: payment.idempotencyKey,
        createdAt: at,
      };
    });
  }
}
