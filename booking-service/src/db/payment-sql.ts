import { sqlTime, type BookingEvent, type RunSql } from '@skyway/common';
import type { BookingRecord } from '../domain/booking';

/**
 * The payment's two transactions in plain SQL, two round trips each (lock and read; then write and commit)
 * instead of the ORM's four and six. They run on one pinned connection (`withConnection`), so a failure
 * anywhere rolls the transaction back there.
 */

const BOOKING_COLUMNS = `id, flight_id AS flightId, user_id AS userId, user_email AS userEmail,
  flight_number AS flightNumber, departure_airport_code AS departureAirportCode,
  arrival_airport_code AS arrivalAirportCode, departure_time AS departureTime, no_of_seats AS noOfSeats,
  total_cost AS totalCost, status, cancel_reason AS cancelReason, seats_state AS seatsState,
  expires_at AS expiresAt, created_at AS createdAt, updated_at AS updatedAt`;

export interface PaymentRow {
  id: number;
  bookingId: number;
  userId: number;
  amount: number;
  idempotencyKey: string;
  createdAt: Date;
}

const asBooking = (r: BookingRecord): BookingRecord => ({
  ...r,
  userId: Number(r.userId),
  totalCost: Number(r.totalCost),
});

/** START TRANSACTION and lock the booking row; undefined when there is no such booking. */
export async function lockBooking(run: RunSql, bookingId: number): Promise<BookingRecord | undefined> {
  const [, rows] = (await run(
    `START TRANSACTION; SELECT ${BOOKING_COLUMNS} FROM bookings WHERE id = ? FOR UPDATE`,
    [bookingId],
  )) as [unknown, BookingRecord[]];
  return rows[0] ? asBooking(rows[0]) : undefined;
}

/** The booking's payment (inside the caller's transaction), if it has one. */
export async function findPayment(run: RunSql, bookingId: number): Promise<PaymentRow | undefined> {
  const rows = (await run(
    `SELECT id, booking_id AS bookingId, user_id AS userId, amount, idempotency_key AS idempotencyKey,
            created_at AS createdAt
       FROM payments WHERE booking_id = ?`,
    [bookingId],
  )) as PaymentRow[];
  const p = rows[0];
  return p && { ...p, userId: Number(p.userId), amount: Number(p.amount) };
}

/** INITIATED (or abandoned PENDING) → PENDING, stamped `startedAt`, and COMMIT. */
export async function markPending(run: RunSql, bookingId: number, startedAt: Date): Promise<void> {
  await run(`UPDATE bookings SET status = 'PENDING', updated_at = ? WHERE id = ?; COMMIT`, [
    sqlTime(startedAt),
    bookingId,
  ]);
}

/**
 * PENDING → BOOKED with the payment row and the booking's `booking.confirmed` event, and COMMIT. `booking` is
 * the row as locked by `lockBooking` in this transaction. Returns the payment.
 */
export async function recordBooked(
  run: RunSql,
  booking: BookingRecord,
  payment: { userId: number; amount: number; providerRef: string; idempotencyKey: string },
  event: BookingEvent,
  now: Date,
): Promise<PaymentRow> {
  const at = sqlTime(now);
  const results = (await run(
    `INSERT INTO payments (booking_id, user_id, amount, status, provider_ref, idempotency_key, created_at, updated_at)
       VALUES (?, ?, ?, 'SUCCEEDED', ?, ?, ?, ?);
     SET @payment = LAST_INSERT_ID();
     UPDATE bookings SET status = 'BOOKED', updated_at = ? WHERE id = ?;
     INSERT INTO outbox_events (event_id, booking_id, type, payload, created_at, published_at)
       VALUES (?, ?, 'booking.confirmed', ?, ?, NULL);
     COMMIT;
     SELECT @payment AS id`,
    [
      booking.id,
      payment.userId,
      payment.amount,
      payment.providerRef,
      payment.idempotencyKey,
      at,
      at,
      at,
      booking.id,
      event.eventId,
      booking.id,
      JSON.stringify(event),
      at,
    ],
  )) as unknown[];
  const [row] = results[results.length - 1] as Array<{ id: number | string }>;
  return {
    id: Number(row.id),
    bookingId: booking.id,
    userId: payment.userId,
    amount: payment.amount,
    idempotencyKey: payment.idempotencyKey,
    createdAt: now,
  };
}
