import fs from 'node:fs';
import path from 'node:path';
import amqp, { type Channel, type ChannelModel, type GetMessage } from 'amqplib';
import request, { type Test } from 'supertest';
import type { Sequelize } from 'sequelize';
import {
  amqpName,
  bootstrapDatabase,
  bookingEventSchema,
  createSequelize,
  EVENTS_EXCHANGE,
  resetTransactionRetries,
  transactionRetries,
  type BookingEvent,
  type RunningService,
} from '@skyway/common';
import { TEST_DB_POOL_MAX, uniquePrefix } from '@skyway/common/testing';
import { startGaleraCluster, type GaleraCluster, type GaleraNode } from '@skyway/common/testing/galera';
import { startFlightService } from '@skyway/testkit';
import { SimulatedPaymentProvider } from '../src/domain/payment-provider';
import { MIGRATIONS_DIR, startBookingService, type RunningBookingService } from '../src/main';
import {
  AMQP_URL,
  bookingRows,
  eventually,
  expectEveryLiveBookingHoldsItsSeats,
  expectProblem,
  heldByBooking,
  INTERNAL_TOKEN,
  NEVER,
  seatLedger,
  user,
  type Stack,
} from './support';
import { expectSeatsConsistent } from './seats-support';

/**
 * CONTRACT "Beyond one machine": booking-service keeps every promise on a MariaDB Galera cluster, with two
 * booking-service and two flight-service processes each on another node. Row locks are local to a node there: two
 * nodes' transactions on one row both get their lock and the cluster aborts the later one at commit (1213), which
 * must be retried whole. Every invariant is read on node 3, which no service uses, after `wsrep_sync_wait`.
 */

let cluster: GaleraCluster;
let prefix: string;
let amqpPrefix: string;
const flights: RunningService[] = [];
const bookings: RunningBookingService[] = [];
const closed = new Set<RunningService>();
const provider = new SimulatedPaymentProvider();
/** Readers on node 3, one connection each, so the session's `wsrep_sync_wait` covers every read. */
let view: Pick<Stack, 'flightsDb' | 'bookingsDb'>;
let amqpConn: ChannelModel;
let ch: Channel;
let queue: string;
let a: RunningBookingService; // booking-service #1 on node 1 (ran the migrations)
let b: RunningBookingService; // booking-service #2 on node 2
let flightAdmin: () => ReturnType<typeof request>;

const dbEnv = (node: GaleraNode) => ({
  DB_HOST: node.server.DB_HOST,
  DB_PORT: String(node.port),
  DB_USER: node.server.DB_USER,
  DB_PASSWORD: node.server.DB_PASSWORD,
  DB_NAME_PREFIX: prefix,
  DB_POOL_MAX: String(TEST_DB_POOL_MAX),
});

async function startFlight(node: GaleraNode, extra: NodeJS.ProcessEnv = {}) {
  const s = await startFlightService({
    ...process.env,
    NODE_ENV: 'test',
    LOG_LEVEL: 'error',
    ...dbEnv(node),
    FLIGHT_SERVICE_PORT: '0',
    INTERNAL_TOKEN,
    ...extra,
  });
  flights.push(s);
  return s;
}

async function startBooking(node: GaleraNode, flightUrls: string[], extra: NodeJS.ProcessEnv = {}) {
  const s = await startBookingService(
    {
      ...process.env,
      NODE_ENV: 'test',
      LOG_LEVEL: 'error',
      ...dbEnv(node),
      BOOKING_SERVICE_PORT: '0',
      INTERNAL_TOKEN,
      FLIGHT_SERVICE_URL: flightUrls.join(','),
      AMQP_URL,
      AMQP_NAME_PREFIX: amqpPrefix,
      SWEEPER_CRON: NEVER,
      SWEEPER_BATCH_SIZE: '10',
      OUTBOX_RELAY_INTERVAL_MS: '200',
      ...extra,
    },
    { paymentProvider: provider },
  );
  bookings.push(s);
  return s;
}

async function closeOnce(s: RunningService) {
  if (closed.has(s)) return;
  closed.add(s);
  await s.close();
}

/** Makes node 3 apply everything the cluster committed before each read on these readers. */
async function synced(): Promise<typeof view> {
  await view.flightsDb.query('SET SESSION wsrep_sync_wait = 1');
  await view.bookingsDb.query('SET SESSION wsrep_sync_wait = 1');
  return view;
}
/** support.ts's table checks take a Stack but read only its two databases. */
const asStack = (v: typeof view) => v as Stack;

const countBy = (statuses: number[]) =>
  statuses.reduce<Record<number, number>>((acc, s) => ({ ...acc, [s]: (acc[s] ?? 0) + 1 }), {});

const ADMIN = user(1, 'admin');
let flightSeq = 0;
let catalog: Promise<number> | undefined;

/** A flight created through flight-service #1, applied on every node before it is used. */
async function createFlight(totalSeats: number, price = 450_000) {
  catalog ??= (async () => {
    const city = await flightAdmin()
      .post('/api/v1/cities')
      .set(ADMIN)
      .send({ name: 'Galera City' })
      .expect(201);
    for (const code of ['DEL', 'BOM'])
      await flightAdmin()
        .post('/api/v1/airports')
        .set(ADMIN)
        .send({ code, name: `${code} Airport`, cityId: city.body.id })
        .expect(201);
    const plane = await flightAdmin()
      .post('/api/v1/airplanes')
      .set(ADMIN)
      .send({ modelNumber: 'A321', capacity: 1000 })
      .expect(201);
    return plane.body.id as number;
  })();
  const airplaneId = await catalog;
  flightSeq += 1;
  const departure = new Date(Date.now() + 7 * 86_400_000);
  const res = await flightAdmin()
    .post('/api/v1/flights')
    .set(ADMIN)
    .send({
      flightNumber: `GL${flightSeq}`,
      airplaneId,
      departureAirportCode: 'DEL',
      arrivalAirportCode: 'BOM',
      departureTime: departure.toISOString(),
      arrivalTime: new Date(departure.getTime() + 2 * 3600_000).toISOString(),
      price,
      totalSeats,
    })
    .expect(201);
  expect(await seatLedger(asStack(await synced()), res.body.id)).toEqual({
    available: totalSeats,
    total: totalSeats,
    held: 0,
  });
  return res.body as { id: number; totalSeats: number };
}

