import { randomBytes } from 'node:crypto';
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
