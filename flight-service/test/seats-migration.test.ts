import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createSequelize, dropDatabase, ensureDatabase, migrate } from '@skyway/common';
import { TEST_READ_POOL_MAX, testDbServer, uniquePrefix } from '@skyway/common/testing';
import type { Sequelize } from 'sequelize';

const MIGRATIONS = path.join(__dirname, '..', 'src', 'db', 'migrations');
const SEATS_MIGRATION = '20261201000001-seats.js';
/** The seat's row as an indexed column (what a hold's window of rows reads by). */
const SEAT_ROW_MIGRATION = '20261202000001-flight-seats-row.js';
/** Search indexes that check a price range inside the index (no seat data). */
const PRICE_INDEX_MIGRATION = '20261203000001-flights-search-price-in-index.js';
/** Free seats inside the route + day index, after the seats themselves. */
const SEATS_INDEX_MIGRATION = '20261204000001-flights-route-day-seats-in-index.js';

let db: Sequelize;
const name = `${uniquePrefix('fsmig')}flights`;
let oldDir: string;

beforeAll(async () => {
  await ensureDatabase(testDbServer(), name);
  db = createSequelize(testDbServer(), name, { poolMax: TEST_READ_POOL_MAX });
  // The schema as it was before seats: only the migrations older than the seats one.
  oldDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fs-old-migrations-'));
  for (const f of fs.readdirSync(MIGRATIONS).filter((f) => f.endsWith('.js') && f < SEATS_MIGRATION))
    fs.copyFileSync(path.join(MIGRATIONS, f), path.join(oldDir, f));
});
afterAll(async () => {
  await db.close();
  await dropDatabase(testDbServer(), name);
  fs.rmSync(oldDir, { recursive: true, force: true });
});

const rows = async <T>(sql: string, replacements: unknown[] = []) =>
  ((await db.query(sql, { replacements })) as [T[], unknown])[0];

test('flights and live reservations from before seats migrate with every invariant holding', async () => {
  const applied = await migrate(db, oldDir);
  expect(applied).not.toContain(SEATS_MIGRATION);
  await db.query("INSERT INTO cities (name) VALUES ('Delhi')");
  await db.query(
    "INSERT INTO airports (code, name, cityId) VALUES ('DEL', 'Delhi', 1), ('BOM', 'Mumbai', 1)",
  );
  await db.query("INSERT INTO airplanes (modelNumber, capacity) VALUES ('A320', 180), ('ATR', 20)");
  const flight = (id: number, plane: number, total: number, available: number) =>
    db.query(
      `INSERT INTO flights (id, flightNumber, airplaneId, departureAirportCode, arrivalAirportCode, departureTime,
         arrivalTime, price, totalSeats, availableSeats)
       VALUES (?, ?, ?, 'DEL', 'BOM', '2030-01-01 10:00:00', '2030-01-01 12:00:00', 1000, ?, ?)`,
      { replacements: [id, `SK${id}`, plane, total, available] },
    );
  // Flight 1: 3 live bookings (2 + 4 + 1 seats) and a released one; flight 2 full; flight 3 untouched.
  await flight(1, 1, 10, 3);
  await flight(2, 2, 7, 0);
  await flight(3, 1, 180, 180);
  const reservation = (bookingId: number, flightId: number, seats: number, status: string) =>
    db.query('INSERT INTO seat_reservations (bookingId, flightId, seats, status) VALUES (?, ?, ?, ?)', {
      replacements: [bookingId, flightId, seats, status],
    });
  await reservation(11, 1, 2, 'HELD');
  await reservation(12, 1, 4, 'HELD');
  await reservation(13, 1, 3, 'RELEASED');
  await reservation(14, 1, 0, 'RELEASED'); // a tombstone
  await reservation(15, 1, 1, 'HELD');
  await reservation(21, 2, 7, 'HELD');

  expect(await migrate(db, MIGRATIONS)).toEqual([
    SEATS_MIGRATION,
    SEAT_ROW_MIGRATION,
    PRICE_INDEX_MIGRATION,
    SEATS_INDEX_MIGRATION,
  ]);

  expect(await rows('SELECT id, seatsPerRow FROM airplanes ORDER BY id')).toEqual([
    { id: 1, seatsPerRow: 6 },
    { id: 2, seatsPerRow: 6 },
  ]);
  const seats = await rows<{ flightId: number; seat: string; bookingId: string | number; passenger: number }>(
    'SELECT flightId, seat, bookingId, passenger FROM flight_seats ORDER BY flightId, bookingId, passenger',
  );
  const of = (flightId: number, bookingId: number) =>
    seats.filter((s) => s.flightId === flightId && Number(s.bookingId) === bookingId).map((s) => s.seat);
  // Each live booking keeps exactly its number of seats, together, from the front of the map.
  expect(of(1, 11)).toEqual(['1A', '1B']);
  expect(of(1, 12)).toEqual(['1C', '1D', '1E', '1F']);
  expect(of(1, 15)).toEqual(['2A']);
  expect(of(1, 13)).toEqual([]);
  expect(of(2, 21)).toEqual(['1A', '1B', '1C', '1D', '1E', '1F', '2A']);
  expect(seats.filter((s) => s.flightId === 3)).toEqual([]);
  // Every flight: availableSeats + Σ held = totalSeats, and availableSeats = the free seats on its map.
  const ledger = await rows<{
    id: number;
    totalSeats: number;
    availableSeats: number;
    held: string;
    taken: string;
  }>(
    `SELECT f.id, f.totalSeats, f.availableSeats,
            (SELECT COALESCE(SUM(seats), 0) FROM seat_reservations r WHERE r.flightId = f.id AND r.status = 'HELD') AS held,
            (SELECT COUNT(*) FROM flight_seats s WHERE s.flightId = f.id) AS taken
       FROM flights f ORDER BY f.id`,
  );
  for (const f of ledger) {
    expect(f.availableSeats + Number(f.held)).toBe(f.totalSeats);
    expect(f.availableSeats).toBe(f.totalSeats - Number(f.taken));
  }
  expect(ledger.map((f) => f.availableSeats)).toEqual([3, 0, 180]);
});

test('every seat row knows its row number, the migrated ones and new ones up to four digits', async () => {
  // After the first test: flight 1's and 2's live bookings were seated by the migration.
  const migrated = await rows<{ seat: string; seatRow: number }>('SELECT seat, seatRow FROM flight_seats');
  expect(migrated.length).toBeGreaterThan(0);
  for (const r of migrated) expect(r.seatRow).toBe(Number(r.seat.slice(0, -1)));
  await db.query(
    "INSERT INTO flight_seats (flightId, seat, bookingId, passenger) VALUES (3, '1000A', 99, 0), (3, '9999K', 99, 1), (3, '12C', 99, 2)",
  );
  expect(
    await rows(
      'SELECT seat, seatRow FROM flight_seats WHERE flightId = 3 AND seatRow BETWEEN 12 AND 1000 ORDER BY seatRow',
    ),
  ).toEqual([
    { seat: '12C', seatRow: 12 },
    { seat: '1000A', seatRow: 1000 },
  ]);
});
