import { spawn, type ChildProcess } from 'node:child_process';
import type http from 'node:http';
import net from 'node:net';
import { PassThrough } from 'node:stream';
import request from 'supertest';
import {
  closeServer,
  createLogger,
  createSequelize,
  dropDatabase,
  ensureDatabase,
  listen,
  migrate,
} from '@skyway/common';
import { TEST_DB_POOL_MAX, testDbServer, uniquePrefix } from '@skyway/common/testing';
import { buildApp } from '../src/app';
import { redisSearchCache, type SearchCache } from '../src/clients/search-cache';
import { initModels } from '../src/db/models';
import { MIGRATIONS_DIR } from '../src/main';
import { ADMIN, INTERNAL, INTERNAL_TOKEN } from './support';

/**
 * The Redis search cache against a real Redis and a real MariaDB. Each service here is flight-service's app
 * built in process with its own logger (to count warnings), a query observer (to count MySQL reads) and its
 * cache (whose hit counter proves an answer came from Redis).
 */
const REDIS = 'redis://127.0.0.1:6379';
const dbName = `${uniquePrefix('fsc')}flights`;
const db = () => createSequelize(testDbServer(), dbName, { poolMax: 2 });
let tables: ReturnType<typeof db>;

interface Service {
  http: ReturnType<typeof request>;
  cache: SearchCache;
  /** Every search / flight-read SQL statement this service sent. */
  queries: string[];
  warnings: () => string[];
  stop(): Promise<void>;
}

const running: Service[] = [];

async function startService(redisUrl: string, prefix: string, ttlMs: number): Promise<Service> {
  const lines: string[] = [];
  const stream = new PassThrough();
  stream.on('data', (chunk: Buffer) => lines.push(...chunk.toString().split('\n').filter(Boolean)));
  const logger = createLogger('flight-service', 'info', stream);
  const sequelize = createSequelize(testDbServer(), dbName, {
    poolMax: TEST_DB_POOL_MAX,
    multipleStatements: true,
  });
  const cache = redisSearchCache({ url: redisUrl, prefix, ttlMs, logger });
  const queries: string[] = [];
  const app = buildApp({
    config: { INTERNAL_TOKEN, SEARCH_CACHE_TTL_MS: ttlMs },
    logger,
    sequelize,
    models: initModels(sequelize),
    cache,
    observeQueries: (sql) => queries.push(sql),
  });
  const server: http.Server = await listen(app, 0, { host: '127.0.0.1' });
  const service: Service = {
    http: request(server),
    cache,
    queries,
    warnings: () =>
      lines
        .map((l) => JSON.parse(l) as { level: string; message: string })
        .filter((l) => l.level === 'warn')
        .map((l) => l.message),
    async stop() {
      await closeServer(server);
      await cache.close();
      await sequelize.close();
    },
  };
  running.push(service);
  return service;
}

