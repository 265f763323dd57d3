import { retryTransaction, sqlTime, withConnection } from '@skyway/common';
import type { Sequelize } from 'sequelize';
import type { BookingEvent } from '@skyway/common';
import type { BookingRecord } from '../domain/booking';

/**
 * The booking saga's two writes in plain SQL, one round trip each: the booking path runs them for every
 * booking, and the ORM's per-row bookkeeping cost more CPU than the rest of the request (see the README's
 * Performance section). Everything else about bookings stays on the Sequelize models.
 */

type NewBooking = Omit<BookingRecord, 'id'>;

/** Inserts an INITIATED booking whose seats are being held (HOLDING); returns its id. */
export async function insertBooking(sequelize: Sequelize, b: NewBooking): Promise<number> {
  return withConnection(sequelize, async (run) => {
    const result = (await run(
      `INSERT INTO bookings (flight_id, user_id, user_email, flight_number, departure_airport_code,
                             arrival_airport_code, departure_time, no_of_seats, total_cost, status,
                             cancel_reason, seats_state, release_lease_until, expires_at, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?)`,
      [
        b.flightId,
        b.userId,
        b.userEmail,
        b.flightNumber,
        b.departureAirportCode,
        b.arrivalAirportCode,
        sqlTime(b.departureTime),
        b.noOfSeats,
        b.totalCost,
        b.status,
        b.cancelReason,
        b.seatsState,
        sqlTime(b.expiresAt),
        sqlTime(b.createdAt),
        sqlTime(b.updatedAt),
      ],
    )) as { insertId: number };
    return Number(result.insertId);
  });
}

/**
 * Records that the booking's seats are held, with the flight details they were held at, and writes its
 * `booking.created` event — in one transaction and one round trip. Returns false (and writes no event)
 * when the booking had already left HOLDING (it was cancelled meanwhile).
 */
export async function markHeld(
  sequelize: Sequelize,
  b: BookingRecord,
  event: BookingEvent,
  now: Date,
): Promise<boolean> {
  return retryTransaction(() =>
    withConnection(sequelize, async (run) => {
      const results = (await run(
        `START TRANSACTION;
         UPDATE bookings SET seats_state = 'HELD', flight_number = ?, departure_airport_code = ?,
                arrival_airport_code = ?, departure_time = ?, total_cost = ?
          WHERE id = ? AND status = 'INITIATED' AND seats_state = 'HOLDING';
         SET @held = ROW_COUNT();
         INSERT INTO outbox_events (event_id, booking_id, type, payload, created_at, published_at)
           SELECT ?, ?, 'booking.created', ?, ?, NULL FROM DUAL WHERE @held > 0;
         COMMIT;
         SELECT @held AS held`,
        [
          b.flightNumber,
          b.departureAirportCode,
          b.arrivalAirportCode,
          sqlTime(b.departureTime),
          b.totalCost,
          b.id,
          event.eventId,
          b.id,
          JSON.stringify(event),
          sqlTime(now),
        ],
      )) as unknown[];
      const [row] = results[results.length - 1] as Array<{ held: number | string }>;
      return Number(row.held) > 0;
    }),
  );
}
