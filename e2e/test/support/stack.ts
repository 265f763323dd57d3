import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import amqp from 'amqplib';
import mysql from 'mysql2/promise';
import { notificationConfig, amqpNamesFor, SmtpSink } from '@skyway/testkit';
import { freePort, TEST_DB_POOL_MAX, testDbServer, uniquePrefix } from '@skyway/common/testing';

/**
 * The whole system as real processes (`node <service>/dist/main.js`, built by `npm test`'s pretest), each on a
 * free port with its own databases, its own RabbitMQ exchange/queue names, and a real SMTP sink.
 */
const ROOT = path.resolve(__dirname, '..', '..', '..');
export const INTERNAL_TOKEN = 'e2e-internal-token';
export const JWT_SECRET = 'e2e-jwt-secret-that-is-long-enough';
export const ADMIN = { email: 'admin@e2e.skyway', password: 'e2e-admin-password' };

export interface Stack {
  gateway: string;
  flight: string;
  booking: string;
  notification: string;
  /** Where each process serves `/metrics` (the gateway on its METRICS_PORT, the others on their own port). */
  metrics: Record<ServiceName, string>;
  smtp: SmtpSink;
  prefix: string;
  /** Connection to MariaDB (no default database): read any service's tables by qualified name. */
  db: mysql.Connection;
  /** Every line the services wrote (stdout and stderr), for checks on what is logged. */
  logs: string[];
  restart(service: ServiceName): Promise<void>;
  /** Sends `signal` (SIGKILL by default: no shutdown hooks run) and resolves once the process has exited. */
  kill(service: ServiceName, signal?: NodeJS.Signals): Promise<void>;
  /** Starts a stopped or killed service again and resolves once its `/ready` answers 200. */
  start(service: ServiceName): Promise<void>;
  /** The service's current process id (changes when it is restarted). */
  pid(service: ServiceName): number | undefined;
  stop(): Promise<void>;
}

export interface StackOptions {
  /**
   * Variables for one service only, on top of the shared ones: e.g. its `DB_PORT` or `AMQP_URL` pointing at
   * a FaultProxy, so a test can cut that service off its database or broker.
   */
  serviceEnv?: Partial<Record<ServiceName, Record<string, string>>>;
}

export type ServiceName = 'flight-service' | 'booking-service' | 'notification-service' | 'api-gateway';

/** A port nothing listens on right now, below the ephemeral range (see `freePorts` in common's testing). */
export { freePort };