/** Waits until `check` passes (polled; no time is asserted). */
async function eventually(check: () => Promise<void>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** Serves `check` a search once the cache is usable (it bumps the catalog version on connect first). */
const warmedUp = (s: Service) =>
  eventually(async () => {
    const before = s.cache.stats.bypassed;
    await s.http.get('/api/v1/cities').set(INTERNAL);
    await s.http.get('/api/v1/flights?limit=1').set(INTERNAL).expect(200);
    expect(s.cache.stats.bypassed).toBe(before);
  });

beforeAll(async () => {
  await ensureDatabase(testDbServer(), dbName);
  tables = db();
  await migrate(tables, MIGRATIONS_DIR);
});

afterAll(async () => {
  for (const s of running) await s.stop().catch(() => undefined);
  await tables.close();
  await dropDatabase(testDbServer(), dbName);
});

let seq = 0;
/** Two airports of one city, an airplane and a flight between them; the flight as created. */
async function route(s: Service, price = 450000, capacity = 180) {
  seq += 1;
  const code = (n: number) => `C${String.fromCharCode(65 + (n % 26), 65 + Math.floor(n / 26))}`;
  const [from, to] = [code(seq * 2), code(seq * 2 + 1)];
  const city = await s.http
    .post('/api/v1/cities')
    .set(ADMIN)
    .send({ name: `City ${seq}` })
    .expect(201);
  for (const c of [from, to])
    await s.http
      .post('/api/v1/airports')
      .set(ADMIN)
      .send({ code: c, name: c, cityId: city.body.id })
      .expect(201);
  const plane = await s.http
    .post('/api/v1/airplanes')
    .set(ADMIN)
    .send({ modelNumber: 'A320', capacity })
    .expect(201);
  const flight = await newFlight(s, from, to, plane.body.id, price);
  return { from, to, cityId: city.body.id as number, planeId: plane.body.id as number, flight };
}

async function newFlight(s: Service, from: string, to: string, airplaneId: number, price: number, n = 0) {
  const departure = Date.UTC(2031, 0, 1, 8 + n);
  const res = await s.http
    .post('/api/v1/flights')
    .set(ADMIN)
    .send({
      flightNumber: `SK${seq}X${n}`,
      airplaneId,
      departureAirportCode: from,
      arrivalAirportCode: to,
      departureTime: new Date(departure).toISOString(),
      arrivalTime: new Date(departure + 7_200_000).toISOString(),
      price,
    })
    .expect(201);
  return res.body as { id: number; availableSeats: number; price: number };
}

type Page = {
  data: Array<{ id: number; price: number; availableSeats: number; departureAirportCode: string }>;
};

/** A search and whether the cache answered it. */
async function search(s: Service, query: string): Promise<{ body: Page; hit: boolean }> {
  const hits = s.cache.stats.hits;
  const res = await s.http.get(`/api/v1/flights?${query}`).set(INTERNAL).expect(200);
  return { body: res.body as Page, hit: s.cache.stats.hits > hits };
}

/** Searched twice: the second answer must come from the cache (so a later change is seen despite it). */
async function cached(s: Service, query: string): Promise<Page> {
  await search(s, query);
  const again = await search(s, query);
  expect(again.hit).toBe(true);
  return again.body;
}

describe('two replicas sharing Redis, long TTL (freshness comes from the catalog version, not expiry)', () => {
  let a: Service;
  let b: Service;
  const prefix = `${uniquePrefix('fsc')}:`;
  beforeAll(async () => {
    a = await startService(REDIS, prefix, 60_000);
    b = await startService(REDIS, prefix, 60_000);
    await Promise.all([warmedUp(a), warmedUp(b)]);
  });

  test('a catalog write on one replica is in the very next search on the other: create, patch, delete', async () => {
    const r = await route(a);
    const q = `trips=${r.from}-${r.to}`;
    expect((await cached(b, q)).data.map((f) => f.id)).toEqual([r.flight.id]);

    const second = await newFlight(a, r.from, r.to, r.planeId, 300000, 1);
    expect((await search(b, q)).body.data.map((f) => f.id)).toEqual([r.flight.id, second.id]);

    await cached(b, q);
    await a.http.patch(`/api/v1/flights/${second.id}`).set(ADMIN).send({ price: 123 }).expect(200);
    expect((await search(b, q)).body.data.find((f) => f.id === second.id)?.price).toBe(123);

    await cached(b, q);
    await a.http.delete(`/api/v1/flights/${second.id}`).set(ADMIN).expect(204);
    expect((await search(b, q)).body.data.map((f) => f.id)).toEqual([r.flight.id]);

    // The flight read too.
    await b.http.get(`/api/v1/flights/${r.flight.id}`).set(INTERNAL).expect(200);
    await b.http.get(`/api/v1/flights/${second.id}`).set(INTERNAL).expect(404);
  });

  test('airport and airplane changes show in the next search and flight read', async () => {
    const r = await route(a);
    const q = `trips=${r.from}-${r.to}`;
    await cached(b, q);
    const read = async () =>
      (await b.http.get(`/api/v1/flights/${r.flight.id}`).set(INTERNAL).expect(200)).body as {
        departureAirportCode: string;
        airplane: { modelNumber: string };
        departureAirport: { name: string };
      };
    await read();
    expect(b.cache.stats.hits).toBeGreaterThan(0);

    // Renaming an airport's code cascades into its flights: the old route is empty, the new one has it.
    const airports = (await b.http.get('/api/v1/airports?limit=100').set(INTERNAL).expect(200)).body
      .data as Array<{
      id: number;
      code: string;
    }>;
    const from = airports.find((x) => x.code === r.from)!;
    const renamed = `Z${r.from.slice(1)}`;
    await a.http
      .patch(`/api/v1/airports/${from.id}`)
      .set(ADMIN)
      .send({ code: renamed, name: 'Renamed' })
      .expect(200);
    expect((await search(b, q)).body.data).toEqual([]);
    expect((await search(b, `trips=${renamed}-${r.to}`)).body.data.map((f) => f.id)).toEqual([r.flight.id]);
    expect(await read()).toMatchObject({
      departureAirportCode: renamed,
      departureAirport: { name: 'Renamed' },
    });

    await read();
    await a.http.patch(`/api/v1/airplanes/${r.planeId}`).set(ADMIN).send({ modelNumber: 'B737' }).expect(200);
    expect((await read()).airplane.modelNumber).toBe('B737');
  });

  test('50 concurrent identical searches on a cold key: one MySQL query, 50 identical answers', async () => {
    const r = await route(a);
    const q = `/api/v1/flights?trips=${r.from}-${r.to}&sort=price_DESC&limit=7`;
    const before = a.queries.length;
    const answers = await Promise.all(
      Array.from({ length: 50 }, () => a.http.get(q).set(INTERNAL).expect(200)),
    );
    const sent = a.queries.slice(before).filter((sql) => sql.includes(`FROM flights f FORCE INDEX`));
    expect(sent).toHaveLength(1);
    expect(new Set(answers.map((x) => x.text)).size).toBe(1);
    expect(answers[0].body.data.map((f: { id: number }) => f.id)).toEqual([r.flight.id]);
    // The same search spelt differently shares the key (parameter order, defaults, sort spelling, case).
    const spelt = `/api/v1/flights?limit=7&page=1&sort=price_desc&trips=${r.from.toLowerCase()}-${r.to}`;
    const again = await a.http.get(spelt).set(INTERNAL).expect(200);
    expect(again.text).toBe(answers[0].text);
    expect(a.queries.slice(before).filter((sql) => sql.includes('FROM flights f FORCE INDEX'))).toHaveLength(
      1,
    );
  });

  test('the booking path never reads the cache: sold out while the cached search says seats are left → 409', async () => {
    const r = await route(a, 450000, 3);
    const q = `trips=${r.from}-${r.to}`;
    expect((await cached(b, q)).data[0].availableSeats).toBe(3);
    await b.http
      .put(`/internal/v1/flights/${r.flight.id}/reservations/1`)
      .set(INTERNAL)
      .send({ seats: 3 })
      .expect(201);
    // The cache still says 3 left (availableSeats may lag by the TTL) …
    const stale = await search(b, q);
    expect([stale.hit, stale.body.data[0].availableSeats]).toEqual([true, 3]);
    // … a flight read with Cache-Control: no-cache reads the row …
    const fresh = await b.http
      .get(`/api/v1/flights/${r.flight.id}`)
      .set(INTERNAL)
      .set('Cache-Control', 'no-cache');
    expect(fresh.body.availableSeats).toBe(0);
    // … and a reservation is decided on the row.
    await b.http
      .put(`/internal/v1/flights/${r.flight.id}/reservations/2`)
      .set(INTERNAL)
      .send({ seats: 1 })
      .expect(409);
  });
});

test('availableSeats after a reservation catches up within SEARCH_CACHE_TTL_MS', async () => {
  const s = await startService(REDIS, `${uniquePrefix('fsc')}:`, 1000);
  await warmedUp(s);
  const r = await route(s, 450000, 10);
  const q = `trips=${r.from}-${r.to}`;
  expect((await cached(s, q)).data[0].availableSeats).toBe(10);
  await s.http
    .put(`/internal/v1/flights/${r.flight.id}/reservations/7`)
    .set(INTERNAL)
    .send({ seats: 4 })
    .expect(201);
  await eventually(async () => expect((await search(s, q)).body.data[0].availableSeats).toBe(6));
  await eventually(async () =>
    expect((await s.http.get(`/api/v1/flights/${r.flight.id}`).set(INTERNAL)).body.availableSeats).toBe(6),
  );
});

// ---- Redis away and back ----

const freePort = () =>
  new Promise<number>((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });

/** A private redis-server the test owns (no persistence), started on `port`; killed by its pid. */
async function privateRedis(port: number): Promise<ChildProcess> {
  const proc = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  await eventually(
    () =>
      new Promise<void>((resolve, reject) => {
        const socket = net.connect(port, '127.0.0.1', () => {
          socket.destroy();
          resolve();
        });
        socket.on('error', reject);
      }),
  );
  return proc;
}

const stopped = (proc: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (proc.exitCode !== null) return resolve();
    proc.once('exit', () => resolve());
    proc.kill('SIGKILL');
  });

