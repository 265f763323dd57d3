import { QueryTypes, Transaction, type Sequelize } from 'sequelize';
import {
  HttpProblem,
  inTransaction,
  isDuplicateKeyError,
  notFound,
  retryTransaction,
  withConnection,
} from '@skyway/common';
import { reservationRefusal } from '../domain/rules';

export interface Reservation {
  bookingId: number;
  flightId: number;
  seats: number;
  status: 'HELD' | 'RELEASED';
}

/** The flight as it stood when its seats were held: what a booking records (read under the row lock). */
export interface HeldFlight {
  flightNumber: string;
  departureAirportCode: string;
  arrivalAirportCode: string;
  departureTime: Date;
  price: number;
}

export type ReserveOutcome = { created: boolean; reservation: Reservation & { flight: HeldFlight } };

interface LockedFlightRow {
  availableSeats: number;
  departureTime: Date;
  flightNumber: string;
  departureAirportCode: string;
  arrivalAirportCode: string;
  price: number | string;
}

const HELD_FLIGHT_COLUMNS =
  'availableSeats, departureTime, flightNumber, departureAirportCode, arrivalAirportCode, price';

const heldFlight = (f: LockedFlightRow): HeldFlight => ({
  flightNumber: f.flightNumber,
  departureAirportCode: f.departureAirportCode,
  arrivalAirportCode: f.arrivalAirportCode,
  departureTime: f.departureTime,
  price: Number(f.price),
});

const PROBLEM = 'urn:skyway:problem:';
const problem409 = (slug: string, detail: string) => new HttpProblem(409, detail, undefined, PROBLEM + slug);

interface ReservationRow {
  bookingId: string | number;
  flightId: number;
  seats: number;
  status: 'HELD' | 'RELEASED';
}

const toReservation = (r: ReservationRow): Reservation => ({
  bookingId: Number(r.bookingId),
  flightId: r.flightId,
  seats: r.seats,
  status: r.status,
});

async function findReservation(
  sequelize: Sequelize,
  bookingId: number,
  transaction?: Transaction,
): Promise<Reservation | undefined> {
  const rows = await sequelize.query<ReservationRow>(
    `SELECT bookingId, flightId, seats, status FROM seat_reservations WHERE bookingId = ?${transaction ? ' FOR UPDATE' : ''}`,
    { replacements: [bookingId], type: QueryTypes.SELECT, transaction },
  );
  return rows[0] ? toReservation(rows[0]) : undefined;
}

async function lockFlight(sequelize: Sequelize, flightId: number, transaction: Transaction) {
  const [flight] = await sequelize.query<{ availableSeats: number; departureTime: Date }>(
    'SELECT availableSeats, departureTime FROM flights WHERE id = ? FOR UPDATE',
    { replacements: [flightId], type: QueryTypes.SELECT, transaction },
  );
  return flight;
}

/** What a repeated PUT for a booking that already has a row answers (the flight as it is now). */
async function existingOutcome(
  sequelize: Sequelize,
  existing: Reservation,
  flightId: number,
  seats: number,
): Promise<ReserveOutcome> {
  if (existing.flightId !== flightId) {
    throw problem409(
      'booking-on-other-flight',
      `Booking ${existing.bookingId} holds seats on another flight`,
    );
  }
  if (existing.status === 'RELEASED') {
    throw problem409('reservation-released', `The reservation of booking ${existing.bookingId} was released`);
  }
  if (existing.seats !== seats) {
    throw problem409(
      'reservation-mismatch',
      `Booking ${existing.bookingId} already holds ${existing.seats} seats`,
    );
  }
  const [flight] = await sequelize.query<LockedFlightRow>(
    `SELECT ${HELD_FLIGHT_COLUMNS} FROM flights WHERE id = ?`,
    { replacements: [flightId], type: QueryTypes.SELECT },
  );
  if (!flight) throw notFound(`Flight ${flightId} does not exist`);
  return { created: false, reservation: { ...existing, flight: heldFlight(flight) } };
}

/**
 * Holds `seats` seats on a flight for a booking, idempotently, in two round trips, and answers with the
 * flight's details as they stood under the lock (the price a booking charges is the price its seats were
 * held at):
 *
 *   1. START TRANSACTION; INSERT the booking's reservation row; SELECT the flight row FOR UPDATE
 *   2. UPDATE availableSeats; COMMIT           (or ROLLBACK when the flight is gone, departed or full)
 *
 * So the hot flight row is held for one round trip — less than a bare BEGIN/SELECT/UPDATE/COMMIT loop holds it.
 * The reservation's primary key (bookingId) settles repeats and races between identical requests: the loser's
 * INSERT fails and it answers from the existing row. Every lock is taken in the same order — reservation, then
 * flight — by reserve and release alike.
 */
