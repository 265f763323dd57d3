import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import readline from 'node:readline';
import { loadDotenv } from '@skyway/common';

/**
 * V8 flags every service runs with (also in bench/src/lib.ts and the Dockerfile). V8 lets garbage pile up in the old
 * generation long before it collects (a service's RSS climbed from 140 to 265 MB over a few thousand bookings with
 * a live heap of ~40 MB); a 128 MB old generation keeps every service under 200 MB. Semi-spaces of 16 MB, not 8: with 8
 * each service spent about a fifth more CPU per booking under load, most of it in the garbage collector (README,
 * Performance).
 */
const SERVICE_NODE_FLAGS = ['--max-semi-space-size=16', '--max-old-space-size=128'];

/**
 * `npm start`: the whole system on this machine. Each service creates its database if missing and migrates
 * it at start; flight-service loads the demo catalog into an empty database. One prefixed, coloured log
 * stream; Ctrl-C / SIGTERM stops all four; if one exits, it says so and the others keep running.
 */
const ROOT = path.resolve(__dirname, '..', '..');
const SERVICES = [
  { name: 'flight', dir: 'flight-service', color: 36, env: { SEED_DEMO_DATA: 'true' } },
  { name: 'booking', dir: 'booking-service', color: 35, env: {} },
  { name: 'notify', dir: 'notification-service', color: 33, env: {} },
  { name: 'gateway', dir: 'api-gateway', color: 32, env: {} },
];
const tty = process.stdout.isTTY;
const label = (name: string, color: number) => {
  const padded = `[${name}]`.padEnd(10);
  return tty ? `\x1b[${color}m${padded}\x1b[0m` : padded;
};

function reachable(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

async function main(): Promise<void> {
  loadDotenv();
  const host = process.env.DB_HOST || '127.0.0.1';
  const port = Number(process.env.DB_PORT || 3306);
  if (!(await reachable(host, port, 3000))) {
    console.error(
      `Cannot reach MySQL/MariaDB at ${host}:${port} (set DB_HOST/DB_PORT). Start one first, e.g. ` +
        '`start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd` or `docker compose up -d mysql`.',
    );
    process.exit(1);
  }

  // flight-service's search cache: REDIS_URL when set (.env), else a Redis answering on the default port,
  // under flight-service's own key prefix; without one every search reads MySQL.
  const searchCache: Record<string, string> =
    !process.env.REDIS_URL && (await reachable('127.0.0.1', 6379, 500))
      ? { REDIS_URL: 'redis://127.0.0.1:6379' }
      : {};
  console.log(
    `search cache: ${process.env.REDIS_URL || searchCache.REDIS_URL ? `redis (${process.env.REDIS_URL ? 'REDIS_URL' : '127.0.0.1:6379'})` : 'off (no Redis on 127.0.0.1:6379)'}`,
  );

  const children = new Map<string, ChildProcess>();
  let stopping = false;
  for (const s of SERVICES) {
    const child = spawn(
      process.execPath,
      [...SERVICE_NODE_FLAGS, path.join(ROOT, s.dir, 'dist', 'main.js')],
      {
        cwd: ROOT,
        // In a terminal the services log pretty lines (their stdout is this script's pipe, not the terminal).
        env: {
          ...(process.stdout.isTTY ? { LOG_FORMAT: 'pretty' } : {}),
          ...process.env,
          ...s.env,
          ...(s.dir === 'flight-service' ? searchCache : {}),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    children.set(s.name, child);
    const prefix = label(s.name, s.color);
    process.stdout.write(`${prefix} started (pid ${child.pid})\n`);
    for (const stream of [child.stdout, child.stderr]) {
      readline
        .createInterface({ input: stream })
        .on('line', (line) => process.stdout.write(`${prefix} ${line}\n`));
    }
    child.on('exit', (code, signal) => {
      children.delete(s.name);
      if (!stopping) {
        process.stdout.write(
          `${prefix} exited (${signal ?? `code ${code}`}); the other services keep running\n`,
        );
      }
      if (stopping && children.size === 0) process.exit(0);
    });
  }

  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`\nstopping all services (${signal})\n`);
    if (children.size === 0) process.exit(0);
    for (const child of children.values()) child.kill('SIGTERM');
    setTimeout(() => {
      for (const child of children.values()) child.kill('SIGKILL');
      process.exit(1);
    }, 15_000).unref();
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

void main();
