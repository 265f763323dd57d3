import { createSequelize, createLogger, type Logger } from '@skyway/common';
import { testDbServer } from '@skyway/common/testing';
import type { Sequelize } from 'sequelize';
import request from 'supertest';
import { Expiry } from '../src/app/expire';
import { SeatReleaser } from '../src/app/release-seats';
import { FlightClient } from '../src/clients/flight-client';
import { BookingsStore } from '../src/db/bookings-store';
import { Sweeper } from '../src/jobs/sweeper';
import {
  book,
  bookingRows,
  createFlight,
  eventually,
  heldByBooking,
  INTERNAL_TOKEN,
  outboxRows,
  seatLedger,
  startStack,
  user,
  type Stack,
} from './support';

let stack: Stack;
const logger: Logger = createLogger('sweeper-test', 'error');
const replicas: Sequelize[] = [];
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  for (const s of replicas) await s.close();
  await stack.stop();
});

/** A sweeper as another booking-service replica would run it: its own pool, store and flight client. */
function replicaSweeper(batchSize: number): Sweeper {
  const sequelize = createSequelize(testDbServer(), `${stack.prefix}bookings`, {
    poolMax: 10,
    multipleStatements: true,
  });
  replicas.push(sequelize);
  const store = new BookingsStore(sequelize);
  const flights = new FlightClient({
    baseUrls: [stack.flight.url],
    internalToken: INTERNAL_TOKEN,
    timeoutMs: 10_000,
    attempts: 3,
    logger,
  });
  return new Sweeper({
    expiry: new Expiry({
      store,
      batchSize,
      paymentTimeoutSeconds: 30,
      releaseRetrySeconds: 30,
      staleHoldMs: 60_000,
    }),
    releaser: new SeatReleaser(flights, store, logger),
    logger,
    onEvents: () => undefined,
  });
}

async function bookMany(flightId: number, count: number): Promise<number[]> {
  const ids: number[] = [];
  for (let start = 0; start < count; start += 20) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(20, count - start) }, (_, i) =>
        stack
          .http()
          .post('/api/v1/bookings')
          .set(user(300 + ((start + i) % 25)))
          .send({ flightId, noOfSeats: 1 })
          .expect(201),
      ),
    );
    ids.push(...batch.map((r) => r.body.id as number));
  }
  return ids;
}

test('two sweepers running at once over 200 expired bookings split the work; each booking is released once', async () => {
  const flight = await createFlight(stack, 200);
  const ids = await bookMany(flight.id, 200);
  expect(await seatLedger(stack, flight.id)).toEqual({ available: 0, total: 200, held: 200 });
  await stack.bookingsDb.query(
    'UPDATE bookings SET expires_at = NOW(3) - INTERVAL 1 SECOND WHERE flight_id = ?',
    {
      replacements: [flight.id],
    },
  );

  const sweepers = [replicaSweeper(10), replicaSweeper(10)];
  // Both pools connected first, so neither sweeper is done before the other has its first connection.
  await Promise.all(replicas.map((db) => Promise.all([db.query('SELECT 1'), db.query('SELECT 1')])));
  const [a, b] = await Promise.all(sweepers.map((s) => s.runOnce()));

  // Really split: both took some, none was taken twice, together they took all.
  expect(a.expired.length).toBeGreaterThan(0);
  expect(b.expired.length).toBeGreaterThan(0);
  expect(a.expired.filter((id) => b.expired.includes(id))).toEqual([]);
  expect([...a.expired, ...b.expired].sort((x, y) => x - y)).toEqual([...ids].sort((x, y) => x - y));
  expect(a.released.filter((id) => b.released.includes(id))).toEqual([]);
  expect(a.released.length + b.released.length).toBe(200);

  expect(await seatLedger(stack, flight.id)).toEqual({ available: 200, total: 200, held: 0 });
  expect((await heldByBooking(stack, flight.id)).size).toBe(0);
  const rows = await bookingRows(stack, 'flight_id = ?', [flight.id]);
  expect(
    rows.every(
      (r) => r.status === 'CANCELLED' && r.cancel_reason === 'EXPIRED' && r.seats_state === 'RELEASED',
    ),
  ).toBe(true);
  const expiredEvents = (await outboxRows(stack)).filter((e) => e.type === 'booking.expired');
  const perBooking = new Map<number, number>();
  for (const e of expiredEvents)
    perBooking.set(Number(e.booking_id), (perBooking.get(Number(e.booking_id)) ?? 0) + 1);
  expect(ids.every((id) => perBooking.get(id) === 1)).toBe(true);
  const payload = JSON.parse(expiredEvents[0].payload);
  expect(payload.data).toMatchObject({ status: 'CANCELLED', previousStatus: 'INITIATED' });

  // A later run finds nothing left to do.
  expect(await replicaSweeper(10).runOnce()).toEqual({ expired: [], released: [] });
});

test('a PENDING booking past expiresAt is left alone while its payment may still run, then expired', async () => {
  const flight = await createFlight(stack, 5);
  const res = await book(stack, 400, { flightId: flight.id, noOfSeats: 2 }).expect(201);
  const id = res.body.id as number;
  await stack.bookingsDb.query(
    "UPDATE bookings SET status = 'PENDING', expires_at = NOW(3) - INTERVAL 1 SECOND, updated_at = NOW(3) WHERE id = ?",
    { replacements: [id] },
  );
  const sweeper = replicaSweeper(10);
  expect((await sweeper.runOnce()).expired).not.toContain(id);
  await stack.bookingsDb.query('UPDATE bookings SET updated_at = NOW(3) - INTERVAL 31 SECOND WHERE id = ?', {
    replacements: [id],
  });
  expect((await sweeper.runOnce()).expired).toEqual([id]);
  expect(await seatLedger(stack, flight.id)).toEqual({ available: 5, total: 5, held: 0 });
  const [row] = await bookingRows(stack, 'id = ?', [id]);
  expect(row).toMatchObject({ status: 'CANCELLED', cancel_reason: 'EXPIRED', seats_state: 'RELEASED' });
});

test('on its cron schedule the sweeper expires unpaid bookings after BOOKING_TTL_SECONDS and gives the seats back', async () => {
  const fast = await stack.startBooking({ BOOKING_TTL_SECONDS: '1', SWEEPER_CRON: '* * * * * *' });
  const flight = await createFlight(stack, 4);
  const res = await request(fast.url)
    .post('/api/v1/bookings')
    .set(user(401))
    .send({ flightId: flight.id, noOfSeats: 3 });
  expect(res.status).toBe(201);
  expect((await seatLedger(stack, flight.id)).available).toBe(1);
  const expired = await eventually(async () => {
    const r = await request(fast.url).get(`/api/v1/bookings/${res.body.id}`).set(user(401));
    return r.body.status === 'CANCELLED' && r.body;
  });
  expect(expired.cancelReason).toBe('EXPIRED');
  await eventually(async () => (await seatLedger(stack, flight.id)).available === 4);
  expect(await seatLedger(stack, flight.id)).toEqual({ available: 4, total: 4, held: 0 });
  await fast.close();
});
