import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { testDbServer, uniquePrefix } from '@skyway/common/testing';
import { call, deleteAmqpNames, eventually } from './support/stack';

/** `npm start` as a newcomer runs it (the built script), on free ports with its own databases. */
const START = path.resolve(__dirname, '..', '..', 'scripts', 'dist', 'start.js');

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });

function run(env: Record<string, string>): { proc: ChildProcess; output: string[] } {
  const output: string[] = [];
  const proc = spawn(process.execPath, [START], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const stream of [proc.stdout, proc.stderr]) {
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => output.push(...chunk.split('\n').filter(Boolean)));
  }
  return { proc, output };
}

const exited = (proc: ChildProcess) =>
  proc.exitCode !== null
    ? Promise.resolve(proc.exitCode)
    : new Promise<number | null>((r) => proc.once('exit', r));

test('with MySQL unreachable it fails fast with one line naming DB_HOST/DB_PORT', async () => {
  const { proc, output } = run({ DB_HOST: '127.0.0.1', DB_PORT: String(await freePort()) });
  expect(await exited(proc)).toBe(1);
  expect(output).toHaveLength(1);
  expect(output[0]).toMatch(/Cannot reach MySQL.*DB_HOST\/DB_PORT/);
});

test('npm start runs the four services with demo data; one exiting leaves the others up; SIGTERM stops all', async () => {
  const prefix = uniquePrefix('start');
  const ports = {
    gateway: await freePort(),
    flight: await freePort(),
    booking: await freePort(),
    notify: await freePort(),
  };
  const env = {
    NODE_ENV: 'development',
    DB_NAME_PREFIX: prefix,
    AMQP_NAME_PREFIX: prefix,
    GATEWAY_PORT: String(ports.gateway),
    FLIGHT_SERVICE_PORT: String(ports.flight),
    BOOKING_SERVICE_PORT: String(ports.booking),
    NOTIFICATION_SERVICE_PORT: String(ports.notify),
    FLIGHT_SERVICE_URL: `http://127.0.0.1:${ports.flight}`,
    BOOKING_SERVICE_URL: `http://127.0.0.1:${ports.booking}`,
    NOTIFICATION_SERVICE_URL: `http://127.0.0.1:${ports.notify}`,
  };
  const { proc, output } = run(env);
  const gateway = `http://127.0.0.1:${ports.gateway}`;
  try {
    await eventually(
      async () => (await call(gateway, 'GET', '/api/v1/health')).status === 200,
      60_000,
      'all services ready',
    );
    const flights = await call(gateway, 'GET', '/api/v1/flights?limit=100');
    expect(flights.body.total).toBe(50);
    for (const name of ['flight', 'booking', 'notify', 'gateway']) {
      expect(output.some((l) => l.includes(`[${name}]`))).toBe(true);
    }

    // One service dies: the runner says so, the others keep serving.
    const pidLine = output.find((l) => l.includes('[notify]') && /started \(pid \d+\)/.test(l));
    process.kill(Number(/pid (\d+)/.exec(pidLine ?? '')?.[1]), 'SIGKILL');
    await eventually(
      () => output.some((l) => l.includes('[notify]') && l.includes('exited')),
      10_000,
      'exit reported',
    );
    expect((await call(gateway, 'GET', '/api/v1/flights?limit=1')).status).toBe(200);
    const health = await call(gateway, 'GET', '/api/v1/health');
    expect(health.status).toBe(503);
    expect(health.body.services).toMatchObject({
      'notification-service': { status: 'down' },
      'flight-service': { status: 'ok' },
      'booking-service': { status: 'ok' },
    });

    proc.kill('SIGTERM');
    expect(await exited(proc)).toBe(0);
    for (const port of Object.values(ports)) expect(await listening(port)).toBe(false);
  } finally {
    if (proc.exitCode === null) proc.kill('SIGKILL');
    const db = await mysql.createConnection({
      host: testDbServer().DB_HOST,
      port: testDbServer().DB_PORT,
      user: testDbServer().DB_USER,
      password: testDbServer().DB_PASSWORD,
    });
    const [rows] = (await db.query('SHOW DATABASES LIKE ?', [`${prefix}%`])) as unknown as [
      Array<Record<string, string>>,
    ];
    for (const row of rows) await db.query(`DROP DATABASE \`${Object.values(row)[0]}\``);
    await db.end();
    await deleteAmqpNames({ ...(process.env as Record<string, string>), ...env });
  }
}, 120_000);
