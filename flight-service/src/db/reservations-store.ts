import { QueryTypes, Transaction, type Sequelize } from 'sequelize';
import {
  inTransaction,
  isCheckConstraintError,
  isDuplicateKeyError,
  retryTransaction,
  sqlTime,
  withConnection,
} from '@skyway/common';
import type {
  HeldReservation,
  HoldGuard,
  HoldRequest,
  LockedFlight,
  ReleaseDecision,
  Reservation,
  SeatChangeDecision,
  SeatChangeRequest,
  SeatedReservation,
} from '../domain/holds';
import type { Refusal } from '../domain/refusals';
import type { Layout, SeatWindow } from '../domain/seats';
import { Abort } from './abort';
import { batchGuard, holdBatcher, type BatchOutcome, type HoldMember } from './hold-batches';

/** What a hold attempt found: seats held now, the guard failed or no flight (rolled back), or a row this booking already has. */
export type HoldAttempt =
  /** Held and committed, the flight row as the hold was decided on. */
  | { kind: 'held' }
  /** The flight row failed the hold's guard (rolled back): read it and decide why. */
  | { kind: 'guard-failed' }
  | { kind: 'refused'; refusal: Refusal }
  | { kind: 'exists'; existing: SeatedReservation }
  /** Some of the seats were taken meanwhile: `chosen` are the requested (chosen) ones another booking holds now. */
  | { kind: 'seats-conflict'; chosen: string[] };

/**
 * The flight row with its seat map's layout, and the seats taken on it (all, or those in the window asked for),
 * read without a lock: what a hold is decided on (its guard then keeps the row so until its commit).
 */
export interface Seating {
  /** The flight row, its seat map's layout included (totalSeats, seatsPerRow). */
  flight: LockedFlight;
  taken: Set<string>;
  /** Of the chosen seats asked about, those another booking holds (committed). */
  chosenTaken: string[];
}

interface FlightRow {
  availableSeats: number;
  totalSeats: number;
  departureTime: Date;
  flightNumber: string;
  departureAirportCode: string;
  arrivalAirportCode: string;
  price: number | string;
}

const HELD_FLIGHT_COLUMNS =
  'availableSeats, totalSeats, departureTime, flightNumber, departureAirportCode, arrivalAirportCode, price';
/**
 * A new hold's UPDATE of the flight row: its seats taken when the guard holds (the row as the hold was decided on,
 * enough seats left), else −1, which the row's CHECK (availableSeats >= 0) refuses with an error that stops the
 * batch before its COMMIT. The airplane's row width cannot change under the flight's row lock: an airplane's patch
 * locks its flights first.
 */
const GUARDED_UPDATE_SQL = `UPDATE flights SET availableSeats = IF(
     availableSeats >= ? AND departureTime = ? AND totalSeats = ? AND price = ? AND flightNumber = ?
       AND departureAirportCode = ? AND arrivalAirportCode = ?
       AND (SELECT p.seatsPerRow FROM airplanes p WHERE p.id = flights.airplaneId) = ?,
     availableSeats - ?, -1)
   WHERE id = ?`;
const guardValues = ({ seats, decidedOn: d }: HoldGuard) => [
  seats,
  sqlTime(d.departureTime),
  d.totalSeats,
  d.price,
  d.flightNumber,
  d.departureAirportCode,
  d.arrivalAirportCode,
  d.seatsPerRow,
  seats,
];
/** The row width of a flight's airplane; read after the flight's row lock, so under READ COMMITTED it is current. */
const SEATS_PER_ROW_SQL =
  'SELECT p.seatsPerRow FROM flights f JOIN airplanes p ON p.id = f.airplaneId WHERE f.id = ?';

const SEATING_COLUMNS = HELD_FLIGHT_COLUMNS.split(', ')
  .map((c) => `f.${c}`)
  .join(', ');

