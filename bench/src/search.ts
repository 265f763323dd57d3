import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import mysql from 'mysql2/promise';
import {
  DB,
  INTERNAL_TOKEN,
  PORT_OFFSET,
  load,
  median,
  round2,
  sleep,
  startService,
  type LoadResult,
} from './lib';
import { startBenchStack, tokensFor } from './stack';

/**
 * Search at look-to-book scale (issue 15): the cached search against the HTTP floor, uncached search as the
 * catalog grows from 1k to BENCH_SEARCH_FLIGHTS (default 1M) flights per shape, and a mixed gateway load of
 * 100 searches per booking with the cache on and off. Redis is a private redis-server the bench starts, so
 * its hit counters are this run's alone.
 */
export const AIRPORTS = ['DEL', 'BOM', 'BLR', 'MAA', 'CCU', 'HYD'];
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
export const SEARCH_FLIGHTS = Number(process.env.BENCH_SEARCH_FLIGHTS ?? 1_000_000);
/** The catalog behind the mixed gateway load. */
const MIXED_FLIGHTS = Number(process.env.BENCH_MIXED_FLIGHTS ?? 100_000);
const INTERNAL = { 'x-internal-token': INTERNAL_TOKEN };

export interface Figure extends LoadResult {
  name: string;
}

const log = (name: string, r: LoadResult, extra = '') =>
  console.log(
    `${name.padEnd(60)} ${String(r.rps).padStart(6)} req/s  p50 ${r.p50Ms} ms  p99 ${r.p99Ms} ms  ${JSON.stringify(r.statuses)} ${extra}`,
  );

// ---- Redis of the bench's own ----

export interface PrivateRedis {
  url: string;
  /** Entry hit rate since the last reset: every read is one MGET of the version key (always there) and the entry. */
  hitRate(): Promise<number>;
  reset(): Promise<void>;
  stop(): Promise<void>;
}

async function redisCommand(port: number, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let out = '';
    socket.on('data', (d) => {
      out += d.toString();
      if (/\r\n$/.test(out) && (out[0] !== '$' || out.split('\r\n').length >= 3)) socket.end();
    });
    socket.on('end', () => resolve(out));
    socket.on('error', reject);
    socket.write(`${command}\r\n`);
  });
}

export async function startPrivateRedis(basePort: number): Promise<PrivateRedis> {
  const port = basePort + PORT_OFFSET;
  const proc: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  for (let i = 0; ; i++) {
    try {
      if ((await redisCommand(port, 'PING')).includes('PONG')) break;
    } catch {
      if (i > 100) throw new Error('redis-server did not start');
      await sleep(50);
    }
  }
  const stat = async (name: string) =>
    Number(new RegExp(`${name}:(\\d+)`).exec(await redisCommand(port, 'INFO stats'))?.[1] ?? 0);
  return {
    url: `redis://127.0.0.1:${port}`,
    async hitRate() {
      const hits = await stat('keyspace_hits');
      const misses = await stat('keyspace_misses');
      // keyspace_hits = reads (version key) + entry hits; keyspace_misses = entry misses.
      const entryHits = (hits - misses) / 2;
      return entryHits + misses === 0 ? 0 : round2(entryHits / (entryHits + misses));
    },
    reset: async () => void (await redisCommand(port, 'CONFIG RESETSTAT')),
    stop: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
      }),
  };
}

// ---- the catalog ----

/**
 * `count` search flights (flight numbers BX…) over the 30 routes of six airports and a year of days, in one
 * INSERT … SELECT from the Sequence engine. The secondary indexes the foreign keys do not need are dropped
 * first and rebuilt after (one sorted build each), which at 1M rows is many times faster than growing them
 * row by row through a small buffer pool.
 */