const replica = (i: number) => (i % 2 ? b : a);
const book = (s: RunningBookingService, userId: number, body: object, key?: string) => {
  const req = request(s.url).post('/api/v1/bookings').set(user(userId));
  if (key !== undefined) req.set('Idempotency-Key', key);
  return req.send(body);
};
const pay = (s: RunningBookingService, userId: number, body: object, key: string) =>
  request(s.url).post('/api/v1/payments').set(user(userId)).set('Idempotency-Key', key).send(body);

async function clusterCounters() {
  const out: Record<string, string> = {};
  for (const node of cluster.nodes) {
    const s = await cluster.status(node).catch(() => undefined);
    if (!s) {
      out[`node${node.index}`] = 'down';
      continue;
    }
    out[`node${node.index}`] =
      `cert failures ${s.wsrep_local_cert_failures}, bf aborts ${s.wsrep_local_bf_aborts}, ` +
      `cluster size ${s.wsrep_cluster_size}, ${s.wsrep_local_state_comment}`;
  }
  return out;
}

/** The certification aborts (and lock waits) both booking-service processes retried, as one line. */
async function report(what: string, ms: number) {
  const r = transactionRetries();
  console.log(
    `galera booking: ${what} in ${ms} ms; retried ${r.deadlock} deadlocks/certification aborts (1213), ` +
      `${r.lockWait} lock wait timeouts (1205), gave up ${r.gaveUp} times (sum over the 4 in-process services)`,
    await clusterCounters(),
  );
  return r;
}

async function count(db: Sequelize, sql: string, replacements: unknown[]) {
  const [[row]] = (await db.query(sql, { replacements })) as [Array<{ n: number | string }>, unknown];
  return Number(row.n);
}

/**
 * The booking was charged once, as every node sees it: one SUCCEEDED payment row, one charge at the provider, the
 * booking BOOKED and one booking.confirmed event in its outbox.
 */
async function expectChargedOnce(bookingId: number): Promise<void> {
  const v = await synced();
  const [payments] = (await v.bookingsDb.query('SELECT status FROM payments WHERE booking_id = ?', {
    replacements: [bookingId],
  })) as [Array<{ status: string }>, unknown];
  expect(payments.map((p) => p.status)).toEqual(['SUCCEEDED']);
  expect(provider.charges.filter((c) => c.bookingId === bookingId)).toHaveLength(1);
  const [row] = await bookingRows(asStack(v), 'id = ?', [bookingId]);
  expect(row.status).toBe('BOOKED');
  expect(
    await count(
      v.bookingsDb,
      "SELECT COUNT(*) AS n FROM outbox_events WHERE booking_id = ? AND type = 'booking.confirmed'",
      [bookingId],
    ),
  ).toBe(1);
}

const started = Date.now();

beforeAll(async () => {
  cluster = await startGaleraCluster({ size: 3 });
  prefix = uniquePrefix('galbk');
  amqpPrefix = `test.${prefix}`;
  amqpConn = await amqp.connect(AMQP_URL);
  ch = await amqpConn.createChannel();
  const exchange = amqpName(amqpPrefix, EVENTS_EXCHANGE);
  await ch.assertExchange(exchange, 'topic', { durable: true });
  queue = amqpName(amqpPrefix, 'test.booking-events');
  await ch.assertQueue(queue, { durable: false });
  await ch.bindQueue(queue, exchange, 'booking.*');

  const [n1, n2, n3] = cluster.nodes;
  // One instance of each service migrates first; its second replica starts after it without migrating (the
  // concurrent-migration case is tested below on databases of its own).
  const fa = await startFlight(n1);
  const fb = await startFlight(n2, { MIGRATE_ON_START: 'false' });
  flightAdmin = () => request(fa.url);
  a = await startBooking(n1, [fa.url, fb.url]);
  b = await startBooking(n2, [fb.url, fa.url], { MIGRATE_ON_START: 'false' });
  view = {
    flightsDb: createSequelize(n3.server, `${prefix}flights`, { poolMax: 1 }),
    bookingsDb: createSequelize(n3.server, `${prefix}bookings`, { poolMax: 1 }),
  };
  console.log(
    `galera booking: 3-node cluster Synced in ${cluster.startupMs} ms; 2 flight + 2 booking services up after ` +
      `${Date.now() - started} ms`,
  );
}, 180_000);

afterAll(async () => {
  for (const s of [...bookings, ...flights]) await closeOnce(s).catch(() => undefined);
  await view?.flightsDb.close().catch(() => undefined);
  await view?.bookingsDb.close().catch(() => undefined);
  if (ch) {
    await ch.deleteQueue(queue).catch(() => undefined);
    await ch.deleteExchange(amqpName(amqpPrefix, EVENTS_EXCHANGE)).catch(() => undefined);
  }
  await amqpConn?.close().catch(() => undefined);
  await cluster?.stop();
  console.log(`galera booking: whole file took ${Date.now() - started} ms`);
}, 60_000);

