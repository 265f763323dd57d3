import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { startGaleraCluster, type GaleraCluster, type GaleraNode } from '@skyway/common/dist/testing/galera';
import { api, load, median, round2, type LoadResult } from './lib';
import { startBenchStack, tokensFor, type BenchStack } from './stack';

/**
 * `npm run bench:cluster` (issue #17): hot-flight bookings through the gateway on a three-node Galera cluster vs on a
 * single server, same run, same machine, interleaved rounds (single, cluster, single, cluster, …) at 16 and 64
 * clients. Figures, not a test.
 *
 * Both sides are private `mariadbd`s started by common/src/testing/galera.ts with the same settings (32 MB buffer
 * pool, no fsync per commit, no doublewrite): the single server is one of them with wsrep off, so Galera replication
 * and certification are the only difference (the machine's own MariaDB fsyncs every commit, which would be a second
 * one). Each side runs the same processes: a gateway, two flight-services and two booking-services, pool 10 each; on
 * the cluster the first pair uses node 1, the second node 2, the gateway node 3.
 *
 * Each measurement books ONE airplane of 1000 seats (the catalog's maximum), 1 seat per request, exactly 1000
 * requests, on a fresh flight, so it never sells out and every round starts alike. After each one the flight's
 * seats are checked in the tables (no oversell) and the cluster's certification aborts (wsrep_local_cert_failures +
 * wsrep_local_bf_aborts over the nodes) are counted per booking.
 */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SEATS = 1000;
const CLIENTS = [16, 64];
const PREFIX = `benchc_${Date.now().toString(36)}_`;
const POOL = { DB_POOL_MAX: '8' };

interface Side {
  name: 'single' | 'cluster' | 'one-writer';
  servers: GaleraCluster;
  stack: BenchStack;
  airplaneId: number;
  /** Reads the tables after everything the side committed (node 3 with wsrep_sync_wait on the cluster). */
  flightsDb: mysql.Connection;
  bookingsDb: mysql.Connection;
}

interface Measurement extends LoadResult {
  side: Side['name'];
  clients: number;
  round: number;
  booked: number;
  /** 0 when the flight's seats add up in flight-service's and booking-service's tables. */
  oversold: number;
  certAborts: number;
  /** Certification aborts per successful booking (0 on the single server, which has none). */
  certAbortRate: number;
  load1: number;
}

const dbEnv = (node: GaleraNode) => ({
  DB_HOST: '127.0.0.1',
  DB_PORT: String(node.port),
  DB_USER: 'root',
  DB_PASSWORD: '',
});

async function reader(node: GaleraNode, database: string, wsrep: boolean): Promise<mysql.Connection> {
  const conn = await mysql.createConnection({
    host: '127.0.0.1',
    port: node.port,
    user: 'root',
    password: '',
    database,
  });
  if (wsrep) await conn.query('SET SESSION wsrep_sync_wait = 1');
  return conn;
}

const portFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '0.0.0.0', () => s.close(() => resolve(true)));
  });

/**
 * A base port whose next 20 ports are free now (the stack uses base … base + 19): other benches on this machine use
 * fixed ports, and a service that cannot listen would leave /ready answered by someone else's stack.
 */
async function freeBasePort(): Promise<number> {
  for (;;) {
    const base = 20_000 + 20 * Math.floor(Math.random() * 1500);
    const free = await Promise.all(Array.from({ length: 20 }, (_, i) => portFree(base + i)));
    if (free.every(Boolean)) return base;
  }
}

/**
 * single: everything on the one server. cluster: the gateway on node 3, flight-service + booking-service pair i on
 * node i + 1 (both nodes take writes for the hot flight). one-writer: the same cluster, both pairs on node 1 (the
 * single-writer layout a Galera-aware proxy gives; the other nodes replicate and could serve reads).
 */