export async function seedSearchFlights(db: mysql.Connection, count: number): Promise<number> {
  const started = Date.now();
  await db.query("DELETE FROM flights WHERE flightNumber LIKE 'BX%'");
  const [cols] = (await db.query(
    `SELECT INDEX_NAME AS name, GROUP_CONCAT(CONCAT('\`', COLUMN_NAME, '\`', IF(COLLATION = 'D', ' DESC', '')) ORDER BY SEQ_IN_INDEX) AS columns
       FROM information_schema.STATISTICS
      WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'flights' AND INDEX_NAME <> 'PRIMARY' AND NON_UNIQUE = 1
      GROUP BY INDEX_NAME`,
  )) as unknown as [Array<{ name: string; columns: string }>];
  const dropped: typeof cols = [];
  for (const index of cols) {
    try {
      await db.query(`ALTER TABLE flights DROP INDEX \`${index.name}\``);
      dropped.push(index);
    } catch {
      // needed by a foreign key: kept
    }
  }
  const airports = AIRPORTS.map((a) => `'${a}'`).join(',');
  // Sequence tables go to 2^64, but one of a million rows is plenty per statement.
  for (let from = 1; from <= count; from += 1_000_000) {
    const to = Math.min(count, from + 999_999);
    await db.query(
      `INSERT INTO flights (flightNumber, airplaneId, departureAirportCode, arrivalAirportCode, departureTime, arrivalTime, price, totalSeats, availableSeats)
       SELECT CONCAT('BX', seq), (SELECT MIN(id) FROM airplanes),
              ELT(1 + seq % 6, ${airports}),
              ELT(1 + (seq + 1 + (seq DIV 6) % 5) % 6, ${airports}),
              TIMESTAMP('2027-01-01') + INTERVAL ((seq * 7919) % (365 * 24 * 60)) MINUTE,
              TIMESTAMP('2027-01-01') + INTERVAL ((seq * 7919) % (365 * 24 * 60) + 120) MINUTE,
              100000 + ((seq * 104729) % 900000), 180, 180
         FROM seq_${from}_to_${to}`,
    );
  }
  if (dropped.length)
    await db.query(
      `ALTER TABLE flights ${dropped.map((i) => `ADD INDEX \`${i.name}\` (${i.columns})`).join(', ')}`,
    );
  await db.query('ANALYZE TABLE flights');
  const seconds = round2((Date.now() - started) / 1000);
  console.log(`seeded ${count} search flights in ${seconds} s`);
  return seconds;
}

// ---- the searches ----

const pick = <T>(xs: T[]) => xs[Math.floor(Math.random() * xs.length)];
const randomRoute = () => {
  const a = Math.floor(Math.random() * 6);
  const b = (a + 1 + Math.floor(Math.random() * 5)) % 6;
  return `${AIRPORTS[a]}-${AIRPORTS[b]}`;
};
const randomDay = () =>
  new Date(Date.UTC(2027, 0, 1) + Math.floor(Math.random() * 365) * 86_400_000).toISOString().slice(0, 10);

/** Each sort and filter shape of the contract, with random routes and days; page 50 for the deep ones. */
export const SHAPES: Record<string, () => string> = {
  'trips, default sort': () => `trips=${randomRoute()}`,
  'trips, price_ASC': () => `trips=${randomRoute()}&sort=price_ASC`,
  'trips, price_DESC': () => `trips=${randomRoute()}&sort=price_DESC`,
  'trips, departureTime_DESC': () => `trips=${randomRoute()}&sort=departureTime_DESC`,
  'trips, arrivalTime_ASC': () => `trips=${randomRoute()}&sort=arrivalTime_ASC`,
  'trips + price range, price_ASC,departureTime_DESC': () =>
    `trips=${randomRoute()}&price=200000-600000&sort=price_ASC,departureTime_DESC`,
  'trips + tripDate + travellers, price_ASC': () =>
    `trips=${randomRoute()}&tripDate=${randomDay()}&travellers=2&sort=price_ASC`,
  'tripDate, price_ASC': () => `tripDate=${randomDay()}&sort=price_ASC`,
  'tripDate, arrivalTime_DESC': () => `tripDate=${randomDay()}&sort=arrivalTime_DESC`,
  'price range, departureTime_ASC': () => `price=200000-600000&sort=departureTime_ASC`,
  'travellers, price_DESC': () => `travellers=${pick([1, 2, 4])}&sort=price_DESC`,
  'no filter, arrivalTime_DESC': () => 'sort=arrivalTime_DESC',
  'trips, price_ASC, page 50': () => `trips=${randomRoute()}&sort=price_ASC&page=50`,
  'trips + price range, departureTime_ASC, page 50': () =>
    `trips=${randomRoute()}&price=200000-600000&sort=departureTime_ASC&page=50`,
  'no filter, default sort, page 50': () => 'page=50',
};

/** The popular searches a sale day repeats: 50 route/day pairs, by a skewed pick (the first ones most). */
const HOT = Array.from({ length: 50 }, (_, i) => {
  const a = i % 6;
  const b = (a + 1 + (i % 5)) % 6;
  const day = new Date(Date.UTC(2027, 0, 1) + (i % 10) * 86_400_000).toISOString().slice(0, 10);
  return `/api/v1/flights?trips=${AIRPORTS[a]}-${AIRPORTS[b]}&tripDate=${day}&sort=price_ASC`;
});
export const hotSearch = () => HOT[Math.floor(HOT.length * Math.random() ** 2)];

const searchLoad = (url: string, path: () => string, connections = 32, durationSec = SECONDS) =>
  load({ url, connections, durationSec, headers: INTERNAL, next: () => ({ path: path() }) });

/**
 * Cached search (the hot set, Redis on) against flight-service's `/health` on the same process, interleaved
 * over the rounds; the ratios are the medians of the rounds.
 */
export async function cachedSearchVsFloor(prefix: string, basePort: number, redis: PrivateRedis) {
  const port = basePort + PORT_OFFSET;
  const flight = await startService('flight-service', port, {
    DB_NAME_PREFIX: prefix,
    FLIGHT_SERVICE_PORT: String(port),
    REDIS_URL: redis.url,
    SEARCH_CACHE_TTL_MS: '1000',
  });
  try {
    await searchLoad(flight.url, () => hotSearch(), 32, 2); // warm-up
    const rounds: Array<{ floor: LoadResult; cached: LoadResult; hitRate: number }> = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const floor = await load({
        url: flight.url,
        connections: 32,
        durationSec: SECONDS,
        next: () => ({ path: '/health' }),
      });
      log(`GET /health (floor, round ${round})`, floor);
      await redis.reset();
      const cached = await searchLoad(flight.url, () => hotSearch());
      const hitRate = await redis.hitRate();
      log(`cached search, hot set (round ${round})`, cached, `hit rate ${hitRate}`);
      rounds.push({ floor, cached, hitRate });
    }
    const rps = rounds.map((r) => round2(r.cached.rps / r.floor.rps));
    const p99 = rounds.map((r) => round2(r.cached.p99Ms / r.floor.p99Ms));
    return {
      rounds: rounds.map((r) => ({
        floorRps: r.floor.rps,
        floorP99Ms: r.floor.p99Ms,
        cachedRps: r.cached.rps,
        cachedP99Ms: r.cached.p99Ms,
        hitRate: r.hitRate,
      })),
      rpsRatio: median(rps),
      rpsRatioRounds: rps,
      p99Ratio: median(p99),
      p99RatioRounds: p99,
    };
  } finally {
    await flight.stop();
  }
}

/** Uncached search (no Redis) per shape at the catalog's current size: 16 clients, p99 per shape. */
export async function uncachedShapes(url: string, label: string, durationSec = Math.min(SECONDS, 3)) {
  const out: Record<string, Figure> = {};
  // Not recorded: JIT and the buffer pool settle over every shape first.
  const shapes = Object.values(SHAPES);
  await searchLoad(url, () => `/api/v1/flights?${pick(shapes)()}`, 16, 3);
  for (const [shape, query] of Object.entries(SHAPES)) {
    const r = await searchLoad(url, () => `/api/v1/flights?${query()}`, 16, durationSec);
    log(`uncached ${shape} (${label})`, r);
    out[shape] = { name: shape, ...r };
  }
  return out;
}

/**
 * 100 searches (the hot set) per booking (one seat on one hot flight), through the gateway, with the search
 * cache on or off: bookings/s, search p99 and the searches' rate.
 */
export async function mixedLoad(prefix: string, basePort: number, redis: PrivateRedis | undefined) {
  const stack = await startBenchStack(prefix, 1, basePort, redis ? { REDIS_URL: redis.url } : {});
  const tokens = tokensFor(200);
  try {
    const planes = (await (
      await fetch(`${stack.flights[0].url}/api/v1/airplanes`, { headers: INTERNAL })
    ).json()) as { data: Array<{ id: number }> };
    const departure = Date.now() + 30 * 86_400_000;
    const res = await fetch(`${stack.flights[0].url}/api/v1/flights`, {
      method: 'POST',
      headers: { ...INTERNAL, 'x-user-id': '1', 'x-user-role': 'admin', 'content-type': 'application/json' },
      body: JSON.stringify({
        flightNumber: 'MIX1',
        airplaneId: planes.data[0].id,
        departureAirportCode: 'DEL',
        arrivalAirportCode: 'BOM',
        departureTime: new Date(departure).toISOString(),
        arrivalTime: new Date(departure + 7_200_000).toISOString(),
        price: 500000,
      }),
    });
    const hot = ((await res.json()) as { id: number }).id;
    const fdb = await mysql.createConnection({ ...DB, database: `${prefix}flights` });
    await fdb.query('UPDATE flights SET totalSeats = 100000000, availableSeats = 100000000 WHERE id = ?', [
      hot,
    ]);
    await seedSearchFlights(fdb, MIXED_FLIGHTS);
    await fdb.end();
    let n = 0;
    const r = await load({
      url: stack.gateway.url,
      connections: 64,
      durationSec: SECONDS * 2,
      next: () => {
        n += 1;
        if (n % 101 === 0) {
          return {
            method: 'POST',
            path: '/api/v1/bookings',
            body: { flightId: hot, noOfSeats: 1 },
            headers: { authorization: `Bearer ${pick(tokens)}` },
          };
        }
        return { method: 'GET', path: hotSearch() };
      },
    });
    const bookings = r.statuses['201'] ?? 0;
    const seconds = SECONDS * 2;
    const figures = {
      bookingsPerSec: round2(bookings / seconds),
      searchesPerSec: round2((r.statuses['200'] ?? 0) / seconds),
      // autocannon's latency covers both kinds; with 100 searches per booking it is the searches'.
      p99Ms: r.p99Ms,
      p50Ms: r.p50Ms,
      statuses: r.statuses,
      hitRate: redis ? await redis.hitRate() : null,
    };
    console.log(`mixed load (cache ${redis ? 'on' : 'off'}): ${JSON.stringify(figures)}`);
    return figures;
  } finally {
    await stack.stop();
  }
}
