import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createSequelize, dropDatabase, ensureDatabase, migrate } from '@skyway/common';
import { TEST_DB_POOL_MAX, testDbServer, uniquePrefix } from '@skyway/common/testing';
import { BookingsStore } from '../src/db/bookings-store';
import type { BookingRecord } from '../src/domain/booking';
import { MIGRATIONS_DIR } from '../src/main';

const SEATS_MIGRATION = '20261201100006-seats-passengers-locators.js';
const LOCATOR = /^[ABCDEFGHJKLMNPQRSTUVWXYZ23456789]{6}$/;
const server = testDbServer();
const name = `${uniquePrefix('bkm')}bookings`;
const db = createSequelize(server, name, { poolMax: TEST_DB_POOL_MAX, multipleStatements: true });

beforeAll(async () => {
  await ensureDatabase(server, name);
  // The schema as it was before seats: every migration up to, not including, this one.
  const before = fs.mkdtempSync(path.join(os.tmpdir(), 'bk-migrations-'));
  for (const f of fs.readdirSync(MIGRATIONS_DIR).filter((f) => f.endsWith('.js') && f < SEATS_MIGRATION)) {
    fs.copyFileSync(path.join(MIGRATIONS_DIR, f), path.join(before, f));
  }
  await migrate(db, before);
});
afterAll(async () => {
  await db.close();
  await dropDatabase(server, name);
});

test('bookings from before seats get unique locators and nameless passengers; live ones are marked to learn their seats', async () => {
  const statuses = ['INITIATED', 'PENDING', 'BOOKED', 'CANCELLED', 'BOOKED', 'CANCELLED'];
  for (const [i, status] of statuses.entries()) {
    await db.query(
      `INSERT INTO bookings (flight_id, user_id, user_email, flight_number, departure_airport_code, arrival_airport_code,
         departure_time, no_of_seats, total_cost, status, cancel_reason, seats_state, expires_at, created_at, updated_at)
       VALUES (1, ?, 'a@b.test', 'SW1', 'DEL', 'BOM', NOW(3) + INTERVAL 1 DAY, ?, 1000, ?, ?, ?, NOW(3), NOW(3), NOW(3))`,
      {
        replacements: [
          10 + i,
          1 + (i % 3),
          status,
          status === 'CANCELLED' ? 'USER' : null,
          status === 'CANCELLED' ? 'RELEASED' : 'HELD',
        ],
      },
    );
  }
  // The seats migration first, then whatever came after it.
  const later = fs.readdirSync(MIGRATIONS_DIR).filter((f) => f.endsWith('.js') && f >= SEATS_MIGRATION);
  expect(await migrate(db, MIGRATIONS_DIR)).toEqual(later.sort());
  const [rows] = (await db.query(
    'SELECT id, no_of_seats, status, locator, passengers, seats_to_learn FROM bookings ORDER BY id',
  )) as [
    Array<{
      no_of_seats: number;
      status: string;
      locator: string;
      passengers: string;
      seats_to_learn: number;
    }>,
    unknown,
  ];
  expect(rows).toHaveLength(statuses.length);
  for (const r of rows) {
    expect(r.locator).toMatch(LOCATOR);
    expect(JSON.parse(r.passengers)).toEqual(
      Array.from({ length: r.no_of_seats }, () => ({ name: null, seat: null })),
    );
    expect([r.status, Number(r.seats_to_learn)]).toEqual([r.status, r.status === 'CANCELLED' ? 0 : 1]);
  }
  expect(new Set(rows.map((r) => r.locator)).size).toBe(rows.length);
});

test('a new booking whose locator is taken draws again (the unique index decides), in a transaction of its own', async () => {
  const store = new BookingsStore(db);
  const now = new Date();
  const record: Omit<BookingRecord, 'id' | 'locator'> = {
    flightId: 2,
    userId: 99,
    userEmail: 'c@d.test',
    flightNumber: 'SW2',
    departureAirportCode: 'DEL',
    arrivalAirportCode: 'BOM',
    departureTime: new Date(now.getTime() + 86_400_000),
    noOfSeats: 1,
    totalCost: 1000,
    status: 'INITIATED',
    cancelReason: null,
    seatsState: 'HOLDING',
    expiresAt: new Date(now.getTime() + 600_000),
    createdAt: now,
    updatedAt: now,
    passengers: [{ name: 'Ana', seat: null }],
    seatsToLearn: false,
    seatChange: null,
  };
  const [[taken]] = (await db.query('SELECT locator FROM bookings ORDER BY id LIMIT 1')) as [
    Array<{ locator: string }>,
    unknown,
  ];
  const draws = [taken.locator, taken.locator, 'ZZ22ZZ'];
  const inserted = await store.insertWithinCaps(
    record,
    { onFlight: 100, total: 100 },
    () => undefined,
    () => draws.shift() as string,
  );
  expect(inserted).toEqual({ id: expect.any(Number), locator: 'ZZ22ZZ' });
  expect(draws).toEqual([]);
  const found = await store.find((inserted as { id: number }).id);
  expect(found).toMatchObject({
    locator: 'ZZ22ZZ',
    passengers: [{ name: 'Ana', seat: null }],
    seatChange: null,
  });
  // The user's lock row and the insert committed together, once.
  const [[{ n }]] = (await db.query('SELECT COUNT(*) AS n FROM bookings WHERE user_id = 99')) as [
    Array<{ n: number }>,
    unknown,
  ];
  expect(Number(n)).toBe(1);
});