async function startSide(name: Side['name'], cluster?: GaleraCluster): Promise<Side> {
  const basePort = await freeBasePort();
  const wsrep = name !== 'single';
  const servers = cluster ?? (await startGaleraCluster({ wsrep, size: 3 }));
  const [n1, n2, n3] = servers.nodes;
  const prefix = `${PREFIX}${name[0]}_`;
  const stack = await startBenchStack(prefix, 2, basePort, {}, { ...POOL, ...dbEnv(wsrep ? n3 : n1) }, (i) =>
    dbEnv(name === 'cluster' ? [n1, n2][i] : n1),
  );
  const plane = await api(`${stack.flights[0].url}/api/v1/airplanes`, 'POST', {
    modelNumber: 'BENCH-1000',
    capacity: SEATS,
  });
  return {
    name,
    servers,
    stack,
    airplaneId: plane.id as number,
    flightsDb: await reader(wsrep ? n3 : n1, `${prefix}flights`, wsrep),
    bookingsDb: await reader(wsrep ? n3 : n1, `${prefix}bookings`, wsrep),
  };
}

let flightSeq = 0;
async function freshFlight(side: Side): Promise<number> {
  const departure = new Date(Date.now() + 30 * 86_400_000);
  flightSeq += 1;
  const flight = await api(`${side.stack.flights[0].url}/api/v1/flights`, 'POST', {
    flightNumber: `CL${flightSeq}`,
    airplaneId: side.airplaneId,
    departureAirportCode: 'DEL',
    arrivalAirportCode: 'BOM',
    departureTime: departure.toISOString(),
    arrivalTime: new Date(departure.getTime() + 7_200_000).toISOString(),
    price: 500000,
    totalSeats: SEATS,
  });
  return flight.id as number;
}

async function certAborts(side: Side): Promise<number> {
  if (side.name === 'single') return 0;
  let n = 0;
  for (const node of side.servers.nodes) {
    const s = await side.servers.status(node);
    n += Number(s.wsrep_local_cert_failures ?? 0) + Number(s.wsrep_local_bf_aborts ?? 0);
  }
  return n;
}

const one = async <T>(db: mysql.Connection, sql: string, values: unknown[]): Promise<T> =>
  ((await db.query(sql, values)) as unknown as [T[]])[0][0];

/**
 * How far the flight's seats are from adding up: |available + held − total|, |held − seat rows|, |held − the live
 * bookings' seats| and |held − booked| summed (0 = consistent).
 */
async function oversold(side: Side, flightId: number, booked: number): Promise<number> {
  const f = await one<{ available: number; total: number; held: string | number; seatRows: string | number }>(
    side.flightsDb,
    `SELECT f.availableSeats AS available, f.totalSeats AS total,
            (SELECT COALESCE(SUM(seats), 0) FROM seat_reservations r WHERE r.flightId = f.id AND r.status = 'HELD') AS held,
            (SELECT COUNT(*) FROM flight_seats s WHERE s.flightId = f.id) AS seatRows
       FROM flights f WHERE f.id = ?`,
    [flightId],
  );
  const b = await one<{ seats: string | number }>(
    side.bookingsDb,
    `SELECT COALESCE(SUM(no_of_seats), 0) AS seats FROM bookings
      WHERE flight_id = ? AND status IN ('INITIATED', 'PENDING', 'BOOKED')`,
    [flightId],
  );
  const held = Number(f.held);
  return (
    Math.abs(f.available + held - f.total) +
    Math.abs(held - Number(f.seatRows)) +
    Math.abs(held - Number(b.seats)) +
    Math.abs(held - booked)
  );
}

const tokens = tokensFor(1000);
/** The time of the first and the last answer of the current measurement (process.hrtime, ns). */
const answered = { first: 0n, last: 0n };
function book(side: Side, flightId: number, clients: number, amount: number): Promise<LoadResult> {
  answered.first = 0n;
  return load({
    onBody: () => {
      answered.last = process.hrtime.bigint();
      if (!answered.first) answered.first = answered.last;
    },
    url: side.stack.gateway.url,
    connections: clients,
    durationSec: 120,
    amount,
    method: 'POST',
    next: () => ({
      path: '/api/v1/bookings',
      body: { flightId, noOfSeats: 1 },
      headers: { authorization: `Bearer ${tokens[Math.floor(Math.random() * tokens.length)]}` },
    }),
  });
}

