import { QueryTypes, Transaction, type Sequelize } from 'sequelize';
import { inTransaction, isDuplicateKeyError, retryTransaction, withConnection } from '@skyway/common';
import type {
  HeldReservation,
  HoldDecision,
  HoldRequest,
  LockedFlight,
  ReleaseDecision,
  Reservation,
} from '../domain/holds';
import type { Refusal } from '../domain/refusals';
import { Abort } from './abort';

/** What a hold attempt found: seats held now, a refusal (rolled back), or a row this booking already has. */
export type HoldAttempt =
  | { kind: 'held'; reservation: HeldReservation }
  | { kind: 'refused'; refusal: Refusal }
  | { kind: 'exists'; existing: Reservation };

interface FlightRow {
  availableSeats: number;
  departureTime: Date;
  flightNumber: string;
  departureAirportCode: string;
  arrivalAirportCode: string;
  price: number | string;
}

const HELD_FLIGHT_COLUMNS =
  'availableSeats, departureTime, flightNumber, departureAirportCode, arrivalAirportCode, price';

const toFlight = (f: FlightRow): LockedFlight => ({
  availableSeats: f.availableSeats,
  departureTime: f.departureTime,
  flightNumber: f.flightNumber,
  departureAirportCode: f.departureAirportCode,
  arrivalAirportCode: f.arrivalAirportCode,
  price: Number(f.price),
});

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

/** True when any booking ever reserved seats on the flight (checked under the flight's row lock). */
export async function everReserved(
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

export type ReservationsStore = ReturnType<typeof reservationsStore>;

export function reservationsStore(sequelize: Sequelize) {
  return {
    /**
     * Tries a new hold in two round trips; `decide` rules on the flight row as it stands under the lock (the price
     * a booking charges is the price its seats were held at):
     *
     *   1. START TRANSACTION; INSERT the booking's reservation row; SELECT the flight row FOR UPDATE
     *   2. UPDATE availableSeats; COMMIT           (or ROLLBACK when `decide` refuses)
     *
     * So the hot flight row is held for one round trip — less than a bare BEGIN/SELECT/UPDATE/COMMIT loop holds it.
     * The reservation's primary key (bookingId) settles repeats and races between identical requests: the loser's
     * INSERT fails and it gets the existing row back. Every lock is taken in the same order — reservation, then
     * flight — by hold and release alike.
     */
    async hold(
      request: HoldRequest,
      decide: (flight: LockedFlight | undefined) => HoldDecision,
    ): Promise<HoldAttempt> {
      const { flightId, bookingId, seats } = request;
      try {
        return await retryTransaction(() =>
          withConnection(sequelize, async (run) => {
            const results = (await run(
              `START TRANSACTION;
               INSERT INTO seat_reservations (bookingId, flightId, seats, status) VALUES (?, ?, ?, 'HELD');
               SELECT ${HELD_FLIGHT_COLUMNS} FROM flights WHERE id = ? FOR UPDATE`,
              [bookingId, flightId, seats, flightId],
            )) as [unknown, unknown, FlightRow[]];
            const row = results[2][0];
            const decision = decide(row ? toFlight(row) : undefined);
            if (decision.kind === 'refused') throw new Abort(decision.refusal); // withConnection rolls back
            if (decision.kind !== 'hold') throw new Error(`a new reservation cannot be a ${decision.kind}`);
            // Relative to the locked row, which is what `decision.availableSeats` was computed from.
            await run('UPDATE flights SET availableSeats = availableSeats - ? WHERE id = ?; COMMIT', [
              seats,
              flightId,
            ]);
            return { kind: 'held' as const, reservation: decision.reservation };
          }),
        );
      } catch (err) {
        if (err instanceof Abort) return { kind: 'refused', refusal: err.refusal };
        if (!isDuplicateKeyError(err)) throw err;
        // This booking already has a reservation row (a repeat, or an identical request that committed first).
        const existing = await findReservation(sequelize, bookingId);
        if (!existing) throw err;
        return { kind: 'exists', existing };
      }
    },

    /** The flight as it is now (no lock): what a repeated hold answers with. */
    async readFlight(flightId: number): Promise<LockedFlight | undefined> {
      const [row] = await sequelize.query<FlightRow>(
        `SELECT ${HELD_FLIGHT_COLUMNS} FROM flights WHERE id = ?`,
        {
          replacements: [flightId],
          type: QueryTypes.SELECT,
        },
      );
      return row ? toFlight(row) : undefined;
    },

    /**
     * Applies `decide` to the booking's reservation row (locked) in one transaction: a tombstone INSERT, or the
     * seats given back under the flight's row lock, or nothing.
     */
    async release(
      flightId: number,
      bookingId: number,
      decide: (held: Reservation | undefined) => ReleaseDecision,
    ): Promise<ReleaseDecision> {
      // READ COMMITTED: looking up a booking that has no row must not gap-lock the index, which would
      // block other bookings' reservations inserting nearby.
      const release = () =>
        inTransaction(
          sequelize,
          async (transaction) => {
            const decision = decide(await findReservation(sequelize, bookingId, transaction));
            if (decision.kind === 'tombstone') {
              await sequelize.query(
                "INSERT INTO seat_reservations (bookingId, flightId, seats, status) VALUES (?, ?, 0, 'RELEASED')",
                { replacements: [bookingId, flightId], transaction },
              );
            } else if (decision.kind === 'release') {
              await lockFlight(sequelize, flightId, transaction);
              await sequelize.query("UPDATE seat_reservations SET status = 'RELEASED' WHERE bookingId = ?", {
                replacements: [bookingId],
                transaction,
              });
              await sequelize.query('UPDATE flights SET availableSeats = availableSeats + ? WHERE id = ?', {
                replacements: [decision.seats, flightId],
                transaction,
              });
            }
            return decision;
          },
          { isolationLevel: Transaction.ISOLATION_LEVELS.READ_COMMITTED },
        );
      try {
        return await release();
      } catch (err) {
        // A concurrent request for the same booking inserted its row first; now it exists and is lockable.
        if (isDuplicateKeyError(err)) return release();
        throw err;
      }
    },
  };
}
