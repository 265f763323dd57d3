import type { Sequelize } from 'sequelize';
import {
  isDuplicateKeyError,
  retryTransaction,
  sqlTime,
  withConnection,
  type BookingEvent,
  type RunSql,
} from '@skyway/common';
import type { BookingRecord, PendingSeatChange, UnpaidSeats } from '../domain/booking';
import type { Passenger } from '../domain/seats';
import type { FencedAnswer } from '../domain/idempotency';
import type { BookingChange } from '../domain/transitions';
import { fencedAnswerSql } from './idempotency-store';
import { appendEvent, type SqlPart } from './outbox-store';

/**
 * Every read and write of `bookings`, in plain SQL on one pinned connection per transaction (`withConnection`:
 * whatever a failure leaves open is rolled back there). Each method is one transaction, its outbox append
 * included, and is re-run whole on a deadlock or lock wait timeout (`retryTransaction`). The hot paths send
 * several statements per round trip: the ORM's per-row bookkeeping cost more CPU than the rest of the request
 * (see the README's Performance section).
 */

/** The columns of a booking, as the one row mapper below reads them. */
export const BOOKING_COLUMNS = `id, flight_id AS flightId, user_id AS userId, user_email AS userEmail,
  flight_number AS flightNumber, departure_airport_code AS departureAirportCode,
  arrival_airport_code AS arrivalAirportCode, departure_time AS departureTime, no_of_seats AS noOfSeats,
  total_cost AS totalCost, status, cancel_reason AS cancelReason, seats_state AS seatsState,
  expires_at AS expiresAt, created_at AS createdAt, updated_at AS updatedAt, locator, passengers,
  seats_to_learn AS seatsToLearn, seat_change_id AS seatChangeId, seat_change_seats AS seatChangeSeats,
  seat_change_lease_until AS seatChangeLeaseUntil`;

/** A row as BOOKING_COLUMNS reads it. */
type BookingRow = Omit<BookingRecord, 'passengers' | 'seatsToLearn' | 'seatChange'> & {
  passengers: string | Passenger[];
  seatsToLearn: number | string | boolean;
  seatChangeId: string | null;
  seatChangeSeats: string | string[] | null;
  seatChangeLeaseUntil: Date | null;
};

/** TEXT holding JSON (MariaDB) or a JSON column (MySQL: mysql2 parses it already). */
const json = <T>(v: string | T): T => (typeof v === 'string' ? (JSON.parse(v) as T) : v);

/** The one row mapper of `bookings` (mysql2 hands BIGINT columns back as strings). */
export const toBookingRecord = (row: BookingRecord): BookingRecord => {
  const { seatChangeId, seatChangeSeats, seatChangeLeaseUntil, ...r } = row as unknown as BookingRow;
  const seatChange: PendingSeatChange | null =
    seatChangeId && seatChangeSeats && seatChangeLeaseUntil
      ? { changeId: seatChangeId, seats: json(seatChangeSeats), leaseUntil: seatChangeLeaseUntil }
      : null;
  return {
    ...r,
    id: Number(r.id),
    flightId: Number(r.flightId),
    userId: Number(r.userId),
    noOfSeats: Number(r.noOfSeats),
    totalCost: Number(r.totalCost),
    passengers: json<Passenger[]>(r.passengers).map((p) => ({ name: p.name ?? null, seat: p.seat ?? null })),
    seatsToLearn: Number(r.seatsToLearn) === 1 || r.seatsToLearn === true,
    seatChange,
  };
};

/** The passengers as stored (a JSON array in passenger order). */
const passengersJson = (passengers: Passenger[]) =>
  JSON.stringify(passengers.map((p) => ({ name: p.name, seat: p.seat })));

/** `isVisible` (domain/booking.ts) as a condition: not given up on, not waiting for its seats. */
const VISIBLE = `(cancel_reason IS NULL OR cancel_reason <> 'RESERVATION_FAILED')
  AND NOT (status = 'INITIATED' AND seats_state = 'HOLDING')`;

/** START TRANSACTION and lock one booking row: a statement pair for the first round trip of a transaction. */
export const lockBookingSql = (bookingId: number): SqlPart => ({
  sql: `START TRANSACTION; SELECT ${BOOKING_COLUMNS} FROM bookings WHERE id = ? FOR UPDATE`,
  values: [bookingId],
});