test('Redis unreachable at start, then back, then killed, then back: MySQL answers meanwhile, one warning per outage', async () => {
  const port = await freePort();
  const s = await startService(`redis://127.0.0.1:${port}`, `${uniquePrefix('fsc')}:`, 60_000);
  const r = await route(s);
  const q = `trips=${r.from}-${r.to}`;

  // Nothing listens on the port: every search is answered from MySQL, /ready stays 200, one warning.
  for (let i = 0; i < 5; i++) expect((await search(s, q)).body.data.map((f) => f.id)).toEqual([r.flight.id]);
  await s.http.get('/ready').expect(200);
  expect(s.cache.stats.hits).toBe(0);
  await new Promise((res) => setTimeout(res, 1500)); // a few reconnect attempts fail meanwhile
  expect(s.warnings().filter((w) => w.startsWith('redis unavailable'))).toHaveLength(1);

  // Redis comes up on that port: the next searches are cached again (a hit proves it).
  let redis = await privateRedis(port);
  try {
    await eventually(async () => {
      await search(s, q);
      expect((await search(s, q)).hit).toBe(true);
    });

    // A write while Redis is gone is seen once it is back (the version is bumped on reconnect).
    await stopped(redis);
    for (let i = 0; i < 5; i++) expect((await search(s, q)).body.data).toHaveLength(1);
    await s.http.get('/ready').expect(200);
    await s.http.patch(`/api/v1/flights/${r.flight.id}`).set(ADMIN).send({ price: 777 }).expect(200);
    expect((await search(s, q)).body.data[0].price).toBe(777);
    await eventually(async () =>
      expect(s.warnings().filter((w) => w.startsWith('redis unavailable'))).toHaveLength(2),
    );

    redis = await privateRedis(port);
    await eventually(async () => {
      await search(s, q);
      const again = await search(s, q);
      expect([again.hit, again.body.data[0].price]).toEqual([true, 777]);
    });
    expect(s.warnings().filter((w) => w.startsWith('redis unavailable'))).toHaveLength(2);
  } finally {
    await stopped(redis);
  }
});