describe('booking-service on a 3-node Galera cluster, two replicas of each service on different nodes', () => {
  test('last-seat race: 60 concurrent bookings for 10 seats over both replicas → 10 × 201, 50 × 409, no oversell', async () => {
    const flight = await createFlight(10);
    resetTransactionRetries();
    const t0 = Date.now();
    const responses = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        book(replica(i), 100 + (i % 20), { flightId: flight.id, noOfSeats: 1 }),
      ),
    );
    const statuses = countBy(responses.map((r) => r.status));
    await report(`60 bookings for 10 seats: ${JSON.stringify(statuses)}`, Date.now() - t0);
    expect(
      responses.filter((r) => r.status !== 201 && r.status !== 409).map((r) => `${r.status} ${r.text}`),
    ).toEqual([]);
    expect(statuses).toEqual({ 201: 10, 409: 50 });
    for (const r of responses.filter((x) => x.status === 409)) expectProblem(r, 409);

    const v = asStack(await synced());
    expect(await seatLedger(v, flight.id)).toEqual({ available: 0, total: 10, held: 10 });
    const live = await expectEveryLiveBookingHoldsItsSeats(v, flight.id);
    const rows = await bookingRows(v, 'flight_id = ?', [flight.id]);
    const initiated = rows.filter((r) => r.status === 'INITIATED');
    expect(initiated.map((r) => r.id)).toEqual(live.map((r) => r.id));
    expect(initiated.every((r) => r.seats_state === 'HELD')).toBe(true);
    expect(rows.filter((r) => r.status !== 'INITIATED').map((r) => [r.status, r.seats_state])).toEqual(
      Array.from({ length: rows.length - 10 }, () => ['CANCELLED', 'RELEASED']),
    );
    expect(new Set(responses.filter((r) => r.status === 201).map((r) => r.body.id))).toEqual(
      new Set(initiated.map((r) => r.id)),
    );
  }, 120_000);

  test('payment storm: 10 concurrent payments under one key over both replicas → one charge, every answer the first or a 409', async () => {
    const flight = await createFlight(5);
    // Booked through replica 1, paid at once through both: the payment on node 2 must see the booking.
    const booking = await book(a, 200, { flightId: flight.id, noOfSeats: 2 }).expect(201);
    const body = { bookingId: booking.body.id, amount: booking.body.totalCost };
    resetTransactionRetries();
    const t0 = Date.now();
    const responses = await Promise.all(
      Array.from({ length: 10 }, (_, i) => pay(replica(i + 1), 200, body, 'storm')),
    );
    await report(
      `10 payments, one key: ${JSON.stringify(countBy(responses.map((r) => r.status)))}`,
      Date.now() - t0,
    );
    expect(
      responses.filter((r) => r.status !== 201 && r.status !== 409).map((r) => `${r.status} ${r.text}`),
    ).toEqual([]);
    const created = responses.filter((r) => r.status === 201);
    const original = created.filter((r) => r.headers['idempotent-replayed'] === undefined);
    expect(original).toHaveLength(1);
    for (const r of created) expect(r.text).toBe(original[0].text);
    for (const r of responses.filter((x) => x.status === 409)) expectProblem(r, 409);

    // Every later retry with the key, through either replica, is the stored first answer.
    for (const s of [a, b]) {
      const later = await pay(s, 200, body, 'storm');
      expect([later.status, later.headers['idempotent-replayed'], later.text]).toEqual([
        201,
        'true',
        original[0].text,
      ]);
    }

    await expectChargedOnce(booking.body.id);
  }, 120_000);

  test('payment storm: 10 concurrent payments with 10 different keys for one booking over both replicas → one charge', async () => {
    const flight = await createFlight(5);
    const booking = await book(b, 201, { flightId: flight.id, noOfSeats: 1 }).expect(201);
    const body = { bookingId: booking.body.id, amount: booking.body.totalCost };
    resetTransactionRetries();
    const t0 = Date.now();
    const responses = await Promise.all(
      Array.from({ length: 10 }, (_, i) => pay(replica(i), 201, body, `key-${i}`)),
    );
    const statuses = countBy(responses.map((r) => r.status));
    await report(`10 payments, 10 keys: ${JSON.stringify(statuses)}`, Date.now() - t0);
    expect(statuses).toEqual({ 201: 1, 409: 9 });
    for (const r of responses.filter((x) => x.status === 409)) expectProblem(r, 409);

    await expectChargedOnce(booking.body.id);
  }, 120_000);

  test('idempotency claim: 20 concurrent booking POSTs with one key over both replicas → one booking, seats held once', async () => {
    const flight = await createFlight(10);
    resetTransactionRetries();
    const t0 = Date.now();
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        book(replica(i), 250, { flightId: flight.id, noOfSeats: 2 }, 'one-booking'),
      ),
    );
    await report(
      `20 booking POSTs, one key: ${JSON.stringify(countBy(responses.map((r) => r.status)))}`,
      Date.now() - t0,
    );
    expect(
      responses.filter((r) => r.status !== 201 && r.status !== 409).map((r) => `${r.status} ${r.text}`),
    ).toEqual([]);
    const created = responses.filter((r) => r.status === 201);
    const original = created.filter((r) => r.headers['idempotent-replayed'] === undefined);
    expect(original).toHaveLength(1);
    for (const r of created) expect(r.text).toBe(original[0].text);
    for (const r of responses.filter((x) => x.status === 409)) expectProblem(r, 409);

    const v = asStack(await synced());
    const rows = await bookingRows(v, 'flight_id = ?', [flight.id]);
    expect(rows.map((r) => [r.id, r.status, r.seats_state])).toEqual([
      [original[0].body.id, 'INITIATED', 'HELD'],
    ]);
    expect(await seatLedger(v, flight.id)).toEqual({ available: 8, total: 10, held: 2 });
    expect([...(await heldByBooking(v, flight.id))]).toEqual([[original[0].body.id, 2]]);
  }, 120_000);

  // seats-concurrency.test.ts's mixed storm, through both replicas: every seat write (hold, change, release) is a
  // transaction on one flight row and its flight_seats rows, and the two nodes' writes certify against each other.
  test('mixed seat storm over both replicas: chosen and auto seats, seat changes, cancels, two sweepers — no seat twice, map = live bookings', async () => {
    // 240 seats (40 rows of 6): bookings choose seats in rows 1–8; seat changes go to rows 9–40, each to seats no
    // other change asks for, so they compete with auto-assigned parties (placed at random among equally good seats,
    // on both nodes), not with each other. On 72 seats those parties could take every change's seats first.
    const SEATS = 240;
    const flight = await createFlight(SEATS);
    const LETTERS = 'ABCDEF';
    const all = Array.from({ length: SEATS }, (_, i) => `${Math.floor(i / 6) + 1}${LETTERS[i % 6]}`);
    const pick = <T>(xs: T[]) => xs[Math.floor(Math.random() * xs.length)];
    const front = all.slice(0, 48);
    const back = all.slice(48);
    resetTransactionRetries();
    const t0 = Date.now();
    const first = await Promise.all(
      Array.from({ length: 16 }, (_, i) =>
        book(
          replica(i),
          4000 + i,
          i % 2 === 0
            ? { flightId: flight.id, passengers: [{ name: 'Chosen One', seat: pick(front) }] }
            : { flightId: flight.id, noOfSeats: 1 + (i % 4) },
        ),
      ),
    );
    expect(first.filter((r) => r.status !== 201 && r.status !== 409).map((r) => r.text)).toEqual([]);
    const made = first
      .filter((r) => r.status === 201)
      .map((r) => r.body as { id: number; userId: number; noOfSeats: number; totalCost: number });
    expect(made.length).toBeGreaterThan(8);
    // Three are paid through the other replica (seat changes of BOOKED bookings), two will expire.
    for (const [i, bk] of made.slice(0, 3).entries())
      await pay(
        replica(i + 1),
        bk.userId,
        { bookingId: bk.id, amount: bk.totalCost },
        `seat-storm-${bk.id}`,
      ).expect(201);
    const toExpire = made.slice(3, 5).map((bk) => bk.id);
    await (
      await synced()
    ).bookingsDb.query('UPDATE bookings SET expires_at = NOW(3) - INTERVAL 1 SECOND WHERE id IN (?)', {
      replacements: [toExpire],
    });

    const storm: Array<Promise<{ status: number; text?: string }>> = [];
    for (let i = 0; i < 12; i++)
      storm.push(
        book(
          replica(i),
          4100 + i,
          i % 3 === 0
            ? { flightId: flight.id, passengers: [{ name: 'A B', seat: pick(front) }, { name: 'C D' }] }
            : { flightId: flight.id, noOfSeats: 1 + (i % 4) },
        ),
      );
    for (const [i, bk] of made.slice(5, 8).entries())
      storm.push(request(replica(i).url).post(`/api/v1/bookings/${bk.id}/cancel`).set(user(bk.userId)));
    // Only back-row seats still free when the storm starts (auto-assigned parties of the first wave may sit there).
    const [takenRows] = (await (
      await synced()
    ).flightsDb.query('SELECT seat FROM flight_seats WHERE flightId = ?', { replacements: [flight.id] })) as [
      Array<{ seat: string }>,
      unknown,
    ];
    const taken = new Set(takenRows.map((r) => r.seat));
    const targets = back.filter((s) => !taken.has(s)).sort(() => Math.random() - 0.5);
    // Each change gets seats of its own while enough are left (a booking without enough changes nothing).
    const changes: Test[] = [];
    for (const bk of [...made.slice(0, 3), ...made.slice(8)]) {
      if (targets.length < bk.noOfSeats) continue;
      changes.push(
        request(replica(changes.length).url)
          .put(`/api/v1/bookings/${bk.id}/seats`)
          .set(user(bk.userId))
          .send({ seats: targets.splice(0, bk.noOfSeats) }),
      );
    }
    storm.push(...changes);
    const sweeps = Promise.all([a.sweeper.runOnce(), b.sweeper.runOnce()]);
    const results = await Promise.all(storm);
    await sweeps;
    const changed = (await Promise.all(changes)).filter((r) => r.status === 200).length;
    await report(
      `mixed seat storm: ${made.length} bookings, then ${JSON.stringify(countBy(results.map((r) => r.status)))} ` +
        `(${changed} of ${changes.length} seat changes applied)`,
      Date.now() - t0,
    );
    expect(
      results.filter((r) => ![200, 201, 409].includes(r.status)).map((r) => `${r.status} ${r.text}`),
    ).toEqual([]);
    expect(changed).toBeGreaterThan(0);
    await Promise.all([a.sweeper.runOnce(), b.sweeper.runOnce()]);

    const v = await synced();
    const seats = { ...v, flightHttp: () => request(flights[0].url) } as Stack;
    const expired = await bookingRows(seats, 'id IN (?)', [toExpire]);
    expect(expired.map((bk) => [bk.status, bk.cancel_reason, bk.seats_state])).toEqual(
      toExpire.map(() => ['CANCELLED', 'EXPIRED', 'RELEASED']),
    );
    // Checked in booking-service's bookings and passengers, flight-service's flight_seats and reservations, the
    // public seat map and the flight's availableSeats.
    const { bySeat, live, map } = await expectSeatsConsistent(seats, flight.id);
    const liveSeats = live.reduce((n, bk) => n + bk.no_of_seats, 0);
    expect(bySeat.size).toBe(liveSeats);
    expect(map.availableSeats).toBe(SEATS - liveSeats);
    const gone = await bookingRows(seats, "flight_id = ? AND status = 'CANCELLED'", [flight.id]);
    expect(gone.every((bk) => bk.seats_state === 'RELEASED')).toBe(true);
  }, 120_000);

  // A client behind a load balancer books through one replica and reads or pays through the other at once.
  test('read-your-writes across nodes: a booking made through node 1 is seen at once through node 2, 40 times', async () => {
    const flight = await createFlight(41);
    // First with node 2's applier held back, so the read cannot win a race: node 2's replica waits until its node
    // has the booking and answers 200 (never a 404 for a booking that exists). The booking is made through a
    // replica whose only flight-service is node 1's (node 2 takes no writes while it is held).
    const onNode1 = await startBooking(cluster.nodes[0], [flights[0].url], { MIGRATE_ON_START: 'false' });
    const release = await cluster.holdApplier(cluster.nodes[1]);
    try {
      const made = await book(onNode1, 499, { flightId: flight.id, noOfSeats: 1 }).expect(201);
      let released = false;
      const seen = request(b.url)
        .get(`/api/v1/bookings/${made.body.id}`)
        .set(user(499))
        .then((r) => ({ status: r.status, bookingStatus: r.body.status, beforeRelease: !released }));
      await new Promise((resolve) => setTimeout(resolve, 1000));
      released = true;
      await release();
      expect(await seen).toEqual({ status: 200, bookingStatus: 'INITIATED', beforeRelease: false });
    } finally {
      await release();
      await closeOnce(onNode1);
    }
    const misses: string[] = [];
    for (let i = 0; i < 40; i++) {
      const [from, to] = i % 2 ? [b, a] : [a, b];
      const made = await book(from, 500 + i, { flightId: flight.id, noOfSeats: 1 }).expect(201);
      const seen = await request(to.url)
        .get(`/api/v1/bookings/${made.body.id}`)
        .set(user(500 + i));
      if (seen.status !== 200 || seen.body.status !== 'INITIATED')
        misses.push(`GET ${seen.status} ${seen.text}`);
      const paid = await pay(
        to,
        500 + i,
        { bookingId: made.body.id, amount: made.body.totalCost },
        `ryw-${i}`,
      );
      if (paid.status !== 201) misses.push(`pay ${paid.status} ${paid.text}`);
      const after = await request(from.url)
        .get(`/api/v1/bookings/${made.body.id}`)
        .set(user(500 + i));
      if (after.body.status !== 'BOOKED') misses.push(`GET after pay ${after.status} ${after.text}`);
    }
    expect(misses).toEqual([]);
  }, 120_000);

  test('two sweepers on two nodes over 200 expired bookings: each expired once, one event each, every seat back once', async () => {
    const flight = await createFlight(200);
    const ids: number[] = [];
    for (let start = 0; start < 200; start += 20) {
      const batch = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          book(replica(start + i), 1000 + start + i, { flightId: flight.id, noOfSeats: 1 }).expect(201),
        ),
      );
      ids.push(...batch.map((r) => r.body.id as number));
    }
    const v = await synced();
    expect(await seatLedger(asStack(v), flight.id)).toEqual({ available: 0, total: 200, held: 200 });
    await v.bookingsDb.query(
      'UPDATE bookings SET expires_at = NOW(3) - INTERVAL 1 SECOND WHERE flight_id = ?',
      {
        replacements: [flight.id],
      },
    );

    resetTransactionRetries();
    const t0 = Date.now();
    const [ra, rb] = await Promise.all([a.sweeper.runOnce(), b.sweeper.runOnce()]);
    await report(
      `two sweepers over 200 expired bookings: ${ra.expired.length} + ${rb.expired.length} expired, ` +
        `${ra.released.length} + ${rb.released.length} released`,
      Date.now() - t0,
    );
    const after = await synced();
    expect(await seatLedger(asStack(after), flight.id)).toEqual({ available: 200, total: 200, held: 0 });
    expect((await heldByBooking(asStack(after), flight.id)).size).toBe(0);
    const rows = await bookingRows(asStack(after), 'flight_id = ?', [flight.id]);
    expect(
      rows.filter(
        (r) => r.status !== 'CANCELLED' || r.cancel_reason !== 'EXPIRED' || r.seats_state !== 'RELEASED',
      ),
    ).toEqual([]);
    expect(rows).toHaveLength(200);
    const [events] = (await after.bookingsDb.query(
      `SELECT e.booking_id AS id, COUNT(*) AS n FROM outbox_events e JOIN bookings bk ON bk.id = e.booking_id
        WHERE bk.flight_id = ? AND e.type = 'booking.expired' GROUP BY e.booking_id`,
      { replacements: [flight.id] },
    )) as [Array<{ id: number; n: number | string }>, unknown];
    expect(events).toHaveLength(200);
    expect(events.filter((e) => Number(e.n) !== 1)).toEqual([]);
    // Each sweeper reports only what it expired: no booking is reported by both.
    expect(ra.expired.filter((id) => rb.expired.includes(id))).toEqual([]);
    expect([...ra.expired, ...rb.expired].sort((x, y) => x - y)).toEqual([...ids].sort((x, y) => x - y));
    expect(ra.released.filter((id) => rb.released.includes(id))).toEqual([]);
    expect(ra.released.length + rb.released.length).toBe(200);
    // Nothing is left for a third run.
    expect(await a.sweeper.runOnce()).toEqual({ expired: [], released: [] });
  }, 180_000);

  test('the outbox relay on the cluster: every event of this file published once, in order per booking, across a lease hand-over to node 3', async () => {
    // Booked on one replica, paid on the other: created and confirmed are written through different nodes.
    const flight = await createFlight(30);
    const paid = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const bk = await book(replica(i), 3000 + i, { flightId: flight.id, noOfSeats: 1 }).expect(201);
        await pay(
          replica(i + 1),
          3000 + i,
          { bookingId: bk.body.id, amount: bk.body.totalCost },
          `relay-${i}`,
        ).expect(201);
        return bk.body.id as number;
      }),
    );
    // A third replica on node 3; then both first replicas stop (giving the lease up) and it relays the rest.
    const c = await startBooking(cluster.nodes[2], [flights[0].url, flights[1].url], {
      MIGRATE_ON_START: 'false',
    });
    await closeOnce(a);
    await closeOnce(b);
    await Promise.all(
      paid.map((id, i) =>
        request(c.url)
          .post(`/api/v1/bookings/${id}/cancel`)
          .set(user(3000 + i))
          .expect(200),
      ),
    );

    const v = await synced();
    await eventually(
      async () =>
        (await count(
          v.bookingsDb,
          'SELECT COUNT(*) AS n FROM outbox_events WHERE published_at IS NULL',
          [],
        )) === 0,
      30_000,
      'every outbox row published',
    );
    await new Promise((r) => setTimeout(r, 1000)); // a duplicate gets every chance to arrive before counting
    const messages: BookingEvent[] = [];
    for (let m: GetMessage | false; (m = await ch.get(queue, { noAck: true }));)
      messages.push(bookingEventSchema.parse(JSON.parse(m.content.toString('utf8'))));
    const [rows] = (await v.bookingsDb.query(
      'SELECT event_id AS eventId, booking_id AS bookingId, type FROM outbox_events ORDER BY id',
    )) as [Array<{ eventId: string; bookingId: number; type: string }>, unknown];
    console.log(`galera booking: ${rows.length} outbox rows, ${messages.length} messages received`);

    const seen = new Map<string, number>();
    for (const m of messages) seen.set(m.eventId, (seen.get(m.eventId) ?? 0) + 1);
    expect([...seen].filter(([, n]) => n !== 1)).toEqual([]);
    expect(new Set(messages.map((m) => m.eventId))).toEqual(new Set(rows.map((r) => r.eventId)));
    // Per booking, the messages arrive in the order the outbox recorded them.
    const order = (list: Array<{ eventId: string; bookingId: number }>) => {
      const per = new Map<number, string[]>();
      for (const e of list)
        per.set(Number(e.bookingId), [...(per.get(Number(e.bookingId)) ?? []), e.eventId]);
      return per;
    };
    expect(order(messages.map((m) => ({ eventId: m.eventId, bookingId: m.data.bookingId })))).toEqual(
      order(rows),
    );
    for (const id of paid)
      expect(messages.filter((m) => m.data.bookingId === id).map((m) => m.type)).toEqual([
        'booking.created',
        'booking.confirmed',
        'booking.cancelled',
      ]);
  }, 120_000);

  test('two replicas migrating at once on two nodes; then every table of every service has a PRIMARY KEY', async () => {
    const repo = path.join(__dirname, '..', '..');
    const services: Record<string, string> = {
      flights: path.join(repo, 'flight-service', 'src', 'db', 'migrations'),
      bookings: MIGRATIONS_DIR,
      gateway: path.join(repo, 'api-gateway', 'src', 'db', 'migrations'),
      notifications: path.join(repo, 'notification-service', 'src', 'db', 'migrations'),
    };
    const pk = uniquePrefix('galpk');
    const [n1, n2, n3] = cluster.nodes;
    const schemas: string[] = [];
    for (const [name, dir] of Object.entries(services)) {
      const dbName = `${pk}${name}`;
      schemas.push(dbName);
      const pools = [n1, n2].map((n) => createSequelize(n.server, dbName, { poolMax: 2 }));
      try {
        await Promise.all(pools.map((p, i) => bootstrapDatabase([n1, n2][i].server, p, dir)));
      } finally {
        for (const p of pools) await p.close();
      }
    }
    const reader = createSequelize(n3.server, 'information_schema', { poolMax: 1 });
    try {
      await reader.query('SET SESSION wsrep_sync_wait = 1');
      const [tables] = (await reader.query(
        `SELECT t.TABLE_SCHEMA AS db, t.TABLE_NAME AS name,
                (SELECT COUNT(*) FROM information_schema.TABLE_CONSTRAINTS c
                  WHERE c.TABLE_SCHEMA = t.TABLE_SCHEMA AND c.TABLE_NAME = t.TABLE_NAME
                    AND c.CONSTRAINT_TYPE = 'PRIMARY KEY') AS pk
           FROM information_schema.TABLES t
          WHERE t.TABLE_SCHEMA IN (?) AND t.TABLE_TYPE = 'BASE TABLE'
          ORDER BY t.TABLE_SCHEMA, t.TABLE_NAME`,
        { replacements: [[...schemas, `${prefix}flights`, `${prefix}bookings`]] },
      )) as [Array<{ db: string; name: string; pk: number | string }>, unknown];
      console.log(`galera booking: ${tables.length} tables checked for a primary key`);
      for (const db of [...schemas, `${prefix}flights`, `${prefix}bookings`])
        expect(tables.filter((t) => t.db === db).map((t) => t.name)).toContain('SequelizeMeta');
      expect(tables.filter((t) => Number(t.pk) !== 1).map((t) => `${t.db}.${t.name}`)).toEqual([]);
      for (const [name, dir] of Object.entries(services)) {
        const files = fs.readdirSync(dir).filter((f) => f.endsWith('.js'));
        expect(await count(reader, `SELECT COUNT(*) AS n FROM \`${pk}${name}\`.SequelizeMeta`, [])).toBe(
          files.length,
        );
      }
      for (const db of schemas) await reader.query(`DROP DATABASE \`${db}\``);
    } finally {
      await reader.close();
    }
  }, 180_000);
  // Last: it kills a node. Node 2 runs flight-service #2 and a booking-service; node 1 runs flight-service #1 and
  // another; the readers and the relay holding the outbox lease (booking-service #3, since the relay test) are on
  // node 3. The replicas have no database failover of their own: each has one DB_HOST. What keeps a client served is
  // (a) booking-service's flight client, which retries a 5xx or unreachable flight-service on the next
  // FLIGHT_SERVICE_URL, and (b) the client (or load balancer) retrying a 503 on another booking replica with the
  // same Idempotency-Key.
  test('kill -9 of node 2 under a booking + payment load: node 1 keeps serving, node 2 replicas answer 503, invariants hold, the node rejoins and its replicas serve again', async () => {
    const [n1, n2] = cluster.nodes;
    const [fa, fb] = flights;
    const a2 = await startBooking(n1, [fa.url, fb.url], { MIGRATE_ON_START: 'false' });
    const b2 = await startBooking(n2, [fb.url, fa.url], { MIGRATE_ON_START: 'false' });
    const nodeOf = (s: RunningBookingService) => (s === a2 ? 'node1' : 'node2');
    const flight = await createFlight(50);
    while (await ch.get(queue, { noAck: true })); // earlier tests' events: only this flight's are counted

    let killed = false;
    /** Every answer, by the replica that gave it and whether node 2 was dead when it came back. */
    const answers: Array<{ node: string; afterKill: boolean; key: string; status: number; text: string }> =
      [];
    const IN_FLIGHT = /still being processed/;
    /**
     * What a client behind a load balancer does: tries `first`, and on a 503 retries the same request with the
     * same Idempotency-Key through node 1 (up to 10 times, 300 ms apart). A 409 "still being processed" means a
     * replica that claimed the key lost its database mid-request: that is retried after node 2 is back.
     */
    const send = async (
      key: string,
      first: RunningBookingService,
      call: (s: RunningBookingService) => request.Test,
    ) => {
      for (let attempt = 0, s = first; ; attempt++, s = a2) {
        const r = await call(s);
        answers.push({ node: nodeOf(s), afterKill: killed, key, status: r.status, text: r.text });
        if (r.status !== 503 || attempt === 10) return r;
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
    };
    /** One customer: books through one replica and pays through the other. */
    const customer = async (j: number, first = j % 2 ? b2 : a2) => {
      const userId = 6000 + j;
      const made = await send(`kill-${j}`, first, (s) =>
        book(s, userId, { flightId: flight.id, noOfSeats: 1 }, `kill-${j}`),
      );
      if (made.status !== 201) return { j, made: made.status, text: made.text };
      const paid = await send(`kill-pay-${j}`, first === a2 ? b2 : a2, (s) =>
        pay(s, userId, { bookingId: made.body.id, amount: made.body.totalCost }, `kill-pay-${j}`),
      );
      return { j, made: 201, paid: paid.status, text: paid.text, bookingId: made.body.id as number };
    };

    resetTransactionRetries();
    const t0 = Date.now();
    // 24 customers, 8 at a time; node 2 is killed once the first 6 have finished, with the others in flight.
    let done = 0;
    let killing: Promise<void> | undefined;
    const outcomes: Array<Awaited<ReturnType<typeof customer>>> = [];
    const pending = Array.from({ length: 24 }, (_, j) => j);
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let j = pending.shift(); j !== undefined; j = pending.shift()) {
          outcomes.push(await customer(j));
          if (++done !== 6) continue;
          // kill() sends SIGKILL before its first await: every answer after this line came after the kill.
          killed = true;
          killing = cluster.kill(n2);
        }
      }),
    );
    await killing;
    await report('24 customers through both replicas, node 2 killed after 6', Date.now() - t0);
    const tally = (node: string) =>
      countBy(answers.filter((x) => x.afterKill && x.node === node).map((x) => x.status));
    console.log(
      'galera booking: answers after the kill: node 2 replica',
      tally('node2'),
      ', node 1 replica',
      tally('node1'),
    );
    // Node 2's replica answered 503 once its node was gone, never a 500 (a success that was committed just before
    // the kill may still arrive after it: the tables below back every success).
    expect(
      answers.filter((x) => x.node === 'node2' && x.status >= 300 && !(x.afterKill && x.status === 503)),
    ).toEqual([]);
    // Node 1's replica: successes, 503s while the cluster still waited for node 2 (commits stall until the group
    // declares it gone), and "still being processed" only for keys node 2's replica had claimed.
    const claimedOnNode2 = new Set(answers.filter((x) => x.node === 'node2').map((x) => x.key));
    expect(
      answers.filter(
        (x) =>
          x.node === 'node1' &&
          x.status >= 300 &&
          x.status !== 503 &&
          !(x.status === 409 && IN_FLIGHT.test(x.text) && claimedOnNode2.has(x.key)),
      ),
    ).toEqual([]);

    // Once the cluster is two nodes: node 1 serves 20 bookings at once (each hold that goes to node 2's flight-service
    // first is retried on node 1's: before that fix about 1 in 8 of such calls tried the dead one 3 times), node 2's
    // replicas answer 503.
    await eventually(
      async () => (await cluster.status(n1)).wsrep_cluster_size === '2',
      30_000,
      'node 1 in a cluster of 2',
    );
    const burst = await Promise.all(
      Array.from({ length: 20 }, (_, i) => book(a2, 6100 + i, { flightId: flight.id, noOfSeats: 1 })),
    );
    expect(burst.map((r) => r.status)).toEqual(Array.from({ length: 20 }, () => 201));
    expectProblem(await book(b2, 6120, { flightId: flight.id, noOfSeats: 1 }), 503);
    // Their readiness says so, so a load balancer or Kubernetes stops sending them traffic.
    expect((await request(b2.url).get('/ready')).status).toBe(503);
    expect((await request(fb.url).get('/ready')).status).toBe(503);
    expect((await request(a2.url).get('/ready')).status).toBe(200);
    expect(
      (await request(fb.url).get(`/api/v1/flights/${flight.id}`).set('X-Internal-Token', INTERNAL_TOKEN))
        .status,
    ).toBe(503);
    expect(
      (await request(fa.url).get(`/api/v1/flights/${flight.id}`).set('X-Internal-Token', INTERNAL_TOKEN))
        .status,
    ).toBe(200);

    // The node rejoins on its own data dir, and its replicas serve again.
    const r0 = Date.now();
    await cluster.restart(n2);
    for (const node of cluster.nodes)
      expect(await cluster.status(node)).toMatchObject({
        wsrep_cluster_size: '3',
        wsrep_local_state_comment: 'Synced',
        wsrep_ready: 'ON',
      });
    console.log(`galera booking: node 2 rejoined in ${Date.now() - r0} ms`, await clusterCounters());
    let late: Awaited<ReturnType<typeof customer>> | undefined;
    await eventually(
      async () => (late = await customer(24, b2)).paid === 201,
      30_000,
      "node 2's booking-service books and node 1's pays again",
    );
    expect(
      (await request(fb.url).get(`/api/v1/flights/${flight.id}`).set('X-Internal-Token', INTERNAL_TOKEN))
        .status,
    ).toBe(200);
    expect((await request(b2.url).get('/ready')).status).toBe(200);
    expect((await request(fb.url).get('/ready')).status).toBe(200);
    // The customers whose key node 2's replica held when it lost its database: that replica gives the claim up
    // once its database answers again, and the client's retry with the same key goes through.
    const parked = outcomes.filter((o) => o.made !== 201 || o.paid !== 201);
    console.log(
      `galera booking: ${parked.length} customers waited for node 2 to release their key`,
      parked.map((o) => `${o.j}: ${o.made}/${o.paid ?? '-'}`),
    );
    for (const o of parked) {
      await eventually(
        async () => {
          const again = await customer(o.j, a2);
          Object.assign(o, again);
          return again.paid === 201;
        },
        30_000,
        `customer ${o.j} booked and paid after node 2 came back`,
      );
    }
    expect(outcomes.filter((o) => o.made !== 201 || o.paid !== 201)).toEqual([]);

    // Invariants, read on node 3 once every saga the kill interrupted has been finished by its replica or a sweeper.
    await eventually(
      async () => {
        await a2.sweeper.runOnce();
        const v = await synced();
        return (
          (
            await bookingRows(asStack(v), "flight_id = ? AND seats_state IN ('HOLDING', 'RELEASING')", [
              flight.id,
            ])
          ).length === 0
        );
      },
      30_000,
      'no booking of the flight is still holding or releasing seats',
    );
    const v = await synced();
    const seats = { ...v, flightHttp: () => request(fa.url) } as Stack;
    const { bySeat, live, map } = await expectSeatsConsistent(seats, flight.id);
    // No oversell: 24 customers, the 20 booked while node 2 was down, the one after it rejoined.
    expect(live.length).toBe(45);
    expect(bySeat.size).toBe(45);
    expect(map.availableSeats).toBe(50 - 45);
    expect(await seatLedger(seats, flight.id)).toEqual({ available: 5, total: 50, held: 45 });
    // Each payment charged once.
    const paidIds = [...outcomes, late].map((o) => o?.bookingId as number);
    for (const id of paidIds) await expectChargedOnce(id);
    expect(
      live
        .filter((bk) => bk.status === 'BOOKED')
        .map((bk) => bk.id)
        .sort((x, y) => x - y),
    ).toEqual([...paidIds].sort((x, y) => x - y));
    for (const r of burst) expect(live.find((bk) => bk.id === r.body.id)?.status).toBe('INITIATED');
    // The outbox: one row per event, each published, each received once.
    const [rows] = (await v.bookingsDb.query(
      `SELECT e.event_id AS eventId, e.booking_id AS bookingId, e.type, e.published_at AS publishedAt
         FROM outbox_events e JOIN bookings bk ON bk.id = e.booking_id WHERE bk.flight_id = ? ORDER BY e.id`,
      { replacements: [flight.id] },
    )) as [Array<{ eventId: string; bookingId: number; type: string; publishedAt: Date | null }>, unknown];
    for (const id of paidIds)
      expect(rows.filter((r) => Number(r.bookingId) === id).map((r) => r.type)).toEqual([
        'booking.created',
        'booking.confirmed',
      ]);
    await eventually(
      async () =>
        (await count(
          v.bookingsDb,
          `SELECT COUNT(*) AS n FROM outbox_events e JOIN bookings bk ON bk.id = e.booking_id
            WHERE bk.flight_id = ? AND e.published_at IS NULL`,
          [flight.id],
        )) === 0,
      30_000,
      'every outbox row of the flight published',
    );
    await new Promise((r) => setTimeout(r, 1000)); // a duplicate gets every chance to arrive before counting
    const received = new Map<string, number>();
    for (let m: GetMessage | false; (m = await ch.get(queue, { noAck: true }));) {
      const e = bookingEventSchema.parse(JSON.parse(m.content.toString('utf8')));
      if (e.data.flightId === flight.id) received.set(e.eventId, (received.get(e.eventId) ?? 0) + 1);
    }
    // Every event of the table arrived, and nothing else. A relay whose node dies between the broker's confirm and
    // marking its batch published leaves that batch unmarked; the replica that takes the lease over publishes it
    // again: the contract's at-least-once delivery, which notification-service dedupes by eventId. So a duplicate
    // is allowed here (and counted), a lost or unknown event is not.
    expect(new Set(received.keys())).toEqual(new Set(rows.map((r) => r.eventId)));
    expect(new Set(rows.map((r) => r.eventId)).size).toBe(rows.length);
    const twice = [...received].filter(([, n]) => n > 1).length;
    console.log(
      `galera booking: ${rows.length} outbox events of the flight, ${twice} of them delivered twice ` +
        '(published again after the relay holding the lease lost its node)',
    );
    expect([...received].filter(([, n]) => n > 2)).toEqual([]);
  }, 180_000);
});
