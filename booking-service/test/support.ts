import net from 'node:net';
import amqp from 'amqplib';
import request from 'supertest';
import type { Sequelize } from 'sequelize';
import {
  amqpName,
  createSequelize,
  dropDatabase,
  EVENTS_EXCHANGE,
  type RunningService,
} from '@skyway/common';
import { TEST_DB_POOL_MAX, TEST_READ_POOL_MAX, testDbServer, uniquePrefix } from '@skyway/common/testing';
import { startFlightService } from '@skyway/testkit';
import { startBookingService, type BookingServiceOptions, type RunningBookingService } from '../src/main';

export const INTERNAL_TOKEN = 'test-internal-token-booking';
export const AMQP_URL = process.env.AMQP_URL || 'amqp://guest:guest@127.0.0.1:5672';
/** Nothing listens on port 1: a broker that cannot be reached. */
export const DEAD_AMQP_URL = 'amqp://guest:guest@127.0.0.1:1';
/** A cron expression that never fires during a test (the sweeper is run by hand). */
export const NEVER = '0 0 0 1 1 *';

export const user = (id: number, role: 'customer' | 'admin' = 'customer') => ({
  'X-Internal-Token': INTERNAL_TOKEN,
  'X-User-Id': String(id),
  'X-User-Role': role,
  'X-User-Email': `user${id}@example.test`,
});
const ADMIN = user(1, 'admin');

/**
 * A TCP proxy between booking-service and flight-service: lets a test stop flight-service as booking-service
 * sees it (connections refused) and bring it back on the same address, or cut the connection right after
 * flight-service answered a seat hold (the "crashed after commit" case). flight-service itself is real.
 */
export class TcpProxy {
  port = 0;
  /** When set, the next PUT reaches flight-service, and its answer is dropped and the proxy closed. */
  cutNextHold = false;
  /**
   * When set, the next seat-hold PUT is held up until `until` resolves: before it reaches flight-service
   * ('request': flight-service paused mid-saga) or after flight-service answered ('response': the hold is
   * made but booking-service has not heard of it yet). `reached` resolves when the PUT got that far.
   */
  pauseNextHold?: { stage: 'request' | 'response'; until: Promise<void>; reached: () => void };
  private server?: net.Server;
  private readonly sockets = new Set<net.Socket>();

