import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import autocannon from 'autocannon';
import mysql from 'mysql2/promise';

export const ROOT = path.resolve(__dirname, '..', '..');
/**
 * The MariaDB the bench and its services use: the shared one, or with DB_PORT a private one (e.g. a server with a
 * buffer pool sized for a 1M-flight catalog); the services read the same variable.
 */
export const DB = {
  host: '127.0.0.1',
  port: Number(process.env.DB_PORT ?? 3306),
  user: 'root',
  password: '',
};
export const INTERNAL_TOKEN = 'bench-internal-token';
/** BENCH_PORT_OFFSET moves every port the bench listens on (services, private Redis), for two benches at once. */
export const PORT_OFFSET = Number(process.env.BENCH_PORT_OFFSET ?? 0);

export interface LoadResult {
  rps: number;
  p50Ms: number;
  meanMs: number;
  p95Ms: number;
  p99Ms: number;
  requests: number;
  /** Responses by status code, plus `errors` for connection errors/timeouts. */
  statuses: Record<string, number>;
}

/** An admin's identity as the gateway would forward it, for setting up catalogs straight at flight-service. */
export const ADMIN = { 'x-internal-token': INTERNAL_TOKEN, 'x-user-id': '1', 'x-user-role': 'admin' };

/** A JSON call as that admin; any status ≥ 300 throws with the answer. */
export async function api(url: string, method: string, body?: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(url, {
    method,
    headers: { ...ADMIN, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status >= 300) throw new Error(`${method} ${url} → ${res.status} ${await res.text()}`);
  return (await res.json()) as Record<string, unknown>;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts one service as a real process (`node <service>/dist/main.js`) and waits until /ready is 200. */
export async function startService(
  service: string,
  port: number,
  env: Record<string, string>,
  /** Where the built services are (another checkout's build, for an A/B of two builds); this one by default. */
  root = ROOT,
): Promise<{ proc: ChildProcess; url: string; stop(): Promise<void> }> {
  // BENCH_NODE_ARGS passes flags to every service, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` for a profile.
  // The services' V8 flags, as `npm start` (scripts/src/start.ts) and the Dockerfile pass them.
  const nodeArgs = [
    '--max-semi-space-size=16',
    '--max-old-space-size=128',
    ...(process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean),
  ];
  const proc = spawn(process.execPath, [...nodeArgs, path.join(root, service, 'dist', 'main.js')], {
    env: { ...process.env, NODE_ENV: 'production', LOG_LEVEL: 'warn', INTERNAL_TOKEN, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`${service} exited with ${proc.exitCode}`);
    try {
      if ((await fetch(`${url}/ready`)).status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${service} not ready within 60 s`);
    await sleep(200);
  }
  return {
    proc,
    url,
    stop: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
      }),
  };
}

/** Peak resident memory of a process in MB, from /proc (Linux). */
export async function rssMb(pid: number | undefined): Promise<number | undefined> {
  if (!pid) return undefined;
  try {
    const status = await import('node:fs/promises').then((fs) => fs.readFile(`/proc/${pid}/status`, 'utf8'));
    const m = /VmHWM:\s+(\d+) kB/.exec(status);
    return m ? Math.round(Number(m[1]) / 1024) : undefined;
  } catch {
    return undefined;
  }
}

/** The same, read synchronously (after each scenario). */
export function peakRssMb(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : undefined;
  } catch {
    return undefined;
  }
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux; clock ticks of 1/100 s). */
export function cpuSeconds(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

export interface LoadSpec {
  url: string;
  connections: number;
  durationSec: number;
  /** Stop after this many requests instead (autocannon's `amount`; `durationSec` is then ignored). */
  amount?: number;
  method?: 'GET' | 'PUT' | 'POST' | 'DELETE';
  headers?: Record<string, string>;
  /** Builds each request: path and body (called once per request). */
  next: () => {
    path: string;
    body?: unknown;
    headers?: Record<string, string>;
    /** Overrides `method` for this request (a mixed load). */
    method?: 'GET' | 'PUT' | 'POST' | 'DELETE';
  };
  /** Sees every response body (e.g. to collect created bookings). */
  onBody?: (status: number, body: string) => void;
  /** A fixed offered load (requests/s over all connections) instead of as fast as answers come. */
  overallRate?: number;
}

/** Runs autocannon with keep-alive connections and collects rate, latency percentiles and statuses. */
export async function load(spec: LoadSpec): Promise<LoadResult> {
  const statuses: Record<string, number> = {};
  let finish!: (r: autocannon.Result) => void;
  let fail!: (e: Error) => void;
  const done = new Promise<autocannon.Result>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  const instance = autocannon(
    {
      url: spec.url,
      connections: spec.connections,
      duration: spec.durationSec,
      ...(spec.amount === undefined ? {} : { amount: spec.amount }),
      timeout: 10,
      ...(spec.overallRate ? { overallRate: spec.overallRate } : {}),
      requests: [
        {
          method: spec.method ?? 'GET',
          setupRequest: (req) => {
            const r = spec.next();
            return {
              ...req,
              ...(r.method ? { method: r.method } : {}),
              path: r.path,
              headers: { 'content-type': 'application/json', ...spec.headers, ...r.headers },
              body: r.body === undefined ? undefined : JSON.stringify(r.body),
            };
          },
          onResponse: spec.onBody ? (status: number, body: string) => spec.onBody?.(status, body) : undefined,
        },
      ],
    },
    (err, result) => (err ? fail(err) : finish(result)),
  );
  instance.on('response', (_client, statusCode) => {
    statuses[statusCode] = (statuses[statusCode] ?? 0) + 1;
  });
  const result = await done;
  if (result.errors) statuses.errors = (statuses.errors ?? 0) + result.errors + result.timeouts;
  const requests = Object.values(statuses).reduce((a, b) => a + b, 0);
  return {
    rps: Math.round(result.requests.average),
    p50Ms: result.latency.p50,
    meanMs: round2(result.latency.mean),
    p95Ms: (result.latency as unknown as Record<string, number>).p97_5 ?? result.latency.p90,
    p99Ms: result.latency.p99,
    requests,
    statuses,
  };
}

/**
 * The physical limit of the design: `connections` clients looping
 * BEGIN; SELECT … FOR UPDATE; UPDATE; COMMIT on `rows` rows (each picks one at random) for `seconds`.
 */
export async function rawLockedRowTps(
  database: string,
  connections: number,
  rows: number,
  seconds: number,
): Promise<number> {
  const admin = await mysql.createConnection({ ...DB, multipleStatements: true });
  await admin.query(
    `CREATE DATABASE IF NOT EXISTS \`${database}\`; USE \`${database}\`;
     DROP TABLE IF EXISTS hot_rows;
     CREATE TABLE hot_rows (id INT PRIMARY KEY, n INT NOT NULL) ENGINE=InnoDB;`,
  );
  await admin.query(
    `INSERT INTO hot_rows (id, n) VALUES ${Array.from({ length: rows }, (_, i) => `(${i + 1}, 1000000000)`).join(',')}`,
  );
  const conns = await Promise.all(
    Array.from({ length: connections }, () => mysql.createConnection({ ...DB, database })),
  );
  let done = 0;
  const until = Date.now() + seconds * 1000;
  await Promise.all(
    conns.map(async (c) => {
      while (Date.now() < until) {
        const id = 1 + Math.floor(Math.random() * rows);
        await c.query('BEGIN');
        await c.query('SELECT n FROM hot_rows WHERE id = ? FOR UPDATE', [id]);
        await c.query('UPDATE hot_rows SET n = n - 1 WHERE id = ?', [id]);
        await c.query('COMMIT');
        done += 1;
      }
    }),
  );
  await Promise.all(conns.map((c) => c.end()));
  await admin.query(`DROP TABLE hot_rows`);
  await admin.end();
  return Math.round(done / seconds);
}

export async function dropDatabases(prefix: string): Promise<void> {
  const admin = await mysql.createConnection(DB);
  const [rows] = (await admin.query('SHOW DATABASES LIKE ?', [`${prefix}%`])) as unknown as [
    Array<Record<string, string>>,
  ];
  for (const row of rows) await admin.query(`DROP DATABASE \`${Object.values(row)[0]}\``);
  await admin.end();
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

export const round2 = (x: number) => Math.round(x * 100) / 100;