/** Reads the row `lockBookingSql` locked. */
export function lockedBooking(results: unknown): BookingRecord | undefined {
  const [, rows] = results as [unknown, BookingRecord[]];
  return rows[0] ? toBookingRecord(rows[0]) : undefined;
}

/** A decided change of a booking's state (and its event), as statements for the caller's transaction. */
export function writeChangeSql(change: BookingChange): SqlPart {
  const b = change.booking;
  const lease = change.releaseLeaseUntil;
  const update: SqlPart = {
    sql: `UPDATE bookings SET status = ?, cancel_reason = ?, seats_state = ?, updated_at = ?, passengers = ?,
            seats_to_learn = ?, seat_change_id = ?, seat_change_seats = ?, seat_change_lease_until = ?${
              lease === undefined ? '' : ', release_lease_until = ?'
            } WHERE id = ?`,
    values: [
      b.status,
      b.cancelReason,
      b.seatsState,
      sqlTime(b.updatedAt),
      passengersJson(b.passengers),
      b.seatsToLearn ? 1 : 0,
      b.seatChange?.changeId ?? null,
      b.seatChange ? JSON.stringify(b.seatChange.seats) : null,
      b.seatChange ? sqlTime(b.seatChange.leaseUntil) : null,
      ...(lease === undefined ? [] : [lease && sqlTime(lease)]),
      b.id,
    ],
  };
  if (!change.event) return update;
  const event = appendEvent(change.event);
  return { sql: `${update.sql}; ${event.sql}`, values: [...update.values, ...event.values] };
}

const joinSql = (parts: SqlPart[]): SqlPart => ({
  sql: parts.map((p) => p.sql).join('; '),
  values: parts.flatMap((p) => p.values),
});

type NewBooking = Omit<BookingRecord, 'id' | 'locator'>;

/** Draws of a fresh locator before an insert gives up (each duplicate is a one-in-a-billion event). */
const MAX_LOCATOR_DRAWS = 8;

/** A duplicate on the locator's unique index (mysql2's raw error). */
const isDuplicateLocator = (err: unknown): boolean => {
  const e = err as { sqlMessage?: string; message?: string };
  return isDuplicateKeyError(err) && /bookings_locator/.test(e.sqlMessage ?? e.message ?? '');
};

/** A booking whose seats are to be released at flight-service. */
export interface SeatsToRelease {
  id: number;
  flightId: number;
}

export class BookingsStore {
  constructor(private readonly sequelize: Sequelize) {}

  private transaction<T>(work: (run: RunSql) => Promise<T>): Promise<T> {
    return retryTransaction(() => withConnection(this.sequelize, work));
  }

  async find(id: number): Promise<BookingRecord | undefined> {
    const rows = (await withConnection(this.sequelize, (run) =>
      run(`SELECT ${BOOKING_COLUMNS} FROM bookings WHERE id = ?`, [id]),
    )) as BookingRecord[];
    return rows[0] && toBookingRecord(rows[0]);
  }

  /** A user's visible bookings, newest first, and how many there are (one round trip). */
  async listVisible(
    userId: number,
    offset: number,
    limit: number,
  ): Promise<{ rows: BookingRecord[]; total: number }> {
    const [rows, [count]] = (await withConnection(this.sequelize, (run) =>
      run(
        `SELECT ${BOOKING_COLUMNS} FROM bookings WHERE user_id = ? AND ${VISIBLE} ORDER BY id DESC LIMIT ? OFFSET ?;
         SELECT COUNT(*) AS total FROM bookings WHERE user_id = ? AND ${VISIBLE}`,
        [userId, limit, offset, userId],
      ),
    )) as [BookingRecord[], Array<{ total: number | string }>];
    return { rows: rows.map(toBookingRecord), total: Number(count.total) };
  }

  /**
   * The visible bookings with this locator, newest first (there is at most one: the locator is unique), of one
   * user, or of anyone when `userId` is undefined (admins). One round trip.
   */
  async listVisibleByLocator(
    locator: string,
    userId: number | undefined,
    offset: number,
    limit: number,
  ): Promise<{ rows: BookingRecord[]; total: number }> {
    const owner = userId === undefined ? '' : 'AND user_id = ?';
    const where = [locator, ...(userId === undefined ? [] : [userId])];
    const [rows, [count]] = (await withConnection(this.sequelize, (run) =>
      run(
        `SELECT ${BOOKING_COLUMNS} FROM bookings WHERE locator = ? ${owner} AND ${VISIBLE}
          ORDER BY id DESC LIMIT ? OFFSET ?;
         SELECT COUNT(*) AS total FROM bookings WHERE locator = ? ${owner} AND ${VISIBLE}`,
        [...where, limit, offset, ...where],
      ),
    )) as [BookingRecord[], Array<{ total: number | string }>];
    return { rows: rows.map(toBookingRecord), total: Number(count.total) };
  }