export async function reserveSeats(
  sequelize: Sequelize,
  flightId: number,
  bookingId: number,
  seats: number,
  now = () => new Date(),
): Promise<ReserveOutcome> {
  try {
    return await retryTransaction(() =>
      withConnection(sequelize, async (run) => {
        const results = (await run(
          `START TRANSACTION;
           INSERT INTO seat_reservations (bookingId, flightId, seats, status) VALUES (?, ?, ?, 'HELD');
           SELECT ${HELD_FLIGHT_COLUMNS} FROM flights WHERE id = ? FOR UPDATE`,
          [bookingId, flightId, seats, flightId],
        )) as [unknown, unknown, LockedFlightRow[]];
        const flight = results[2][0];
        if (!flight) throw notFound(`Flight ${flightId} does not exist`);
        const refusal = reservationRefusal(flight, seats, now());
        if (refusal === 'departed')
          throw problem409('flight-departed', `Flight ${flightId} has already departed`);
        if (refusal === 'not-enough-seats') {
          throw problem409('not-enough-seats', `Flight ${flightId} has ${flight.availableSeats} seats left`);
        }
        await run('UPDATE flights SET availableSeats = availableSeats - ? WHERE id = ?; COMMIT', [
          seats,
          flightId,
        ]);
        return {
          created: true,
          reservation: { bookingId, flightId, seats, status: 'HELD' as const, flight: heldFlight(flight) },
        };
      }),
    );
  } catch (err) {
    if (!isDuplicateKeyError(err)) throw err;
    // This booking already has a reservation row (a repeat, or an identical request that committed first).
    const existing = await findReservation(sequelize, bookingId);
    if (!existing) throw err;
    return existingOutcome(sequelize, existing, flightId, seats);
  }
}

/**
 * Releases a booking's seats exactly once. A release for a booking that never held seats leaves a RELEASED
 * tombstone, so a reserve that arrives late (a retried request) cannot hold seats for a booking its owner
 * has already given up. Returns undefined when nothing was ever held.
 */
export async function releaseSeats(
  sequelize: Sequelize,
  flightId: number,
  bookingId: number,
): Promise<Reservation | undefined> {
  // READ COMMITTED: looking up a booking that has no row must not gap-lock the index, which would
  // block other bookings' reservations inserting nearby.
  const release = () =>
    inTransaction(
      sequelize,
      async (transaction) => {
        const existing = await findReservation(sequelize, bookingId, transaction);
        if (!existing) {
          await sequelize.query(
            "INSERT INTO seat_reservations (bookingId, flightId, seats, status) VALUES (?, ?, 0, 'RELEASED')",
            { replacements: [bookingId, flightId], transaction },
          );
          return undefined;
        }
        return releaseHeld(existing, transaction);
      },
      { isolationLevel: Transaction.ISOLATION_LEVELS.READ_COMMITTED },
    );
  const releaseHeld = async (
    existing: Reservation,
    transaction: Transaction,
  ): Promise<Reservation | undefined> => {
    if (existing.flightId !== flightId || existing.seats === 0) return undefined;
    if (existing.status === 'HELD') {
      await lockFlight(sequelize, flightId, transaction);
      await sequelize.query("UPDATE seat_reservations SET status = 'RELEASED' WHERE bookingId = ?", {
        replacements: [bookingId],
        transaction,
      });
      await sequelize.query('UPDATE flights SET availableSeats = availableSeats + ? WHERE id = ?', {
        replacements: [existing.seats, flightId],
        transaction,
      });
    }
    return { ...existing, status: 'RELEASED' };
  };
  try {
    return await release();
  } catch (err) {
    // A concurrent request for the same booking inserted its row first; now it exists and is lockable.
    if (isDuplicateKeyError(err)) return release();
    throw err;
  }
}

/** True when any booking ever reserved seats on the flight (checked under the flight's row lock). */
export async function hasReservations(
  sequelize: Sequelize,
  flightId: number,
  transaction: Transaction,
): Promise<boolean> {
  const rows = await sequelize.query(
    'SELECT 1 FROM seat_reservations WHERE flightId = ? LIMIT 1 LOCK IN SHARE MODE',
    {
      replacements: [flightId],
      type: QueryTypes.SELECT,
      transaction,
    },
  );
  return rows.length > 0;
}