async function waitReady(url: string, proc: ChildProcess, name: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`${name} exited with code ${proc.exitCode} during start`);
    try {
      if ((await fetch(`${url}/ready`)).status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${name} not ready within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

export async function startStack(
  extraEnv: Partial<Record<string, string>> = {},
  options: StackOptions = {},
): Promise<Stack> {
  const prefix = uniquePrefix('e2e');
  const smtp = new SmtpSink();
  await smtp.start();
  const ports = {
    'api-gateway': await freePort(),
    'flight-service': await freePort(),
    'booking-service': await freePort(),
    'notification-service': await freePort(),
  };
  const url = (s: ServiceName) => `http://127.0.0.1:${ports[s]}`;
  const gatewayMetricsPort = await freePort();
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    NODE_ENV: 'test',
    LOG_LEVEL: 'info',
    DB_NAME_PREFIX: prefix,
    // Each service's pool stays small: a stack is 4 pools + 1 connection, and two stacks may run at once.
    DB_POOL_MAX: String(TEST_DB_POOL_MAX),
    AMQP_NAME_PREFIX: prefix,
    INTERNAL_TOKEN,
    JWT_SECRET,
    ADMIN_EMAIL: ADMIN.email,
    ADMIN_PASSWORD: ADMIN.password,
    GATEWAY_PORT: String(ports['api-gateway']),
    METRICS_PORT: String(gatewayMetricsPort),
    FLIGHT_SERVICE_PORT: String(ports['flight-service']),
    BOOKING_SERVICE_PORT: String(ports['booking-service']),
    NOTIFICATION_SERVICE_PORT: String(ports['notification-service']),
    FLIGHT_SERVICE_URL: url('flight-service'),
    BOOKING_SERVICE_URL: url('booking-service'),
    NOTIFICATION_SERVICE_URL: url('notification-service'),
    SMTP_URL: smtp.url,
    SEED_DEMO_DATA: 'true',
    RATE_LIMIT_MAX: '100000',
    BCRYPT_ROUNDS: '10',
    SIGNIN_RATE_LIMIT_MAX: '100000',
    // The race tests sign 100 customers up at once from this one address.
    SIGNUP_RATE_LIMIT_MAX: '100000',
    SIGNUP_QUEUE_MAX: '1000',
    BOOKING_TTL_SECONDS: '20',
    SWEEPER_CRON: '* * * * * *',
    OUTBOX_RELAY_INTERVAL_MS: '100',
    ...(extraEnv as Record<string, string>),
  };
  const logs: string[] = [];
  const procs = new Map<ServiceName, ChildProcess>();
  const launch = async (name: ServiceName) => {
    const proc = spawn(process.execPath, [path.join(ROOT, name, 'dist', 'main.js')], {
      env: { ...env, ...options.serviceEnv?.[name] },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const stream of [proc.stdout, proc.stderr]) {
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) =>
        logs.push(
          ...chunk
            .split('\n')
            .filter(Boolean)
            .map((l) => `${name} ${l}`),
        ),
      );
    }
    procs.set(name, proc);
    proc.once('exit', (code, signal) => {
      // A service that dies on its own is a finding: say so with its last words (a test's own kills are signals).
      if (code !== null && code !== 0) {
        const last = logs.filter((l) => l.startsWith(`${name} `)).slice(-15);
        console.warn(
          `${name} exited with code ${code}${signal ? ` (${signal})` : ''}; its last lines:\n${last.join('\n')}`,
        );
      }
    });
    await waitReady(url(name), proc, name);
  };
  const stopOne = async (name: ServiceName) => {
    const proc = procs.get(name);
    // A process killed by a signal has exitCode null and its signalCode set.
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      proc.once('exit', () => resolve());
      proc.kill('SIGTERM');
      setTimeout(() => proc.kill('SIGKILL'), 10_000).unref();
    });
  };

  const db = await mysql.createConnection({ ...toMysql(testDbServer()) });
  const stack: Stack = {
    gateway: url('api-gateway'),
    flight: url('flight-service'),
    booking: url('booking-service'),
    notification: url('notification-service'),
    metrics: {
      'api-gateway': `http://127.0.0.1:${gatewayMetricsPort}/metrics`,
      'flight-service': `${url('flight-service')}/metrics`,
      'booking-service': `${url('booking-service')}/metrics`,
      'notification-service': `${url('notification-service')}/metrics`,
    },
    smtp,
    prefix,
    db,
    logs,
    async restart(name) {
      await stopOne(name);
      await launch(name);
    },
    async kill(name, signal = 'SIGKILL') {
      const proc = procs.get(name);
      if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
      await new Promise<void>((resolve) => {
        proc.once('exit', () => resolve());
        proc.kill(signal);
      });
    },
    async start(name) {
      const proc = procs.get(name);
      if (proc && proc.exitCode === null && proc.signalCode === null) {
        throw new Error(`${name} is still running`);
      }
      await launch(name);
    },
    pid(name) {
      return procs.get(name)?.pid;
    },
    async stop() {
      await Promise.all([...procs.keys()].map(stopOne));
      await smtp.stop();
      const [rows] = (await db.query('SHOW DATABASES LIKE ?', [`${prefix}%`])) as unknown as [
        Array<Record<string, string>>,
      ];
      for (const row of rows) await db.query(`DROP DATABASE \`${Object.values(row)[0]}\``);
      await db.end();
      await deleteAmqpNames(env);
    },
  };
  try {
    // flight-service first (it loads the demo catalog), then the rest in parallel.
    await launch('flight-service');
    await Promise.all([launch('booking-service'), launch('notification-service'), launch('api-gateway')]);
  } catch (err) {
    await stack.stop();
    throw err;
  }
  return stack;
}

function toMysql(s: ReturnType<typeof testDbServer>) {
  return { host: s.DB_HOST, port: s.DB_PORT, user: s.DB_USER, password: s.DB_PASSWORD };
}

/** Removes the exchange and queues this stack declared (RabbitMQ is shared; never leave litter). */
export async function deleteAmqpNames(env: Record<string, string>): Promise<void> {
  const names = amqpNamesFor(notificationConfig(env));
  const conn = await amqp.connect(env.AMQP_URL || 'amqp://guest:guest@127.0.0.1:5672');
  // One channel per deletion: a broker error closes the channel it happens on, and must not skip the rest.
  const attempt = async (what: string, op: (ch: amqp.Channel) => Promise<unknown>) => {
    const ch = await conn.createChannel();
    ch.on('error', () => undefined);
    await op(ch).then(
      () => ch.close().catch(() => undefined),
      (err: Error) => console.warn(`could not delete ${what}: ${err.message}`),
    );
  };
  try {
    for (const q of [names.queue, names.dlq, ...names.retryQueues.map((r) => r.name)]) {
      await attempt(q, (ch) => ch.deleteQueue(q));
    }
    await attempt(names.exchange, (ch) => ch.deleteExchange(names.exchange));
  } finally {
    await conn.close();
  }
}

/** A small client for the gateway: JSON in and out, the status and headers kept. */
export async function call(
  base: string,
  method: string,
  path: string,
  opts: { token?: string; body?: unknown; headers?: Record<string, string>; timeoutMs?: number } = {},
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read response bodies freely
): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(`${base}${path}`, {
    method,
    signal: opts.timeoutMs === undefined ? undefined : AbortSignal.timeout(opts.timeoutMs),
    headers: {
      ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
      ...opts.headers,
    },
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON
  }
  return { status: res.status, body, headers: res.headers };
}

export { eventually } from '@skyway/common/testing';