  /**
   * Inserts an INITIATED booking whose seats are being held (HOLDING) when the user's unpaid seats (INITIATED or
   * PENDING, not expired) on this flight and in all are within `allowed`, in one transaction and one round trip.
   * The user's lock row is held from the count to the commit, so two concurrent bookings of one user are counted
   * one after the other. Returns the new id and its locator (drawn by `newLocator`; on a duplicate, about one draw
   * in 10^9 per million bookings, the whole transaction again with a fresh one), or `refusal`'s answer to the
   * unpaid seats that were counted.
   */
  async insertWithinCaps<R>(
    b: NewBooking,
    allowed: UnpaidSeats,
    refusal: (unpaid: UnpaidSeats) => R | undefined,
    newLocator: () => string,
  ): Promise<{ id: number; locator: string } | { refused: R }> {
    for (let draw = 1; ; draw++) {
      const locator = newLocator();
      try {
        return await this.transaction(async (run) => {
          const results = (await run(
            `START TRANSACTION;
             INSERT INTO booking_user_locks (user_id) VALUES (?) ON DUPLICATE KEY UPDATE user_id = user_id;
             SELECT COALESCE(SUM(no_of_seats), 0), COALESCE(SUM(CASE WHEN flight_id = ? THEN no_of_seats ELSE 0 END), 0)
               FROM bookings
              WHERE user_id = ? AND status IN ('INITIATED', 'PENDING') AND expires_at > ?
               INTO @unpaid_total, @unpaid_on_flight;
             INSERT INTO bookings (flight_id, user_id, user_email, flight_number, departure_airport_code,
                                   arrival_airport_code, departure_time, no_of_seats, total_cost, status,
                                   cancel_reason, seats_state, release_lease_until, expires_at, created_at,
                                   updated_at, locator, passengers, seats_to_learn)
               SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, 0 FROM DUAL
                WHERE @unpaid_on_flight <= ? AND @unpaid_total <= ?;
             SELECT @unpaid_total AS total, @unpaid_on_flight AS onFlight;
             COMMIT`,
            [
              b.userId,
              b.flightId,
              b.userId,
              sqlTime(b.createdAt),
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
              locator,
              passengersJson(b.passengers),
              allowed.onFlight,
              allowed.total,
            ],
          )) as unknown[];
          const inserted = results[3] as { affectedRows: number; insertId: number };
          if (inserted.affectedRows === 1) return { id: Number(inserted.insertId), locator };
          const [unpaid] = results[4] as Array<{ total: number | string; onFlight: number | string }>;
          const refused = refusal({ total: Number(unpaid.total), onFlight: Number(unpaid.onFlight) });
          // The guard and the rule are one rule (unpaidSeatsAllowance); a disagreement is a bug, not a refusal.
          if (refused === undefined)
            throw new Error('the unpaid-seat guard refused a booking the rule allows');
          return { refused };
        });
      } catch (err) {
        if (!isDuplicateLocator(err) || draw >= MAX_LOCATOR_DRAWS) throw err;
      }
    }
  }