  constructor(public targetPort: number) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async open(): Promise<void> {
    const server = net.createServer((client) => this.handle(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private handle(client: net.Socket): void {
    const upstream = net.connect(this.targetPort, '127.0.0.1');
    this.sockets.add(client).add(upstream);
    let cutting = false;
    // Chunks held back in each direction while a paused hold waits (kept in order).
    let toUpstream: Promise<void> = Promise.resolve();
    let toClient: Promise<void> = Promise.resolve();
    client.on('data', (chunk) => {
      const isHold = chunk.toString('latin1').includes('PUT /internal/');
      if (this.cutNextHold && isHold) {
        this.cutNextHold = false;
        cutting = true;
      }
      const pause = isHold ? this.pauseNextHold : undefined;
      if (pause) {
        this.pauseNextHold = undefined;
        if (pause.stage === 'request') {
          pause.reached();
          toUpstream = toUpstream.then(() => pause.until);
        } else {
          toClient = toClient.then(
            () =>
              new Promise<void>((resolve) => {
                // Flight-service's answer starts arriving after this point; hold it from its first byte.
                upstream.once('data', () => {
                  pause.reached();
                  void pause.until.then(resolve);
                });
              }),
          );
        }
      }
      void toUpstream.then(() => upstream.write(chunk));
    });
    upstream.on('data', (chunk) => {
      if (!cutting) {
        void toClient.then(() => client.write(chunk));
        return;
      }
      client.destroy();
      upstream.destroy();
      void this.close();
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  }
}

/**
 * A gate for TcpProxy.pauseNextHold: `until`/`reached` go to the proxy, `open()` lets the hold go on, and
 * `wasReached` resolves once the hold got to the pause.
 */
export function gate() {
  let open!: () => void;
  let reached!: () => void;
  const until = new Promise<void>((r) => (open = r));
  const wasReached = new Promise<void>((r) => (reached = r));
  return { until, open, reached, wasReached };
}

export interface StackOptions {
  bookingEnv?: NodeJS.ProcessEnv;
  bookingOptions?: BookingServiceOptions;
  /** Put a TcpProxy between booking-service and flight-service. */
  proxy?: boolean;
}

export interface Stack {
  prefix: string;
  amqpPrefix: string;
  flight: RunningService;
  booking: RunningBookingService;
  proxy?: TcpProxy;
  http: () => ReturnType<typeof request>;
  flightHttp: () => ReturnType<typeof request>;
  /** Direct connections to the two databases, to check invariants in the tables. */
  flightsDb: Sequelize;
  bookingsDb: Sequelize;
  bookingEnv: NodeJS.ProcessEnv;
  /** Another flight-service on the same database (`env` on top of the stack's); the caller closes it. */
  startFlight(env?: NodeJS.ProcessEnv): Promise<RunningService>;
  startBooking(env?: NodeJS.ProcessEnv, options?: BookingServiceOptions): Promise<RunningBookingService>;
  stop(): Promise<void>;
}

/** A real flight-service and booking-service on random ports, each with a fresh database. */
export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const prefix = uniquePrefix('bk');
  const amqpPrefix = `test.${prefix}`;
  const startFlight = (env: NodeJS.ProcessEnv = {}) =>
    startFlightService({
      ...process.env,
      NODE_ENV: 'test',
      DB_NAME_PREFIX: prefix,
      FLIGHT_SERVICE_PORT: '0',
      INTERNAL_TOKEN,
      DB_POOL_MAX: String(TEST_DB_POOL_MAX),
      ...env,
    });
  const flight = await startFlight();
  let proxy: TcpProxy | undefined;
  if (opts.proxy) {
    proxy = new TcpProxy(flight.port);
    await proxy.open();
  }
  const bookingEnv: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: 'test',
    // Expected failures (flight-service down, broker down) would otherwise fill the output with warnings.
    LOG_LEVEL: process.env.LOG_LEVEL || 'error',
    DB_NAME_PREFIX: prefix,
    BOOKING_SERVICE_PORT: '0',
    INTERNAL_TOKEN,
    FLIGHT_SERVICE_URL: proxy ? proxy.url : flight.url,
    AMQP_URL,
    AMQP_NAME_PREFIX: amqpPrefix,
    SWEEPER_CRON: NEVER,
    OUTBOX_RELAY_INTERVAL_MS: '200',
    DB_POOL_MAX: String(TEST_DB_POOL_MAX),
    ...opts.bookingEnv,
  };
  const started: RunningService[] = [];
  const startBooking = async (env: NodeJS.ProcessEnv = {}, options = opts.bookingOptions) => {
    const s = await startBookingService({ ...bookingEnv, ...env }, options);
    started.push(s);
    return s;
  };
  const booking = await startBooking();
  const flightsDb = createSequelize(testDbServer(), `${prefix}flights`, { poolMax: TEST_READ_POOL_MAX });
  const bookingsDb = createSequelize(testDbServer(), `${prefix}bookings`, { poolMax: TEST_READ_POOL_MAX });
  const stack: Stack = {
    prefix,
    amqpPrefix,
    flight,
    booking,
    proxy,
    http: () => request(stack.booking.url),
    flightHttp: () => request(stack.flight.url),
    flightsDb,
    bookingsDb,
    bookingEnv,
    startFlight,
    startBooking,
    async stop() {
      for (const s of started) await s.close().catch(() => undefined);
      await stack.flight.close().catch(() => undefined);
      await proxy?.close();
      await flightsDb.close();
      await bookingsDb.close();
      await dropDatabase(testDbServer(), `${prefix}flights`);
      await dropDatabase(testDbServer(), `${prefix}bookings`);
      await deleteExchange(amqpName(amqpPrefix, EVENTS_EXCHANGE));
    },
  };
  return stack;
}

async function deleteExchange(name: string): Promise<void> {
  const conn = await amqp.connect(AMQP_URL);
  try {
    const ch = await conn.createChannel();
    await ch.deleteExchange(name);
    await ch.close();
  } finally {
    await conn.close();
  }
}

const catalogs = new WeakMap<Stack, Promise<{ from: string; to: string; airplaneId: number }>>();
let flightSeq = 0;

async function ensureCatalog(stack: Stack) {
  const http = stack.flightHttp;
  const city = await http().post('/api/v1/cities').set(ADMIN).send({ name: 'Test City' }).expect(201);
  for (const code of ['DEL', 'BOM']) {
    await http()
      .post('/api/v1/airports')
      .set(ADMIN)
      .send({ code, name: `${code} Airport`, cityId: city.body.id })
      .expect(201);
  }
  const plane = await http()
    .post('/api/v1/airplanes')
    .set(ADMIN)
    .send({ modelNumber: 'A321', capacity: 1000 })
    .expect(201);
  return { from: 'DEL', to: 'BOM', airplaneId: plane.body.id as number };
}

export interface TestFlight {
  id: number;
  flightNumber: string;
  price: number;
  totalSeats: number;
  departureTime: string;
}

/** Creates a flight (and, once per stack, the airports and airplane it needs) through flight-service's API. */
export async function createFlight(stack: Stack, totalSeats: number, price = 450000): Promise<TestFlight> {
  if (!catalogs.has(stack)) catalogs.set(stack, ensureCatalog(stack));
  const { from, to, airplaneId } = await (catalogs.get(stack) as ReturnType<typeof ensureCatalog>);
  flightSeq += 1;
  const departure = new Date(Date.now() + 7 * 86_400_000);
  const res = await stack
    .flightHttp()
    .post('/api/v1/flights')
    .set(ADMIN)
    .send({
      flightNumber: `SW${flightSeq}`,
      airplaneId,
      departureAirportCode: from,
      arrivalAirportCode: to,
      departureTime: departure.toISOString(),
      arrivalTime: new Date(departure.getTime() + 2 * 3600_000).toISOString(),
      price,
      totalSeats,
    })
    .expect(201);
  return res.body as TestFlight;
}

/** availableSeats, totalSeats and the seats held by reservations, read from flight-service's tables. */
export async function seatLedger(stack: Stack, flightId: number) {
  const [[row]] = (await stack.flightsDb.query(
    `SELECT f.availableSeats, f.totalSeats,
            (SELECT COALESCE(SUM(seats), 0) FROM seat_reservations r WHERE r.flightId = f.id AND r.status = 'HELD') AS held
       FROM flights f WHERE f.id = ?`,
    { replacements: [flightId] },
  )) as [Array<{ availableSeats: number; totalSeats: number; held: string | number }>, unknown];
  return { available: Number(row.availableSeats), total: Number(row.totalSeats), held: Number(row.held) };
}

/** The seats each booking holds at flight-service (HELD reservations only). */
export async function heldByBooking(stack: Stack, flightId: number): Promise<Map<number, number>> {
  const [rows] = (await stack.flightsDb.query(
    "SELECT bookingId, seats FROM seat_reservations WHERE flightId = ? AND status = 'HELD'",
    { replacements: [flightId] },
  )) as [Array<{ bookingId: string | number; seats: number }>, unknown];
  return new Map(rows.map((r) => [Number(r.bookingId), Number(r.seats)]));
}

export interface BookingRow {
  id: number;
  status: string;
  cancel_reason: string | null;
  seats_state: string;
  no_of_seats: number;
  user_id: number;
  total_cost: number | string;
}

export async function bookingRows(
  stack: Stack,
  where = '1=1',
  replacements: unknown[] = [],
): Promise<BookingRow[]> {
  const [rows] = (await stack.bookingsDb.query(`SELECT * FROM bookings WHERE ${where} ORDER BY id`, {
    replacements,
  })) as [BookingRow[], unknown];
  return rows.map((r) => ({
    ...r,
    id: Number(r.id),
    user_id: Number(r.user_id),
    no_of_seats: Number(r.no_of_seats),
  }));
}

/** The statuses of a live booking (one that holds, or is about to hold, its seats). */
export const LIVE_STATUSES = "status IN ('INITIATED', 'PENDING', 'BOOKED')";

/**
 * Every live booking of the flight holds exactly its seats at flight-service, none is still waiting for its
 * hold, the flight's seat count matches its holds, and every held seat belongs to a booking that is live or whose
 * release is still under way.
 */
export async function expectEveryLiveBookingHoldsItsSeats(stack: Stack, flightId: number) {
  const live = await bookingRows(stack, `flight_id = ? AND ${LIVE_STATUSES} AND seats_state <> 'HOLDING'`, [
    flightId,
  ]);
  const holding = await bookingRows(stack, "flight_id = ? AND seats_state = 'HOLDING'", [flightId]);
  const held = await heldByBooking(stack, flightId);
  const ledger = await seatLedger(stack, flightId);
  expect(holding).toEqual([]);
  expect(live.map((b) => [b.id, held.get(b.id)])).toEqual(live.map((b) => [b.id, b.no_of_seats]));
  expect(ledger.held).toBeLessThanOrEqual(ledger.total);
  expect(ledger.available).toBe(ledger.total - ledger.held);
  const owners = await bookingRows(stack, "flight_id = ? AND seats_state <> 'RELEASED'", [flightId]);
  const ownerIds = new Set(owners.map((b) => b.id));
  for (const bookingId of held.keys()) expect(ownerIds.has(bookingId)).toBe(true);
  return live;
}

export async function outboxRows(stack: Stack, bookingId?: number) {
  const [rows] = (await stack.bookingsDb.query(
    `SELECT id, event_id, booking_id, type, payload, published_at FROM outbox_events
      ${bookingId === undefined ? '' : 'WHERE booking_id = ?'} ORDER BY id`,
    { replacements: bookingId === undefined ? [] : [bookingId] },
  )) as [
    Array<{
      id: number;
      event_id: string;
      booking_id: number;
      type: string;
      payload: string;
      published_at: Date | null;
    }>,
    unknown,
  ];
  return rows;
}

/** Polls `check` until it returns a truthy value or the deadline passes. */
/** Polls until a condition holds (shared with every workspace's tests). */
export { eventually } from '@skyway/common/testing';

/** POST /api/v1/bookings as a customer, with an Idempotency-Key when one is given. */
export const book = (stack: Stack, userId: number, body: object, key?: string) => {
  const req = stack.http().post('/api/v1/bookings').set(user(userId));
  if (key !== undefined) req.set('Idempotency-Key', key);
  return req.send(body);
};

/** POST /api/v1/payments as a customer, with an Idempotency-Key when one is given. */
export const pay = (stack: Stack, userId: number, body: object, key?: string) => {
  const req = stack.http().post('/api/v1/payments').set(user(userId));
  if (key !== undefined) req.set('Idempotency-Key', key);
  return req.send(body);
};

export const expectProblem = (
  res: { status: number; headers: Record<string, string>; body: Record<string, unknown> },
  status: number,
) => {
  expect({ status: res.status, body: res.body }).toMatchObject({ status, body: { status } });
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({
    type: expect.any(String),
    title: expect.any(String),
    detail: expect.any(String),
  });
  expect(res.body.requestId).toBe(res.headers['x-request-id']);
};
