import fs from 'node:fs';
import os from 'node:os';
import mysql from 'mysql2/promise';
import { mariadbPid, okAnswers, withCpu, type CpuMs, type Pids } from './cpu-cost';
import { DB, ADMIN, dropDatabases, load, median, rawLockedRowTps, round2, type LoadResult } from './lib';
import { paymentsLoad, startBenchStack, tokensFor, type BenchStack } from './stack';

/**
 * `node bench/dist/cpu.js`: CPU per booking and per payment by process, for issue #18, and an A/B of builds.
 * CPU_ROOTS (comma-separated checkouts, each built with `npx tsc -b`; this one by default) each get a stack of
 * their own; every round runs, per stack in alternating order (A B, B A, …): gateway bookings @16, @64 (a fresh
 * 99,990-seat hot flight per round, so every stack's rounds see the same fill) and payments @16 straight at
 * booking-service, reading each process's CPU from /proc around each load. MariaDB is shared with everything
 * else on the machine: its figure is an upper bound. CPU_RAW=1 adds the raw locked-row anchor each round.
 */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROOTS = (process.env.CPU_ROOTS ?? '').split(',').filter(Boolean);
const SCENARIOS = (process.env.CPU_SCENARIOS ?? 'book16,book64,pay16').split(',');
/** CPU_RATE: a fixed offered load in requests/s for every scenario (CPU per request then compares like with like). */
const RATE = Number(process.env.CPU_RATE ?? 0) || undefined;
/** CPU_PAIRED=1: the stacks are loaded at the same time in each round (mariadb's figure is then theirs together). */
const PAIRED = process.env.CPU_PAIRED === '1';
const BENCH_NODE_ARGS = process.env.BENCH_NODE_ARGS ?? '';
const PREFIX = `benchcpu_${Date.now().toString(36)}_`;

interface Stack {
  label: string;
  prefix: string;
  stack: BenchStack;
  fdb: mysql.Connection;
  created: Array<{ id: number; userId: number; totalCost: number }>;
}

/**
 * CPU_FLIGHTS flights (1 by default) of CPU_SEATS seats each (99,990 by default, 10 a row: run.ts's hot flight).
 * Many small flights keep flight-service's seat chooser out of the figure while its hot-flight cost is fixed.
 */
const FLIGHTS = Number(process.env.CPU_FLIGHTS ?? 1);
const SEATS = Number(process.env.CPU_SEATS ?? 99_990);

async function hotFlights(s: Stack): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 0; i < FLIGHTS; i++) ids.push(await hotFlight(s));
  return ids;
}

async function hotFlight(s: Stack): Promise<number> {
  const url = s.stack.flights[0].url;
  const headers = { ...ADMIN, 'content-type': 'application/json' };
  const planes = (await (await fetch(`${url}/api/v1/airplanes`, { headers })).json()) as {
    data: Array<{ id: number }>;
  };
  const departure = new Date(Date.now() + 30 * 86_400_000);
  const res = await fetch(`${url}/api/v1/flights`, {
    method: 'POST',
    headers,
    body: JSON.stringify({
      flightNumber: 'HOT1',
      airplaneId: planes.data[0].id,
      departureAirportCode: 'DEL',
      arrivalAirportCode: 'BOM',
      departureTime: departure.toISOString(),
      arrivalTime: new Date(departure.getTime() + 7_200_000).toISOString(),
      price: 500000,
    }),
  });
  const id = ((await res.json()) as { id: number }).id;
  // A checkout from before seats (CPU_ROOTS) has no seatsPerRow and books counts only: nothing to set there.
  await s.fdb
    .query('UPDATE airplanes SET seatsPerRow = 10 WHERE id = ?', [planes.data[0].id])
    .catch((err: { errno?: number }) => {
      if (err.errno !== 1054) throw err; // ER_BAD_FIELD_ERROR: no such column
    });
  await s.fdb.query('UPDATE flights SET totalSeats = ?, availableSeats = ? WHERE id = ?', [SEATS, SEATS, id]);
  return id;
}

