import { retryTransaction, sqlTime, withConnection } from '@skyway/common';
import type { Sequelize } from 'sequelize';
import type { BookingEvent } from '@skyway/common';
import type { BookingRecord, UnpaidSeats } from '../domain/booking';
import type { ClaimFence, StoredAnswer } from './idempotency-store';

/**
 * The booking saga's two writes in plain SQL, one round trip each: the booking path runs them for every
 * booking, and the ORM's per-row bookkeeping cost more CPU than the rest of the request (see the README's
 * Performance section). Everything else about bookings stays on the Sequelize models.
 */

type NewBooking = Omit<BookingRecord, 'id'>;

const INSERT_BOOKING = `INSERT INTO bookings (flight_id, user_id, user_email, flight_number, departure_airport_code,
                         arrival_airport_code, departure_time, no_of_seats, total_cost, status,
                         cancel_reason, seats_state, release_lease_until, expires_at, created_at, updated_at)
   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?)`;

const insertValues = (b: NewBooking) => [
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
];

/**
 * Inserts an INITIATED booking whose seats are being held (HOLDING) when `decide` allows it, given the user's
 * unpaid seats (INITIATED or PENDING, not expired) on this flight and in all. The user's lock row is held from
 * the count to the commit, so two concurrent bookings of one user are counted one after the other. Returns the
 * new id, or `decide`'s refusal.
 */
export async function insertBookingWithinCaps<R>(
  sequelize: Sequelize,
  b: NewBooking,
  decide: (unpaid: UnpaidSeats) => R | undefined,
): Promise<{ id: number } | { refused: R }> {
  return retryTransaction(() =>
    withConnection(sequelize, async (run) => {
      const results = (await run(
        `START TRANSACTION;
         INSERT INTO booking_user_locks (user_id) VALUES (?) ON DUPLICATE KEY UPDATE user_id = user_id;
         SELECT COALESCE(SUM(no_of_seats), 0) AS total,
                COALESCE(SUM(CASE WHEN flight_id = ? THEN no_of_seats ELSE 0 END), 0) AS onFlight
           FROM bookings
          WHERE user_id = ? AND status IN ('INITIATED', 'PENDING') AND expires_at > ?`,
        [b.userId, b.flightId, b.userId, sqlTime(b.createdAt)],
      )) as unknown[];
      const [row] = results[results.length - 1] as Array<{
        total: number | string;
        onFlight: number | string;
      }>;
      const refused = decide({ total: Number(row.total), onFlight: Number(row.onFlight) });
      if (refused !== undefined) {
        await run('ROLLBACK');
        return { refused };
      }
      const [inserted] = (await run(`${INSERT_BOOKING}; COMMIT`, insertValues(b))) as [{ insertId: number }];
      return { id: Number(inserted.insertId) };
    }),
  );
}

/**
 * The answer a fenced booking stores for its Idempotency-Key in the same transaction as the booking itself, so
 * no retry can take the key over between the two (and make a second booking).
 */
export interface FencedAnswer {
  fence: ClaimFence;
  answer: StoredAnswer;
}

/**
 * Records that the booking's seats are held, with the flight details they were held at, and writes its
 * `booking.created` event — in one transaction and one round trip. With `answer`, only while the request still
 * owns its Idempotency-Key claim, whose answer is stored with it. 'not-holding' (nothing written) when the booking
 * had already left HOLDING (cancelled meanwhile); 'superseded' when the claim was taken over.
 */
export async function markHeld(
  sequelize: Sequelize,
  b: BookingRecord,
  event: BookingEvent,
  now: Date,
  answer?: FencedAnswer,
): Promise<'held' | 'not-holding' | 'superseded'> {
  const at = sqlTime(now);
  const fence = answer
    ? {
        check: `SELECT COUNT(*) INTO @owner FROM idempotency_keys
                 WHERE id = ? AND token = ? AND state = 'IN_FLIGHT' FOR UPDATE;`,
        store: `UPDATE idempotency_keys SET state = 'DONE', response_status = ?, response_type = ?,
                       response_location = ?, response_body = ?, updated_at = ? WHERE id = ? AND @held > 0;`,
      }
    : { check: 'SET @owner = 1;', store: '' };
  return retryTransaction(() =>
    withConnection(sequelize, async (run) => {
      const results = (await run(
        `START TRANSACTION;
         ${fence.check}
         UPDATE bookings SET seats_state = 'HELD', flight_number = ?, departure_airport_code = ?,
                arrival_airport_code = ?, departure_time = ?, total_cost = ?
          WHERE id = ? AND status = 'INITIATED' AND seats_state = 'HOLDING' AND @owner > 0;
         SET @held = ROW_COUNT();
         INSERT INTO outbox_events (event_id, booking_id, type, payload, created_at, published_at)
           SELECT ?, ?, 'booking.created', ?, ?, NULL FROM DUAL WHERE @held > 0;
         ${fence.store}
         COMMIT;
         SELECT @held AS held, @owner AS owner`,
        [
          ...(answer ? [answer.fence.id, answer.fence.token] : []),
          b.flightNumber,
          b.departureAirportCode,
          b.arrivalAirportCode,
          sqlTime(b.departureTime),
          b.totalCost,
          b.id,
          event.eventId,
          b.id,
          JSON.stringify(event),
          at,
          ...(answer
            ? [
                answer.answer.status,
                answer.answer.type,
                answer.answer.location,
                answer.answer.body,
                at,
                answer.fence.id,
              ]
            : []),
        ],
      )) as unknown[];
      const [row] = results[results.length - 1] as Array<{ held: number | string; owner: number | string }>;
      if (Number(row.held) > 0) return 'held';
      return Number(row.owner) > 0 ? 'not-holding' : 'superseded';
    }),
  );
}