async function measure(side: Side, clients: number, round: number): Promise<Measurement> {
  const flightId = await freshFlight(side);
  const before = await certAborts(side);
  const measured = await book(side, flightId, clients, SEATS);
  // autocannon's average is over whole-second samples, and with a fixed number of requests it also ends on a
  // whole second (1000 requests read 100, 111, 125 or 143 req/s): the rate is taken between the first and the
  // last answer instead.
  const seconds = Number(answered.last - answered.first) / 1e9;
  const r = { ...measured, rps: Math.round((measured.requests - 1) / seconds) };
  const load1 = round2(os.loadavg()[0]);
  // Requests the load generator gave up on may still be finishing inside the services.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const booked = r.statuses['201'] ?? 0;
  const aborts = (await certAborts(side)) - before;
  const m: Measurement = {
    ...r,
    side: side.name,
    clients,
    round,
    booked,
    oversold: await oversold(side, flightId, booked),
    certAborts: aborts,
    certAbortRate: round2(aborts / Math.max(1, booked)),
    load1,
  };
  console.log(
    `${side.name.padEnd(10)} ${String(clients).padStart(3)} clients (round ${round}) ${String(r.rps).padStart(5)} req/s  ` +
      `p50 ${r.p50Ms} ms  p99 ${r.p99Ms} ms  ${JSON.stringify(r.statuses)}  cert aborts ${aborts} ` +
      `(${m.certAbortRate}/booking)  oversold ${m.oversold}  load ${load1}`,
  );
  return m;
}

const sides: Side[] = [];
let cleaning: Promise<void> | undefined;
/** Stops every service process and database server this run started (also on Ctrl-C / SIGTERM). */
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const side of sides) {
      // (one-writer shares the cluster's servers: stop() is idempotent)
      await side.flightsDb.end().catch(() => undefined);
      await side.bookingsDb.end().catch(() => undefined);
      await side.stack.stop().catch(() => undefined);
      await side.servers.stop().catch(() => undefined);
    }
  })();
  return cleaning;
}
for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.once(sig, () => void cleanup().finally(() => process.exit(130)));

async function main(): Promise<void> {
  console.log(
    `bench:cluster: ${os.cpus().length} cpus, ${ROUNDS} interleaved rounds, ${SEATS} bookings each`,
  );
  const results: Measurement[] = [];
  try {
    sides.push(await startSide('single'));
    sides.push(await startSide('cluster'));
    sides.push(await startSide('one-writer', sides[1].servers));
    // Warm-up on each side (not recorded): the services' JIT, the pools, the nodes' buffer pools.
    for (const side of sides) await book(side, await freshFlight(side), 16, 300);
    for (let round = 1; round <= ROUNDS; round++)
      for (const clients of CLIENTS)
        for (const side of sides) results.push(await measure(side, clients, round));
  } finally {
    await cleanup();
  }

  const summary = CLIENTS.flatMap((clients) => {
    const of = (name: Side['name']) => results.filter((m) => m.side === name && m.clients === clients);
    const single = of('single');
    return sides.map(({ name }) => {
      const side = of(name);
      const ratios = single.map((s, i) => round2(side[i].rps / s.rps));
      return {
        side: name,
        clients,
        rps: side.map((m) => m.rps),
        overSingle: { median: median(ratios), rounds: ratios },
        p99Ms: side.map((m) => m.p99Ms),
        medianP99Ms: median(side.map((m) => m.p99Ms)),
        certAbortsPerBooking: side.map((m) => m.certAbortRate),
        oversold: side.reduce((n, m) => n + m.oversold, 0),
        load1: side.map((m) => m.load1),
      };
    });
  });
  fs.writeFileSync(
    path.join(__dirname, '..', 'results-cluster.json'),
    JSON.stringify({ when: new Date().toISOString(), results, summary }, null, 2),
  );
  console.log(
    '\nside | clients | req/s (rounds) | ÷ single, median [rounds] | p99 ms median (rounds) | cert aborts per booking | oversold | load',
  );
  for (const s of summary)
    console.log(
      `${s.side} | ${s.clients} | ${s.rps.join(', ')} | ${s.overSingle.median} [${s.overSingle.rounds.join(', ')}] | ` +
        `${s.medianP99Ms} (${s.p99Ms.join(', ')}) | ${s.certAbortsPerBooking.join(', ')} | ${s.oversold} | ` +
        `${s.load1.join(', ')}`,
    );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