  /**
   * Records that the booking's seats are held, with the flight details they were held at, and writes its
   * `booking.created` event — in one transaction and one round trip. With `answer`, only while the request still
   * owns its Idempotency-Key claim, whose answer is stored with it. 'not-holding' (nothing written) when the booking
   * had already left HOLDING (cancelled meanwhile); 'superseded' when the claim was taken over.
   */
  async markHeld(
    b: BookingRecord,
    event: BookingEvent,
    now: Date,
    answer?: FencedAnswer,
  ): Promise<'held' | 'not-holding' | 'superseded'> {
    const fence = fencedAnswerSql(answer, now);
    const created = appendEvent(event, '@held > 0');
    return this.transaction(async (run) => {
      const results = (await run(
        `START TRANSACTION;
         ${fence.check}
         UPDATE bookings SET seats_state = 'HELD', flight_number = ?, departure_airport_code = ?,
                arrival_airport_code = ?, departure_time = ?, total_cost = ?, passengers = ?, seats_to_learn = ?
          WHERE id = ? AND status = 'INITIATED' AND seats_state = 'HOLDING' AND @owner > 0;
         SET @held = ROW_COUNT();
         ${created.sql};
         ${fence.store}
         COMMIT;
         SELECT @held AS held, @owner AS owner`,
        [
          ...fence.checkValues,
          b.flightNumber,
          b.departureAirportCode,
          b.arrivalAirportCode,
          sqlTime(b.departureTime),
          b.totalCost,
          passengersJson(b.passengers),
          b.seatsToLearn ? 1 : 0,
          b.id,
          ...created.values,
          ...fence.storeValues,
        ],
      )) as unknown[];
      const [row] = results[results.length - 1] as Array<{ held: number | string; owner: number | string }>;
      if (Number(row.held) > 0) return 'held';
      return Number(row.owner) > 0 ? 'not-holding' : 'superseded';
    });
  }

  /**
   * Locks one booking, lets `decide` (pure) choose its new state, and writes that change with its event. Two
   * round trips: lock + read, then write + commit. Returns `decide`'s result.
   */
  async change<T>(
    id: number,
    decide: (b: BookingRecord | undefined) => { change?: BookingChange; result: T },
  ): Promise<T> {
    return this.transaction(async (run) => {
      const lock = lockBookingSql(id);
      const { change, result } = decide(lockedBooking(await run(lock.sql, lock.values)));
      if (change) {
        const write = writeChangeSql(change);
        await run(`${write.sql}; COMMIT`, write.values);
      } else {
        await run('COMMIT');
      }
      return result;
    });
  }

  /** Writes the changes `decide` makes to claimed rows (in id order, so a booking's events keep theirs) and commits. */
  private async commitChanges(
    run: RunSql,
    rows: BookingRecord[],
    decide: (b: BookingRecord) => BookingChange,
  ): Promise<BookingChange[]> {
    const changes = [...rows].sort((x, y) => x.id - y.id).map(decide);
    const write = joinSql([...changes.map(writeChangeSql), { sql: 'COMMIT', values: [] }]);
    await run(write.sql, write.values);
    return changes;
  }

  /**
   * Claims (FOR UPDATE SKIP LOCKED, so replicas take disjoint batches) up to `limit` bookings still HOLDING that
   * were created before `before`, and writes the change `decide` makes to each.
   */
  async claimStaleHolds(
    before: Date,
    limit: number,
    decide: (b: BookingRecord) => BookingChange,
  ): Promise<BookingChange[]> {
    return this.transaction(async (run) => {
      const [, rows] = (await run(
        `START TRANSACTION;
         SELECT ${BOOKING_COLUMNS} FROM bookings
          WHERE seats_state = 'HOLDING' AND status = 'INITIATED' AND created_at <= ?
          ORDER BY id
          LIMIT ?
          FOR UPDATE SKIP LOCKED`,
        [sqlTime(before), limit],
      )) as [unknown, BookingRecord[]];
      if (rows.length === 0) {
        await run('COMMIT');
        return [];
      }
      return this.commitChanges(run, rows.map(toBookingRecord), decide);
    });
  }

  /**
   * Claims up to `limit` due bookings (FOR UPDATE SKIP LOCKED): INITIATED ones past `now` whose seats are decided,
   * then PENDING ones past `now` whose payment attempt started before `abandonedBefore`; writes the change (and
   * event) `decide` makes to each.
   */
  async claimExpired(
    now: Date,
    abandonedBefore: Date,
    limit: number,
    decide: (b: BookingRecord) => BookingChange,
  ): Promise<BookingChange[]> {
    return this.transaction(async (run) => {
      // One query per status, each walking the (status, expires_at) index in order, so LIMIT stops the
      // scan after `limit` rows: with an OR and a filesort InnoDB would lock every match before sorting,
      // and a second sweeper would find everything skipped.
      const claim = async (status: 'INITIATED' | 'PENDING', n: number, first: boolean) => {
        const results = (await run(
          `${first ? 'START TRANSACTION; ' : ''}SELECT ${BOOKING_COLUMNS} FROM bookings
            WHERE status = ? AND expires_at <= ?
              ${status === 'PENDING' ? 'AND updated_at <= ?' : "AND seats_state <> 'HOLDING'"}
            ORDER BY expires_at, id
            LIMIT ?
            FOR UPDATE SKIP LOCKED`,
          [status, sqlTime(now), ...(status === 'PENDING' ? [sqlTime(abandonedBefore)] : []), n],
        )) as unknown[];
        return (first ? results[1] : results) as BookingRecord[];
      };
      const rows = await claim('INITIATED', limit, true);
      if (rows.length < limit) rows.push(...(await claim('PENDING', limit - rows.length, false)));
      if (rows.length === 0) {
        await run('COMMIT');
        return [];
      }
      return this.commitChanges(run, rows.map(toBookingRecord), decide);
    });
  }

