import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import type { Sequelize } from 'sequelize';
import { createSequelize, dropDatabase, ensureDatabase, migrate, type DbServer } from './db';

/** Test helpers (imported by tests only, as `@skyway/common/testing`). */

/** The MariaDB server tests use: the DB_* variables, else the local default. */
export function testDbServer(env: NodeJS.ProcessEnv = process.env): DbServer {
  return {
    DB_HOST: env.DB_HOST || '127.0.0.1',
    DB_PORT: Number(env.DB_PORT || 3306),
    DB_USER: env.DB_USER || 'root',
    DB_PASSWORD: env.DB_PASSWORD || '',
  };
}

/**
 * `DB_POOL_MAX` for every service a test starts (in process or as a real process). All tests share one MariaDB
 * with its stock `max_connections` (151), two jest workers run at once, and another run may share the server: the
 * whole `npm test` must stay well under 100 connections (`.ci/run` prints the peak). A service under test load
 * needs only a few connections; requests beyond the pool wait for one (the pool's acquire timeout is 5 s).
 */
export const TEST_DB_POOL_MAX = 5;

/** Pool size of the direct connections a test opens to read or change a service's tables. */
export const TEST_READ_POOL_MAX = 2;

/** A prefix unique to one test file, so parallel test files never share a database. */
export function uniquePrefix(tag = 't'): string {
  return `${tag}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}_`;
}

export interface TestDatabase {
  name: string;
  sequelize: Sequelize;
  drop(): Promise<void>;
}

/** Creates a fresh database, applies the migrations in `migrationsDir`, and returns it with a dropper. */
export async function createTestDatabase(
  baseName: string,
  migrationsDir: string,
  poolMax = TEST_DB_POOL_MAX,
): Promise<TestDatabase> {
  const server = testDbServer();
  const name = `${uniquePrefix()}${baseName}`;
  await ensureDatabase(server, name);
  const sequelize = createSequelize(server, name, { poolMax });
  await migrate(sequelize, migrationsDir);
  return {
    name,
    sequelize,
    async drop() {
      await sequelize.close();
      await dropDatabase(server, name);
    },
  };
}

type Truthy<T> = Exclude<T, false | null | undefined | 0 | ''>;

/**
 * Polls `check` until it returns a truthy value (a throw counts as "not yet"), failing after `timeoutMs` with the
 * last error. Tests wait for eventual conditions with this instead of sleeping a fixed time.
 */
export async function eventually<T>(
  check: () => T | Promise<T>,
  timeoutMs = 30_000,
  what = 'condition',
): Promise<Truthy<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as Truthy<T>;
      last = new Error(`${what} not met within ${timeoutMs} ms`);
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw last instanceof Error ? last : new Error(String(last));
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The kernel's range for the local ports of outgoing connections (`ip_local_port_range`; Linux's default). */
function ephemeralRange(): [number, number] {
  try {
    const [low, high] = fs
      .readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number);
    if (low > 0 && high >= low) return [low, high];
  } catch {
    // not Linux: its default below
  }
  return [32768, 60999];
}

const handedOut = new Set<number>();

/** Whether nothing listens on `port` (on every address: the services bind 0.0.0.0). */
const isFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '0.0.0.0', () => s.close(() => resolve(true)));
  });

/**
 * `count` distinct ports for servers a test starts later (a service process, a Galera node), free when picked and
 * BELOW the ephemeral range. A port the OS hands out for `listen(0)` comes from the same range as the local port
 * of every outgoing connection, so between being picked and being bound it can become the local end of some
 * connection to MariaDB or RabbitMQ, and the server's bind fails with EADDRINUSE (an e2e stack's booking-service
 * did, once). Below the range only another listener can take it: picked at random, never twice in a process.
 */
export async function freePorts(count: number): Promise<number[]> {
  const [low] = ephemeralRange();
  const from = Math.max(1024, Math.min(20_000, low - 10_000));
  const ports: number[] = [];
  for (let tries = 0; ports.length < count; tries++) {
    if (tries > 1000 + count * 50) throw new Error(`no ${count} free ports in ${from}–${low - 1}`);
    const port = from + Math.floor(Math.random() * (low - from));
    if (handedOut.has(port) || !(await isFree(port))) continue;
    handedOut.add(port);
    ports.push(port);
  }
  return ports;
}

/** One port as `freePorts` picks them. */
export const freePort = async (): Promise<number> => (await freePorts(1))[0];