const procsOf = (s: Stack): Pids => ({
  gateway: s.stack.gateway.proc.pid,
  booking: s.stack.bookings[0].proc.pid,
  flight: s.stack.flights[0].proc.pid,
  mariadb: mariadbPid(),
});

interface Measured {
  rps: number;
  p99Ms: number;
  ok: number;
  errors: number;
  /** CPU ms per successful request, by process, and their sum. */
  cpuMs: CpuMs;
  /** Context switches per successful request, by process. */
  switches: CpuMs;
  /** MariaDB's global counters per successful request (the whole shared server: an upper bound). */
  db: CpuMs;
}

const DB_COUNTERS = [
  'Questions',
  'Com_commit',
  'Com_select',
  'Com_insert',
  'Com_update',
  // MariaDB 10.11 has no Innodb_os_log_fsyncs: data and log fsyncs together.
  'Innodb_data_fsyncs',
];

async function dbCounters(conn: mysql.Connection): Promise<Record<string, number>> {
  const [rows] = await conn.query('SHOW GLOBAL STATUS WHERE Variable_name IN (?)', [DB_COUNTERS]);
  return Object.fromEntries(
    (rows as Array<{ Variable_name: string; Value: string }>).map((r) => [r.Variable_name, Number(r.Value)]),
  );
}

async function measure(s: Stack, scenario: string, tokens: string[]): Promise<Measured> {
  const run = async (): Promise<LoadResult> => {
    if (scenario === 'pay16') {
      return paymentsLoad(s.stack.bookings[0].url, s.created.splice(0), 'cpu', SECONDS, RATE);
    }
    const flights = await hotFlights(s);
    return load({
      url: s.stack.gateway.url,
      connections: scenario === 'book64' ? 64 : 16,
      durationSec: SECONDS,
      overallRate: RATE,
      method: 'POST',
      next: () => ({
        path: '/api/v1/bookings',
        body: { flightId: flights[Math.floor(Math.random() * flights.length)], noOfSeats: 1 },
        headers: { authorization: `Bearer ${tokens[Math.floor(Math.random() * tokens.length)]}` },
      }),
      onBody: (status, body) => {
        if (status !== 201) return;
        const b = JSON.parse(body) as { id: number; userId: number; totalCost: number };
        s.created.push({ id: b.id, userId: b.userId, totalCost: b.totalCost });
      },
    });
  };
  const dbBefore = await dbCounters(s.fdb);
  const r = await withCpu(procsOf(s), run);
  const dbAfter = await dbCounters(s.fdb);
  const ok = okAnswers(r.statuses);
  const db = Object.fromEntries(
    DB_COUNTERS.map((k) => [k, round2(((dbAfter[k] ?? 0) - (dbBefore[k] ?? 0)) / Math.max(1, ok))]),
  );
  return {
    rps: r.rps,
    p99Ms: r.p99Ms,
    ok,
    errors: r.requests - ok,
    cpuMs: r.cpuMs,
    switches: r.switches,
    db,
  };
}

/** CPU_ENVS: `;`-separated, one per stack, each `K=V,K=V` on top of the defaults (e.g. observability off). */
const ENVS = (process.env.CPU_ENVS ?? '').split(';').map((e) =>
  Object.fromEntries(
    e
      .split(',')
      .filter(Boolean)
      .map((kv) => kv.split('=') as [string, string]),
  ),
);