  /**
   * Claims up to `limit` bookings whose seat release is pending and whose lease ran out (FOR UPDATE SKIP LOCKED),
   * and moves their lease on to `leaseUntil`, so a release that fails again is not picked twice in one run.
   */
  async claimPendingReleases(now: Date, leaseUntil: Date, limit: number): Promise<SeatsToRelease[]> {
    return this.transaction(async (run) => {
      const [, rows] = (await run(
        `START TRANSACTION;
         SELECT id, flight_id AS flightId FROM bookings
          WHERE seats_state = 'RELEASING' AND release_lease_until <= ?
          ORDER BY release_lease_until, id
          LIMIT ?
          FOR UPDATE SKIP LOCKED`,
        [sqlTime(now), limit],
      )) as [unknown, SeatsToRelease[]];
      if (rows.length === 0) {
        await run('COMMIT');
        return [];
      }
      const claimed = rows.map((r) => ({ id: Number(r.id), flightId: Number(r.flightId) }));
      await run('UPDATE bookings SET release_lease_until = ? WHERE id IN (?); COMMIT', [
        sqlTime(leaseUntil),
        claimed.map((r) => r.id),
      ]);
      return claimed;
    });
  }

  /**
   * RELEASING → RELEASED once flight-service confirmed the release. Seat bookkeeping is internal: it does not
   * move the booking's public updatedAt.
   */
  async markReleased(id: number): Promise<void> {
    // Guarded by its state, so run again whole on a deadlock or a Galera certification abort.
    await retryTransaction(() =>
      withConnection(this.sequelize, (run) =>
        run(
          "UPDATE bookings SET seats_state = 'RELEASED', release_lease_until = NULL WHERE id = ? AND seats_state = 'RELEASING'",
          [id],
        ),
      ),
    );
  }

  /**
   * Claims up to `limit` seat changes whose intent outlived its lease (the request that recorded it died or gave
   * up; FOR UPDATE SKIP LOCKED) and moves the lease on to `leaseUntil`, so each is finished by one sweeper.
   */
  async claimStaleSeatChanges(now: Date, leaseUntil: Date, limit: number): Promise<BookingRecord[]> {
    return this.transaction(async (run) => {
      const [, rows] = (await run(
        `START TRANSACTION;
         SELECT ${BOOKING_COLUMNS} FROM bookings
          WHERE seat_change_lease_until <= ?
          ORDER BY seat_change_lease_until, id
          LIMIT ?
          FOR UPDATE SKIP LOCKED`,
        [sqlTime(now), limit],
      )) as [unknown, BookingRecord[]];
      if (rows.length === 0) {
        await run('COMMIT');
        return [];
      }
      const claimed = rows.map(toBookingRecord);
      await run('UPDATE bookings SET seat_change_lease_until = ? WHERE id IN (?); COMMIT', [
        sqlTime(leaseUntil),
        claimed.map((b) => b.id),
      ]);
      return claimed.map((b) => ({ ...b, seatChange: b.seatChange && { ...b.seatChange, leaseUntil } }));
    });
  }

  /** Bookings (after `afterId`, in id order) whose seat numbers are still to be read back from flight-service. */
  async findSeatsToLearn(afterId: number, limit: number): Promise<SeatsToRelease[]> {
    const rows = (await withConnection(this.sequelize, (run) =>
      run(
        'SELECT id, flight_id AS flightId FROM bookings WHERE seats_to_learn = 1 AND id > ? ORDER BY id LIMIT ?',
        [afterId, limit],
      ),
    )) as SeatsToRelease[];
    return rows.map((r) => ({ id: Number(r.id), flightId: Number(r.flightId) }));
  }
}