const toFlight = (f: FlightRow, seatsPerRow: number): LockedFlight => ({
  availableSeats: f.availableSeats,
  totalSeats: f.totalSeats,
  seatsPerRow,
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

/** The booking's seats in passenger order (its own rows: only this booking's transactions change them). */
async function seatsOf(sequelize: Sequelize, bookingId: number, transaction?: Transaction) {
  const rows = await sequelize.query<{ seat: string }>(
    `SELECT seat FROM flight_seats WHERE bookingId = ? ORDER BY passenger${transaction ? ' FOR UPDATE' : ''}`,
    { replacements: [bookingId], type: QueryTypes.SELECT, transaction },
  );
  return rows.map((r) => r.seat);
}

async function findSeated(
  sequelize: Sequelize,
  bookingId: number,
  transaction?: Transaction,
): Promise<SeatedReservation | undefined> {
  const held = await findReservation(sequelize, bookingId, transaction);
  return held ? { ...held, seatNumbers: await seatsOf(sequelize, bookingId, transaction) } : undefined;
}

/** Which of `seats` on the flight some booking other than `bookingId` holds now (committed). */
async function heldByOthers(sequelize: Sequelize, flightId: number, seats: string[], bookingId: number) {
  if (!seats.length) return [];
  const rows = await sequelize.query<{ seat: string }>(
    'SELECT seat FROM flight_seats WHERE flightId = ? AND seat IN (?) AND bookingId <> ?',
    { replacements: [flightId, seats, bookingId], type: QueryTypes.SELECT },
  );
  const taken = new Set(rows.map((r) => r.seat));
  return seats.filter((s) => taken.has(s));
}

/** `(flightId, seat, bookingId, passenger)` rows, in primary-key order so concurrent inserts lock in one order. */
function seatRows(flightId: number, bookingId: number, seatNumbers: string[]) {
  const rows = seatNumbers.map((seat, passenger) => [flightId, seat, bookingId, passenger] as const);
  return rows.sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
}

const SEAT_INSERT = 'INSERT INTO flight_seats (flightId, seat, bookingId, passenger) VALUES ';

async function lockFlight(sequelize: Sequelize, flightId: number, transaction: Transaction) {
  const [flight] = await sequelize.query<FlightRow>(
    `SELECT ${HELD_FLIGHT_COLUMNS} FROM flights WHERE id = ? FOR UPDATE`,
    { replacements: [flightId], type: QueryTypes.SELECT, transaction },
  );
  if (!flight) return undefined;
  const [plane] = await sequelize.query<{ seatsPerRow: number }>(SEATS_PER_ROW_SQL, {
    replacements: [flightId],
    type: QueryTypes.SELECT,
    transaction,
  });
  return toFlight(flight, plane.seatsPerRow);
}

/** The seats given up are deleted and the new ones inserted; a taken one is a duplicate key. */
class SeatConflict extends Error {
  override name = 'SeatConflict';
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

/** Every seat taken on the flight, with a shared lock (a catalog patch, under the flight's row lock). */
export async function takenSeatsLocked(
  sequelize: Sequelize,
  flightId: number,
  transaction: Transaction,
): Promise<string[]> {
  const rows = await sequelize.query<{ seat: string }>(
    'SELECT seat FROM flight_seats WHERE flightId = ? LOCK IN SHARE MODE',
    { replacements: [flightId], type: QueryTypes.SELECT, transaction },
  );
  return rows.map((r) => r.seat);
}

/** Whether any flight of the airplane has a seat taken, its flight rows locked first (an airplane's row width patch). */
export async function airplaneHasLiveSeats(
  sequelize: Sequelize,
  airplaneId: number,
  transaction: Transaction,
): Promise<boolean> {
  await sequelize.query('SELECT id FROM flights WHERE airplaneId = ? FOR UPDATE', {
    replacements: [airplaneId],
    type: QueryTypes.SELECT,
    transaction,
  });
  const rows = await sequelize.query(
    'SELECT 1 FROM flights f JOIN flight_seats s ON s.flightId = f.id WHERE f.airplaneId = ? LIMIT 1 LOCK IN SHARE MODE',
    { replacements: [airplaneId], type: QueryTypes.SELECT, transaction },
  );
  return rows.length > 0;
}

export type ReservationsStore = ReturnType<typeof reservationsStore>;

/** What a seat change found: its answer (new, or stored from the first request with this changeId), or a refusal. */
export type ChangeAttempt =
  | { kind: 'answered'; answer: SeatChangeAnswer; replay: boolean }
  | { kind: 'refused'; refusal: Refusal }
  | { kind: 'stale-layout' };

export type SeatChangeAnswer = HeldReservation & { changed: boolean };

const READ_COMMITTED = { isolationLevel: Transaction.ISOLATION_LEVELS.READ_COMMITTED };

/**
 * Tries a new hold in ONE round trip, `guard` checked by the database on the flight row under its lock:
 *
 *   START TRANSACTION; INSERT the booking's reservation row; INSERT its seats;
 *   UPDATE the flight row: availableSeats − seats if the guard holds, else −1 (which its CHECK refuses: the
 *   batch stops there and is rolled back); COMMIT
 *
 * So the hot flight row is locked only inside the server, never across a round trip: seats are claimed on their
 * own rows (flight_seats' primary key (flightId, seat) admits each seat once) before the flight row is locked,
 * so holds taking different seats never wait for each other there. The reservation's primary key (bookingId)
 * settles repeats and races between identical requests: the loser's INSERT fails and it gets the existing row
 * back. Every lock is taken in the same order — reservation, seats, then flight — by hold, change and release.
 * Answers `held`, or `guard-failed` (the row is no longer as decided on, or too few seats are left).
 */
async function holdOne(sequelize: Sequelize, hold: HoldMember): Promise<HoldAttempt> {
  const { request } = hold;
  const { flightId, bookingId } = request;
  try {
    const updated = await sendHolds(sequelize, [hold]);
    if (updated === 1) return { kind: 'held' };
    // No such flight (deleted since the seats were chosen): the UPDATE matched nothing and the rows committed
    // with it belong to no flight; take them back.
    await takeBack(sequelize, flightId, [bookingId]);
    return { kind: 'refused', refusal: { code: 'not-found', noun: 'Flight', id: flightId } };
  } catch (err) {
    if (isCheckConstraintError(err)) return { kind: 'guard-failed' };
    if (!isDuplicateKeyError(err)) throw err;
    // This booking already has a reservation row (a repeat, or an identical request that committed first)…
    const existing = await findSeated(sequelize, bookingId);
    if (existing) return { kind: 'exists', existing };
    // … or a seat is taken: name the chosen ones another booking holds (none: an assigned seat was taken).
    const chosen = (request.seatNumbers ?? []).filter((s): s is string => s !== null);
    return { kind: 'seats-conflict', chosen: await heldByOthers(sequelize, flightId, chosen, bookingId) };
  }
}

/**
 * The statements of holdOne and holdMany, in ONE transaction and round trip: the holds' reservation rows (in
 * booking order), their seats (in primary-key order), one guarded UPDATE of the flight row for the sum of their
 * seats, COMMIT. Answers the UPDATE's affected rows (0: no such flight; the rows committed with it are the caller's
 * to take back); a failed guard, a taken key or anything else is thrown with the rolled-back transaction.
 */
function sendHolds(sequelize: Sequelize, holds: HoldMember[]): Promise<number> {
  const flightId = holds[0].request.flightId;
  const reservations = [...holds].sort((a, b) => a.request.bookingId - b.request.bookingId);
  const seats = holds
    .flatMap((m) => seatRows(flightId, m.request.bookingId, m.seatNumbers))
    .sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  const seatSql = seats.length ? `${SEAT_INSERT}${seats.map(() => '(?, ?, ?, ?)').join(', ')};` : '';
  return retryTransaction(() =>
    withConnection(sequelize, async (run) => {
      const results = (await run(
        `SET TRANSACTION ISOLATION LEVEL READ COMMITTED; START TRANSACTION;
         INSERT INTO seat_reservations (bookingId, flightId, seats, status) VALUES ${reservations.map(() => "(?, ?, ?, 'HELD')").join(', ')};
         ${seatSql}
         ${GUARDED_UPDATE_SQL};
         COMMIT`,
        [
          ...reservations.flatMap((m) => [m.request.bookingId, flightId, m.request.seats]),
          ...seats.flat(),
          ...guardValues(batchGuard(holds)),
          flightId,
        ],
      )) as unknown[];
      return (results[results.length - 2] as { affectedRows: number }).affectedRows;
    }),
  );
}

/** holdOne for several holds of one flight, in one transaction (sendHolds). */
async function holdMany(sequelize: Sequelize, batch: HoldMember[]): Promise<BatchOutcome> {
  const flightId = batch[0].request.flightId;
  try {
    const updated = await sendHolds(sequelize, batch);
    if (updated === 1) return 'held';
    await takeBack(
      sequelize,
      flightId,
      batch.map((m) => m.request.bookingId),
    );
    return 'vanished';
  } catch (err) {
    if (isCheckConstraintError(err)) return 'guard-failed';
    if (isDuplicateKeyError(err)) return 'duplicate';
    throw err;
  }
}

/** Which holds of a batch have their booking's reservation row, or one of their seats, taken now. */
async function takenIn(sequelize: Sequelize, batch: HoldMember[]): Promise<(m: HoldMember) => boolean> {
  const flightId = batch[0].request.flightId;
  const bookings = await sequelize.query<{ bookingId: number | string }>(
    'SELECT bookingId FROM seat_reservations WHERE bookingId IN (?)',
    { replacements: [batch.map((m) => m.request.bookingId)], type: QueryTypes.SELECT },
  );
  const asked = batch.flatMap((m) => m.seatNumbers);
  const seats = asked.length
    ? await sequelize.query<{ seat: string }>(
        'SELECT seat FROM flight_seats WHERE flightId = ? AND seat IN (?)',
        {
          replacements: [flightId, asked],
          type: QueryTypes.SELECT,
        },
      )
    : [];
  const booked = new Set(bookings.map((r) => Number(r.bookingId)));
  const taken = new Set(seats.map((r) => r.seat));
  return (m) => booked.has(m.request.bookingId) || m.seatNumbers.some((x) => taken.has(x));
}

/** The rows of holds committed with no flight (deleted since they were decided on), deleted again. */
async function takeBack(sequelize: Sequelize, flightId: number, bookingIds: number[]) {
  await inTransaction(sequelize, async (transaction) => {
    await sequelize.query('DELETE FROM flight_seats WHERE bookingId IN (?)', {
      replacements: [bookingIds],
      transaction,
    });
    await sequelize.query('DELETE FROM seat_reservations WHERE bookingId IN (?) AND flightId = ?', {
      replacements: [bookingIds, flightId],
      transaction,
    });
  });
}

export function reservationsStore(sequelize: Sequelize, observeBatch?: (holds: number) => void) {
  // Group commit of new holds on one flight (hold-batches.ts) over holdOne, holdMany and takenIn above.
  const batcher = holdBatcher<HoldMember, HoldAttempt>({
    one: (m) => holdOne(sequelize, m),
    many: (batch) => holdMany(sequelize, batch),
    taken: (batch) => takenIn(sequelize, batch),
    held: { kind: 'held' },
    vanished: (id) => ({ kind: 'refused', refusal: { code: 'not-found', noun: 'Flight', id } }),
    observe: observeBatch,
  });

  const store = {
    /**
     * The flight's layout and the seats taken on it, in one query without a lock — what a hold chooses and
     * validates seats on, and what the public seat map shows. `taken`: every taken seat (`'all'`), none (`'none'`:
     * the layout alone), or those in a window of rows (by the `(flightId, seatRow)` index). Undefined when there
     * is no such flight.
     */
    async seating(
      flightId: number,
      taken: 'all' | 'none' | SeatWindow = 'all',
      /** Chosen seats to look up in the same query: those a booking other than `asking.bookingId` holds. */
      asking?: { bookingId: number; seats: string[] },
    ): Promise<Seating | undefined> {
      // A window's seats (at most a few dozen) come back in one GROUP_CONCAT, well inside MySQL's default 1024-byte
      // group_concat_max_len; the whole map's are rows of a second query (a 1000-seat map would be cut off there).
      const windowSql =
        typeof taken === 'object'
          ? ', (SELECT GROUP_CONCAT(s.seat) FROM flight_seats s FORCE INDEX (flight_seats_flight_row) WHERE s.flightId = f.id AND s.seatRow BETWEEN ? AND ?) AS taken'
          : '';
      // Plain SQL on a pooled connection (no ORM): this read is on every hold.
      const chosen = asking?.seats.length ? asking : undefined;
      const chosenSql = chosen
        ? ', (SELECT GROUP_CONCAT(c.seat) FROM flight_seats c WHERE c.flightId = f.id AND c.seat IN (?) AND c.bookingId <> ?) AS chosenTaken'
        : '';
      const sql = `SELECT ${SEATING_COLUMNS}, p.seatsPerRow${windowSql}${chosenSql}
           FROM flights f JOIN airplanes p ON p.id = f.airplaneId WHERE f.id = ?`;
      const values = [
        ...(typeof taken === 'object' ? [taken.firstRow, taken.lastRow] : []),
        ...(chosen ? [chosen.seats, chosen.bookingId] : []),
        flightId,
      ];
      const { row, all } = await withConnection(sequelize, async (run) => {
        const [found] = (await run(sql, values)) as Array<
          FlightRow & { seatsPerRow: number; taken?: string | null; chosenTaken?: string | null }
        >;
        const rows =
          found && taken === 'all'
            ? ((await run('SELECT seat FROM flight_seats WHERE flightId = ?', [flightId])) as Array<{
                seat: string;
              }>)
            : [];
        return { row: found, all: rows.map((r) => r.seat) };
      });
      if (!row) return undefined;
      const seats = typeof taken === 'object' ? (row.taken ? row.taken.split(',') : []) : all;
      return {
        flight: toFlight(row, row.seatsPerRow),
        taken: new Set(seats),
        chosenTaken: row.chosenTaken ? row.chosenTaken.split(',') : [],
      };
    },

    /**
     * A new hold (see holdOne), sent with the other holds on the same flight that wait for this process's hold
     * transaction of that flight to end (group commit: hold-batches.ts); alone when none is in flight.
     */
    hold(request: HoldRequest, seatNumbers: string[], guard: HoldGuard): Promise<HoldAttempt> {
      return batcher.hold({ request, seatNumbers, guard });
    },

    /** The flight as it is now (no lock): what a repeated hold answers with. */
    async readFlight(flightId: number): Promise<LockedFlight | undefined> {
      const [row] = await sequelize.query<FlightRow & { seatsPerRow: number }>(
        `SELECT ${HELD_FLIGHT_COLUMNS}, (SELECT p.seatsPerRow FROM airplanes p WHERE p.id = f.airplaneId) AS seatsPerRow
           FROM flights f WHERE id = ?`,
        { replacements: [flightId], type: QueryTypes.SELECT },
      );
      return row ? toFlight(row, row.seatsPerRow) : undefined;
    },

    /** The booking's reservation with its current seats (none once released), or undefined. */
    reservation: (bookingId: number) => findSeated(sequelize, bookingId),

    /**
     * Applies `decide` to the booking's reservation row (locked) in one transaction: a tombstone INSERT, or this
     * booking's seat rows deleted (never another booking's: they are found by bookingId) and its count given back
     * to the flight, or nothing. Answers the decision and the seats it freed.
     */
    async release(
      flightId: number,
      bookingId: number,
      decide: (held: Reservation | undefined) => ReleaseDecision,
    ): Promise<{ decision: ReleaseDecision; freed: string[] }> {
      // READ COMMITTED: looking up a booking that has no row must not gap-lock the index, which would
      // block other bookings' reservations inserting nearby.
      const release = () =>
        inTransaction(
          sequelize,
          async (transaction) => {
            const decision = decide(await findReservation(sequelize, bookingId, transaction));
            let freed: string[] = [];
            if (decision.kind === 'tombstone') {
              await sequelize.query(
                "INSERT INTO seat_reservations (bookingId, flightId, seats, status) VALUES (?, ?, 0, 'RELEASED')",
                { replacements: [bookingId, flightId], transaction },
              );
            } else if (decision.kind === 'release') {
              freed = await seatsOf(sequelize, bookingId, transaction);
              await sequelize.query('DELETE FROM flight_seats WHERE bookingId = ?', {
                replacements: [bookingId],
                transaction,
              });
              await sequelize.query("UPDATE seat_reservations SET status = 'RELEASED' WHERE bookingId = ?", {
                replacements: [bookingId],
                transaction,
              });
              // The flight row last, by its UPDATE alone: it is held only until the COMMIT.
              await sequelize.query('UPDATE flights SET availableSeats = availableSeats + ? WHERE id = ?', {
                replacements: [decision.seats, flightId],
                transaction,
              });
            }
            return { decision, freed };
          },
          READ_COMMITTED,
        );
      try {
        return await release();
      } catch (err) {
        // A concurrent request for the same booking inserted its row first; now it exists and is lockable.
        if (isDuplicateKeyError(err)) return release();
        throw err;
      }
    },

    /**
     * A seat change in one transaction: the reservation row locked (which serialises every change of this
     * booking), a stored answer for this changeId returned as it was, else `decide` on the reservation and its
     * seats; a change deletes all of the booking's seat rows and inserts the new ones (a seat another booking holds
     * is a duplicate key: nothing changes), then checks the flight under its row lock and stores its answer.
     */
    async changeSeats(
      request: SeatChangeRequest,
      layout: Layout,
      decide: (held: SeatedReservation | undefined) => SeatChangeDecision,
      now: Date,
    ): Promise<ChangeAttempt> {
      const { flightId, bookingId, changeId, seatNumbers } = request;
      const asked = JSON.stringify(seatNumbers);
      try {
        return await inTransaction(
          sequelize,
          async (transaction): Promise<ChangeAttempt> => {
            const held = await findSeated(sequelize, bookingId, transaction);
            if (held?.flightId === flightId) {
              const [stored] = await sequelize.query<{ seatNumbers: string; answer: string }>(
                'SELECT seatNumbers, answer FROM seat_changes WHERE bookingId = ? AND changeId = ?',
                { replacements: [bookingId, changeId], type: QueryTypes.SELECT, transaction },
              );
              if (stored) {
                if (stored.seatNumbers !== asked)
                  throw new Abort({ code: 'change-id-reused', bookingId, changeId });
                const answer = JSON.parse(stored.answer) as SeatChangeAnswer;
                return { kind: 'answered', answer, replay: true };
              }
            }
            const decision = decide(held);
            if (decision.kind === 'refused') throw new Abort(decision.refusal);
            const seated = held as SeatedReservation;
            if (decision.kind === 'change') {
              await sequelize.query('DELETE FROM flight_seats WHERE bookingId = ?', {
                replacements: [bookingId],
                transaction,
              });
              const rows = seatRows(flightId, bookingId, decision.seatNumbers);
              try {
                await sequelize.query(`${SEAT_INSERT}${rows.map(() => '(?, ?, ?, ?)').join(', ')}`, {
                  replacements: rows.flat(),
                  transaction,
                });
              } catch (err) {
                if (isDuplicateKeyError(err)) throw new SeatConflict();
                throw err;
              }
            }
            const flight = await lockFlight(sequelize, flightId, transaction);
            if (!flight) throw new Abort({ code: 'not-found', noun: 'Flight', id: flightId });
            if (flight.departureTime.getTime() <= now.getTime()) {
              throw new Abort({ code: 'flight-departed', flightId });
            }
            if (flight.totalSeats !== layout.totalSeats || flight.seatsPerRow !== layout.seatsPerRow) {
              throw new StaleLayout();
            }
            const answer: SeatChangeAnswer = {
              ...seated,
              seatNumbers: decision.kind === 'change' ? decision.seatNumbers : seated.seatNumbers,
              flight: {
                flightNumber: flight.flightNumber,
                departureAirportCode: flight.departureAirportCode,
                arrivalAirportCode: flight.arrivalAirportCode,
                departureTime: flight.departureTime,
                price: flight.price,
              },
              changed: decision.kind === 'change',
            };
            await sequelize.query(
              'INSERT INTO seat_changes (bookingId, changeId, seatNumbers, answer) VALUES (?, ?, ?, ?)',
              { replacements: [bookingId, changeId, asked, JSON.stringify(answer)], transaction },
            );
            return { kind: 'answered', answer, replay: false };
          },
          READ_COMMITTED,
        );
      } catch (err) {
        if (err instanceof Abort) return { kind: 'refused', refusal: err.refusal };
        if (err instanceof StaleLayout) return { kind: 'stale-layout' };
        if (err instanceof SeatConflict) {
          const seats = await heldByOthers(sequelize, flightId, seatNumbers, bookingId);
          // Freed again before we looked: let the caller try once more.
          if (!seats.length) return { kind: 'stale-layout' };
          return { kind: 'refused', refusal: { code: 'seat-taken', flightId, seats } };
        }
        // The same changeId raced itself and the other request stored its answer first: answer from it.
        if (isDuplicateKeyError(err)) return store.changeSeats(request, layout, decide, now);
        throw err;
      }
    },
  };
  return store;
}

/** The seat map changed between the read the seats were validated on and the flight's row lock. */
class StaleLayout extends Error {
  override name = 'StaleLayout';
}