async function main(): Promise<void> {
  const roots = ROOTS.length ? ROOTS : ENVS.length > 1 ? ENVS.map(() => undefined) : [undefined];
  const tokens = tokensFor(1000);
  const stacks: Stack[] = [];
  try {
    for (const [i, root] of roots.entries()) {
      const prefix = `${PREFIX}${i}_`;
      // CPU_NODE_ARGS: `;`-separated, one per stack, more node flags for its services (after BENCH_NODE_ARGS).
      const nodeArgs = (process.env.CPU_NODE_ARGS ?? '').split(';')[i] ?? '';
      process.env.BENCH_NODE_ARGS = `${BENCH_NODE_ARGS} ${nodeArgs}`;
      if (nodeArgs) ENVS[i] = { ...ENVS[i], CPU_NODE_ARGS_LABEL: nodeArgs };
      const stack = await startBenchStack(prefix, 1, 4700 + i * 100, {}, ENVS[i] ?? {}, undefined, root);
      const fdb = await mysql.createConnection({ ...DB, database: `${prefix}flights` });
      const label = `${root ?? 'this'}${Object.keys(ENVS[i] ?? {}).length ? ` ${JSON.stringify(ENVS[i])}` : ''}`;
      stacks.push({ label, prefix, stack, fdb, created: [] });
    }
    for (const s of stacks) {
      // Warm-up, not recorded: JIT, pools, the flight cache; leaves bookings for the first payments.
      for (const sc of SCENARIOS) await measure(s, sc, tokens);
    }
    const results: Record<string, Record<string, Measured[]>> = {};
    const raw: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      if (process.env.CPU_RAW === '1') raw.push(await rawLockedRowTps(`${PREFIX}raw`, 16, 1, SECONDS));
      const show = (s: Stack, sc: string, m: Measured) => {
        ((results[s.label] ??= {})[sc] ??= []).push(m);
        console.log(
          `round ${round} ${s.label} ${sc}: ${m.rps}/s p99 ${m.p99Ms} ms ok ${m.ok} err ${m.errors} cpu ms ${JSON.stringify(m.cpuMs)} switches ${JSON.stringify(m.switches)} db ${JSON.stringify(m.db)} load ${os.loadavg()[0].toFixed(2)}`,
        );
      };
      if (PAIRED) {
        // Every stack under the same load at the same time: each sees the machine's contention as the others do.
        for (const sc of SCENARIOS) {
          const ms = await Promise.all(stacks.map((s) => measure(s, sc, tokens)));
          stacks.forEach((s, i) => show(s, sc, ms[i]));
        }
        continue;
      }
      const order = round % 2 === 1 ? stacks : [...stacks].reverse();
      for (const s of order) for (const sc of SCENARIOS) show(s, sc, await measure(s, sc, tokens));
    }
    if (raw.length) console.log(`raw locked-row rate (1 row, 16 connections): rounds ${raw.join(', ')} tx/s`);
    const summary: Record<string, unknown> = { rounds: ROUNDS, seconds: SECONDS, raw, load: os.loadavg() };
    for (const sc of SCENARIOS) {
      for (const s of stacks) {
        const ms = results[s.label][sc];
        const keys = Object.keys(ms[0].cpuMs);
        const med = Object.fromEntries(keys.map((k) => [k, round2(median(ms.map((m) => m.cpuMs[k])))]));
        console.log(
          `${sc} ${s.label}: median ${median(ms.map((m) => m.rps))}/s${raw.length ? ` (${round2(median(ms.map((m) => m.rps)) / median(raw))} x raw)` : ''} p99 ${median(ms.map((m) => m.p99Ms))} ms; cpu ms/req ${JSON.stringify(med)}`,
        );
        summary[`${sc} ${s.label}`] = { rps: ms.map((m) => m.rps), cpuMs: ms.map((m) => m.cpuMs) };
      }
      const [a, ...others] = stacks.map((s) => results[s.label][sc]);
      others.forEach((b, j) => {
        const name = `${sc} ${stacks[j + 1].label} / ${stacks[0].label}`;
        for (const k of ['gateway', 'booking', 'flight', 'services', 'total']) {
          const ratios = a.map((m, i) => round2(b[i].cpuMs[k] / m.cpuMs[k]));
          console.log(`${name} cpu ${k}: median ${round2(median(ratios))} rounds ${ratios.join(', ')}`);
        }
        const rr = a.map((m, i) => round2(b[i].rps / m.rps));
        console.log(`${name} req/s: median ${round2(median(rr))} rounds ${rr.join(', ')}`);
      });
    }
    if (process.env.CPU_OUT) fs.writeFileSync(process.env.CPU_OUT, JSON.stringify(summary, null, 2));
  } finally {
    for (const s of stacks) {
      await s.fdb.end().catch(() => undefined);
      await s.stack.stop().catch(() => undefined);
      await dropDatabases(s.prefix).catch(() => undefined);
    }
    await dropDatabases(`${PREFIX}raw`).catch(() => undefined);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
