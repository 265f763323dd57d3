import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';
import {
  DB,
  INTERNAL_TOKEN,
  dropDatabases,
  load,
  median,
  rawLockedRowTps,
  round2,
  rssMb,
  startService,
  type LoadResult,
} from './lib';

/**
 * `npm run bench`: figures, not a test. Every comparison is made in interleaved rounds against its anchor
 * (the raw MariaDB locked-row rate measured in the same run), and reported as ratios with their spread.
 */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 6);
const PREFIX = `bench_${Date.now().toString(36)}_`;
const FLIGHT_PORT = 4301;
const ADMIN = { 'x-internal-token': INTERNAL_TOKEN, 'x-user-id': '1', 'x-user-role': 'admin' };
const AIRPORTS = ['DEL', 'BOM', 'BLR', 'MAA', 'CCU', 'HYD'];

interface Scenario extends LoadResult {
  name: string;
  clients: number;
  oversell?: number;
}

async function api(url: string, method: string, body?: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(url, {
    method,
    headers: { ...ADMIN, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status >= 300) throw new Error(`${method} ${url} → ${res.status} ${await res.text()}`);
  return (await res.json()) as Record<string, unknown>;
}

/** A flight with effectively unlimited seats, so the hot-row benchmark measures locking, not sell-outs. */
async function hotFlight(flightUrl: string, db: mysql.Connection): Promise<number> {
  const planes = (await api(`${flightUrl}/api/v1/airplanes`, 'GET')) as { data: Array<{ id: number }> };
  const departure = new Date(Date.now() + 30 * 86_400_000);
  const flight = await api(`${flightUrl}/api/v1/flights`, 'POST', {
    flightNumber: `HOT${Math.floor(Math.random() * 1000)}`,
    airplaneId: planes.data[0].id,
    departureAirportCode: 'DEL',
    arrivalAirportCode: 'BOM',
    departureTime: departure.toISOString(),
    arrivalTime: new Date(departure.getTime() + 7_200_000).toISOString(),
    price: 500000,
  });
  await db.query('UPDATE flights SET totalSeats = 100000000, availableSeats = 100000000 WHERE id = ?', [
    flight.id,
  ]);
  return flight.id as number;
}

async function oversell(db: mysql.Connection): Promise<number> {
  const [rows] = (await db.query(
    `SELECT COUNT(*) AS bad FROM flights f
       WHERE f.availableSeats < 0 OR f.availableSeats + (SELECT COALESCE(SUM(seats), 0) FROM seat_reservations r
                                                       WHERE r.flightId = f.id AND r.status = 'HELD') <> f.totalSeats`,
  )) as unknown as [Array<{ bad: number }>];
  return Number(rows[0].bad);
}

async function insertFlights(db: mysql.Connection, count: number): Promise<void> {
  const [[plane]] = (await db.query('SELECT id, capacity FROM airplanes LIMIT 1')) as unknown as [
    Array<{ id: number; capacity: number }>,
  ];
  const start = Date.UTC(2027, 0, 1);
  for (let done = 0; done < count; done += 2000) {
    const rows = [];
    for (let i = done; i < Math.min(count, done + 2000); i++) {
      const from = AIRPORTS[i % 6];
      const to = AIRPORTS[(i + 1 + (Math.floor(i / 6) % 5)) % 6];
      const dep = new Date(start + ((i * 7919) % (365 * 24 * 60)) * 60_000);
      rows.push([
        `BX${i}`,
        plane.id,
        from,
        to,
        dep,
        new Date(dep.getTime() + 7_200_000),
        100000 + ((i * 104729) % 900000),
        plane.capacity,
        plane.capacity,
      ]);
    }
    await db.query(
      'INSERT INTO flights (flightNumber, airplaneId, departureAirportCode, arrivalAirportCode, departureTime, arrivalTime, price, totalSeats, availableSeats) VALUES ?',
      [rows],
    );
  }
}

function searchPath(): string {
  const a = Math.floor(Math.random() * 6);
  const b = (a + 1 + Math.floor(Math.random() * 5)) % 6;
  const day = new Date(Date.UTC(2027, 0, 1) + Math.floor(Math.random() * 365) * 86_400_000)
    .toISOString()
    .slice(0, 10);
  return Math.random() < 0.5
    ? `/api/v1/flights?trips=${AIRPORTS[a]}-${AIRPORTS[b]}&tripDate=${day}&travellers=2&sort=price_ASC`
    : `/api/v1/flights?trips=${AIRPORTS[a]}-${AIRPORTS[b]}&price=200000-600000&sort=price_ASC,departureTime_DESC&limit=20`;
}

function printTable(scenarios: Scenario[], raw: number): void {
  const rows = scenarios.map((s) => ({
    scenario: s.name,
    clients: s.clients,
    'req/s': s.rps,
    'x raw': round2(s.rps / raw),
    p50: s.p50Ms,
    p99: s.p99Ms,
    statuses: JSON.stringify(s.statuses),
    oversell: s.oversell ?? '',
  }));
  console.table(rows);
}

async function main(): Promise<void> {
  console.log(
    `bench: ${os.cpus().length} cpus, ${ROUNDS} interleaved rounds of ${SECONDS}s; prefix ${PREFIX}`,
  );
  const flight = await startService('flight-service', FLIGHT_PORT, {
    DB_NAME_PREFIX: PREFIX,
    FLIGHT_SERVICE_PORT: String(FLIGHT_PORT),
    MIGRATE_ON_START: 'true',
    SEED_DEMO_DATA: 'true',
    DB_POOL_MAX: '20',
  });
  const db = await mysql.createConnection({ ...DB, database: `${PREFIX}flights` });
  const scenarios: Scenario[] = [];
  const rawRounds: number[] = [];
  const ratios: number[] = [];
  try {
    const flightId = await hotFlight(flight.url, db);
    let booking = 1;
    const reserve = () =>
      load({
        url: flight.url,
        connections: 16,
        durationSec: SECONDS,
        method: 'PUT',
        headers: { 'x-internal-token': INTERNAL_TOKEN },
        next: () => ({
          path: `/internal/v1/flights/${flightId}/reservations/${booking++}`,
          body: { seats: 1 },
        }),
      });
    for (let round = 1; round <= ROUNDS; round++) {
      const raw = await rawLockedRowTps(`${PREFIX}raw`, 16, 1, SECONDS);
      const res = await reserve();
      rawRounds.push(raw);
      ratios.push(res.rps / raw);
      console.log(
        `round ${round}: raw ${raw} tx/s, reservations ${res.rps}/s (ratio ${round2(res.rps / raw)}), p99 ${res.p99Ms} ms`,
      );
      scenarios.push({
        name: `flight-service reservations, hot flight (round ${round})`,
        clients: 16,
        ...res,
        oversell: await oversell(db),
      });
    }
    const raw100 = await rawLockedRowTps(`${PREFIX}raw`, 16, 100, SECONDS);
    console.log(`raw locked-row rate over 100 rows: ${raw100} tx/s`);

    await insertFlights(db, 100_000);
    const search = await load({
      url: flight.url,
      connections: 32,
      durationSec: SECONDS,
      headers: { 'x-internal-token': INTERNAL_TOKEN },
      next: () => ({ path: searchPath() }),
    });
    scenarios.push({ name: 'search at 100k flights', clients: 32, ...search });

    const rawMedian = median(rawRounds);
    printTable(scenarios, rawMedian);
    const summary = {
      machine: {
        cpus: os.cpus().length,
        model: os.cpus()[0]?.model,
        memGb: Math.round(os.totalmem() / 2 ** 30),
        node: process.version,
      },
      rawHotRowTps: rawMedian,
      rawHotRowTpsRounds: rawRounds,
      raw100RowsTps: raw100,
      scenarios: scenarios.map((s) => ({
        name: s.name,
        clients: s.clients,
        rps: s.rps,
        p50Ms: s.p50Ms,
        p95Ms: s.p95Ms,
        p99Ms: s.p99Ms,
        errors: s.statuses,
        oversell: s.oversell ?? null,
      })),
      ratios: {
        flightReservations: round2(median(ratios)),
        flightReservationsSpread: [round2(Math.min(...ratios)), round2(Math.max(...ratios))],
      },
      rssMb: { 'flight-service': await rssMb(flight.proc.pid) },
    };
    console.log(
      `flight-service reservations / raw hot row: median ${summary.ratios.flightReservations} (rounds ${ratios.map(round2).join(', ')})`,
    );
    console.log(
      `search at 100k flights, 32 clients: p50 ${search.p50Ms} ms, p99 ${search.p99Ms} ms, ${search.rps} req/s`,
    );
    fs.writeFileSync(path.join(__dirname, '..', 'results.json'), JSON.stringify(summary, null, 2));
  } finally {
    await db.end();
    await flight.stop();
    await dropDatabases(PREFIX);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
