import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';
import { inTransaction, notFound, HttpProblem } from '@skyway/common';
import { reservationRefusal } from '../domain/rules';

export interface Reservation {
  bookingId: number;
  flightId: number;
  seats: number;
  status: 'HELD' | 'RELEASED';
}

export type ReserveOutcome = { created: boolean; reservation: Reservation };

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
  lock = false,
): Promise<Reservation | undefined> {
  const rows = await sequelize.query<ReservationRow>(
    `SELECT bookingId, flightId, seats, status FROM seat_reservations WHERE bookingId = ?${lock ? ' FOR UPDATE' : ''}`,
    { replacements: [bookingId], type: QueryTypes.SELECT, transaction },
  );
  return rows[0] ? toReservation(rows[0]) : undefined;
}

/** What a repeated PUT for a booking that already has a row answers. */
function existingOutcome(existing: Reservation, flightId: number, seats: number): ReserveOutcome {
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
  return { created: false, reservation: existing };
}

const isDuplicateKey = (err: unknown) => (err as { name?: string }).name === 'SequelizeUniqueConstraintError';

/**
 * Holds `seats` seats on a flight for a booking, idempotently. The flight row is locked for the
 * shortest possible time: the lookup of an existing reservation happens before the lock, and the
 * primary key on bookingId settles a race between two identical requests.
 */
export async function reserveSeats(
  sequelize: Sequelize,
  flightId: number,
  bookingId: number,
  seats: number,
  now = () => new Date(),
): Promise<ReserveOutcome> {
  const existing = await findReservation(sequelize, bookingId);
  if (existing) return existingOutcome(existing, flightId, seats);
  try {
    return await inTransaction(sequelize, async (transaction) => {
      const [flight] = await sequelize.query<{ availableSeats: number; departureTime: Date }>(
        'SELECT availableSeats, departureTime FROM flights WHERE id = ? FOR UPDATE',
        { replacements: [flightId], type: QueryTypes.SELECT, transaction },
      );
      if (!flight) throw notFound(`Flight ${flightId} does not exist`);
      const refusal = reservationRefusal(flight, seats, now());
      if (refusal === 'departed')
        throw problem409('flight-departed', `Flight ${flightId} has already departed`);
      if (refusal === 'not-enough-seats') {
        throw problem409('not-enough-seats', `Flight ${flightId} has ${flight.availableSeats} seats left`);
      }
      await sequelize.query(
        "INSERT INTO seat_reservations (bookingId, flightId, seats, status) VALUES (?, ?, ?, 'HELD')",
        { replacements: [bookingId, flightId, seats], transaction },
      );
      await sequelize.query('UPDATE flights SET availableSeats = availableSeats - ? WHERE id = ?', {
        replacements: [seats, flightId],
        transaction,
      });
      return { created: true, reservation: { bookingId, flightId, seats, status: 'HELD' as const } };
    });
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
    // An identical request committed first; answer as a repeat.
    const winner = await findReservation(sequelize, bookingId);
    if (!winner) throw err;
    return existingOutcome(winner, flightId, seats);
  }
}

/**
 * Releases a booking's seats exactly once. A release for a booking that never held seats on an existing
 * flight leaves a RELEASED tombstone, so a reserve that arrives late (a retried request) cannot hold seats
 * for a booking its owner has already given up. Returns undefined when nothing was held.
 */
export async function releaseSeats(
  sequelize: Sequelize,
  flightId: number,
  bookingId: number,
): Promise<Reservation | undefined> {
  return inTransaction(sequelize, async (transaction) => {
    // Same lock order as reserveSeats (flight, then reservation) so the two cannot deadlock each other.
    const [flight] = await sequelize.query<{ id: number }>('SELECT id FROM flights WHERE id = ? FOR UPDATE', {
      replacements: [flightId],
      type: QueryTypes.SELECT,
      transaction,
    });
    if (!flight) return undefined;
    const existing = await findReservation(sequelize, bookingId, transaction, true);
    if (!existing) {
      await sequelize.query(
        "INSERT INTO seat_reservations (bookingId, flightId, seats, status) VALUES (?, ?, 0, 'RELEASED')",
        { replacements: [bookingId, flightId], transaction },
      );
      return undefined;
    }
    if (existing.flightId !== flightId) return undefined;
    if (existing.status === 'HELD') {
      await sequelize.query("UPDATE seat_reservations SET status = 'RELEASED' WHERE bookingId = ?", {
        replacements: [bookingId],
        transaction,
      });
      await sequelize.query('UPDATE flights SET availableSeats = availableSeats + ? WHERE id = ?', {
        replacements: [existing.seats, flightId],
        transaction,
      });
    }
    return existing.seats > 0 ? { ...existing, status: 'RELEASED' } : undefined;
  });
}

/** Seats currently held on a flight (for the invariant availableSeats + held = totalSeats). */
export async function heldSeats(
  sequelize: Sequelize,
  flightId: number,
  transaction?: Transaction,
): Promise<number> {
  const [row] = await sequelize.query<{ held: string | number | null }>(
    "SELECT SUM(seats) AS held FROM seat_reservations WHERE flightId = ? AND status = 'HELD'",
    { replacements: [flightId], type: QueryTypes.SELECT, transaction },
  );
  return Number(row?.held ?? 0);
}
