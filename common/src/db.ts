import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { Sequelize, Transaction, type QueryInterface } from 'sequelize';
import { Umzug, SequelizeStorage } from 'umzug';
import type { Logger } from './logger';

export interface DbServer {
  DB_HOST: string;
  DB_PORT: number;
  DB_USER: string;
  DB_PASSWORD: string;
}

interface MigrationModule {
  up(queryInterface: QueryInterface, sequelize: typeof Sequelize): Promise<void>;
  down(queryInterface: QueryInterface, sequelize: typeof Sequelize): Promise<void>;
}

const SAFE_NAME = /^[A-Za-z0-9_]{1,64}$/;

function assertSafeName(name: string): void {
  if (!SAFE_NAME.test(name)) throw new Error(`unsafe database name: ${name}`);
}

async function withServerConnection<T>(db: DbServer, fn: (c: mysql.Connection) => Promise<T>): Promise<T> {
  const conn = await mysql.createConnection({
    host: db.DB_HOST,
    port: db.DB_PORT,
    user: db.DB_USER,
    password: db.DB_PASSWORD,
    connectTimeout: 5000,
  });
  try {
    return await fn(conn);
  } finally {
    await conn.end().catch(() => undefined);
  }
}

/** Creates the database if it does not exist yet. */
export async function ensureDatabase(db: DbServer, name: string): Promise<void> {
  assertSafeName(name);
  await withServerConnection(db, (c) =>
    c.query(`CREATE DATABASE IF NOT EXISTS \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`),
  );
}

export async function dropDatabase(db: DbServer, name: string): Promise<void> {
  assertSafeName(name);
  await withServerConnection(db, (c) => c.query(`DROP DATABASE IF EXISTS \`${name}\``));
}

export interface SequelizeOptions {
  poolMax?: number;
  logger?: Logger;
  /** Lets `withConnection` send several statements in one round trip (hot paths only; values are always escaped). */
  multipleStatements?: boolean;
  /**
   * `wsrep_sync_wait` for every connection of the pool (set on connect). On a Galera cluster 1 makes each read
   * wait until this node applied what the cluster committed before it, so a row written through another node is
   * seen; a server without Galera ignores it.
   */
  wsrepSyncWait?: number;
}

/** A Sequelize instance for one database; all times are stored and read as UTC. */
export function createSequelize(db: DbServer, name: string, opts: SequelizeOptions = {}): Sequelize {
  return new Sequelize(name, db.DB_USER, db.DB_PASSWORD, {
    dialect: 'mysql',
    host: db.DB_HOST,
    port: db.DB_PORT,
    timezone: '+00:00',
    logging: opts.logger ? (sql) => opts.logger?.debug(sql) : false,
    pool: { max: opts.poolMax ?? 20, min: 0, acquire: 5000, idle: 10000, evict: 5000 },
    dialectOptions: {
      connectTimeout: 3000,
      dateStrings: false,
      decimalNumbers: true,
      multipleStatements: opts.multipleStatements ?? false,
    },
    define: { timestamps: true },
    hooks: { afterConnect: (conn) => onConnect(conn as RawConnection, opts.wsrepSyncWait) },
  });
}

type RawConnection = {
  query(o: { sql: string; values?: unknown[] }, cb: (e: Error | null, r: unknown) => void): void;
  /** Set on connect: the server is a Galera node (`wsrep_on`), so `withConnection` sends one statement at a time. */
  skywayGalera?: boolean;
};

const rawQuery = (conn: RawConnection, sql: string, values?: unknown[]) =>
  new Promise<unknown>((resolve, reject) =>
    conn.query({ sql, values }, (err, rows) => (err ? reject(err) : resolve(rows))),
  );

async function onConnect(conn: RawConnection, wsrepSyncWait: number | undefined): Promise<void> {
  if (wsrepSyncWait !== undefined) {
    // MySQL has no such variable (1193, unknown system variable): nothing to wait for there.
    await rawQuery(conn, 'SET SESSION wsrep_sync_wait = ?', [wsrepSyncWait]).catch(
      (err: { errno?: number }) => {
        if (err?.errno !== 1193) throw err;
      },
    );
  }
  const [row] = (await rawQuery(conn, 'SELECT @@wsrep_on AS galera').catch(() => [])) as Array<{
    galera?: number | string;
  }>;
  conn.skywayGalera = Number(row?.galera ?? 0) === 1;
}

/**
 * Splits a batch of statements at the semicolons outside quotes and `--` comments, with the values of each one's
 * placeholders (`?`, and `??` for identifiers).
 */
export function splitStatements(
  sql: string,
  values: unknown[] = [],
): Array<{ sql: string; values: unknown[] }> {
  const out: Array<{ sql: string; values: unknown[] }> = [];
  let start = 0;
  let used = 0;
  let placeholders = 0;
  let quote: string | undefined;
  const push = (end: number) => {
    const text = sql.slice(start, end).trim();
    if (text) out.push({ sql: text, values: values.slice(used, used + placeholders) });
    used += placeholders;
    placeholders = 0;
    start = end + 1;
  };
  for (let i = 0; i < sql.length; i++) {
    const ch = sql[i];
    if (ch === '?') {
      // Counted wherever it stands, as the driver's formatting (sqlstring) replaces every one.
      placeholders += 1;
      if (sql[i + 1] === '?') i++;
    } else if (quote) {
      if (ch === '\\' && quote !== '`') i++;
      else if (ch === quote) quote = undefined;
    } else if (ch === "'" || ch === '"' || ch === '`') quote = ch;
    else if (ch === '-' && sql[i + 1] === '-')
      i = sql.indexOf('\n', i) === -1 ? sql.length : sql.indexOf('\n', i);
    else if (ch === ';') push(i);
  }
  push(sql.length);
  return out;
}

/** How long the migration lease lasts unless renewed, how often its holder renews it, how long others wait. */
const MIGRATION_LEASE_MS = 60_000;
const MIGRATION_RENEW_MS = 10_000;
const MIGRATION_WAIT_MS = 120_000;

/**
 * Applies pending sequelize-cli style migrations (plain JS `up(queryInterface, Sequelize)`) from `dir`,
 * recorded in the same `SequelizeMeta` table sequelize-cli uses. A lease row lets replicas start together.
 */
export async function migrate(sequelize: Sequelize, dir: string, logger?: Logger): Promise<string[]> {
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.js'))
    .sort();
  const umzug = new Umzug({
    migrations: files.map((file) => {
      const full = path.join(dir, file);
      // Migrations are plain CommonJS files loaded at run time, exactly as sequelize-cli loads them.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const load = () => require(full) as MigrationModule;
      return {
        name: file,
        up: async () => load().up(sequelize.getQueryInterface(), Sequelize),
        down: async () => load().down(sequelize.getQueryInterface(), Sequelize),
      };
    }),
    storage: new SequelizeStorage({ sequelize }),
    context: sequelize.getQueryInterface(),
    logger: undefined,
  });
  const release = await takeMigrationLease(sequelize);
  try {
    const done = await umzug.up();
    if (done.length) logger?.info('migrations applied', { migrations: done.map((m) => m.name) });
    return done.map((m) => m.name);
  } finally {
    await release();
  }
}

/**
 * One migrator at a time across replicas: a row in `SkywayMigrationLock`, not GET_LOCK, which lives on one server
 * (two replicas on two Galera nodes would both hold it and run the same DDL). The row is inserted in an autocommit
 * statement, so the cluster certifies it: of two nodes inserting it one wins, the other sees it or is aborted (1213).
 * The holder renews it while migrating; a crashed holder's lease expires and another replica takes over.
 */
async function takeMigrationLease(sequelize: Sequelize): Promise<() => Promise<void>> {
  const holder = randomUUID();
  const q = (sql: string, values: unknown[] = []) => withConnection(sequelize, (run) => run(sql, values));
  await q(`CREATE TABLE IF NOT EXISTS SkywayMigrationLock (
             name VARCHAR(32) CHARACTER SET ascii NOT NULL PRIMARY KEY,
             holder CHAR(36) CHARACTER SET ascii NOT NULL,
             expires_at DATETIME(3) NOT NULL
           ) ENGINE=InnoDB`);
  const deadline = Date.now() + MIGRATION_WAIT_MS;
  for (;;) {
    try {
      await q("DELETE FROM SkywayMigrationLock WHERE name = 'migrate' AND expires_at < NOW(3)");
      const inserted = (await q(
        `INSERT IGNORE INTO SkywayMigrationLock (name, holder, expires_at)
           VALUES ('migrate', ?, NOW(3) + INTERVAL ? MICROSECOND)`,
        [holder, MIGRATION_LEASE_MS * 1000],
      )) as { affectedRows?: number };
      if (inserted.affectedRows === 1) break;
    } catch (err) {
      if (!isRetryableTxError(err)) throw err; // another node's lease write won the certification
    }
    if (Date.now() > deadline) throw new Error('could not take the migration lease (SkywayMigrationLock)');
    await sleep(200 + Math.random() * 300);
  }
  const renew = setInterval(() => {
    q('UPDATE SkywayMigrationLock SET expires_at = NOW(3) + INTERVAL ? MICROSECOND WHERE holder = ?', [
      MIGRATION_LEASE_MS * 1000,
      holder,
    ]).catch(() => undefined);
  }, MIGRATION_RENEW_MS);
  renew.unref();
  return async () => {
    clearInterval(renew);
    await q('DELETE FROM SkywayMigrationLock WHERE holder = ?', [holder]);
  };
}

/** Creates the database if missing and applies its migrations. */
export async function bootstrapDatabase(
  db: DbServer,
  sequelize: Sequelize,
  migrationsDir: string,
  logger?: Logger,
): Promise<void> {
  await ensureDatabase(db, sequelize.getDatabaseName());
  await migrate(sequelize, migrationsDir, logger);
}

const RETRYABLE = new Set([1213 /* deadlock */, 1205 /* lock wait timeout */]);

function txErrno(err: unknown): number | undefined {
  const e = err as { parent?: { errno?: number }; original?: { errno?: number }; errno?: number };
  const errno = e?.parent?.errno ?? e?.original?.errno ?? e?.errno;
  return typeof errno === 'number' ? errno : undefined;
}

export function isRetryableTxError(err: unknown): boolean {
  const errno = txErrno(err);
  return errno !== undefined && RETRYABLE.has(errno);
}

/**
 * How many times `retryTransaction` (and so `inTransaction`) re-ran a transaction in this process, by the error
 * that rolled it back — on a Galera cluster `deadlock` includes the certification aborts at commit — and how many
 * times it gave up (the error reached the caller after the last attempt).
 */
export interface TransactionRetries {
  deadlock: number;
  lockWait: number;
  gaveUp: number;
}

const retries: TransactionRetries = { deadlock: 0, lockWait: 0, gaveUp: 0 };

/** A snapshot of the retry counters since the process started (or the last `resetTransactionRetries`). */
export function transactionRetries(): TransactionRetries {
  return { ...retries };
}

export function resetTransactionRetries(): void {
  retries.deadlock = 0;
  retries.lockWait = 0;
  retries.gaveUp = 0;
}

/** A unique-key violation (1062), from Sequelize (wrapped) or from a raw connection (`withConnection`). */
export function isDuplicateKeyError(err: unknown): boolean {
  return txErrno(err) === 1062;
}

/** A CHECK constraint refused a row (MariaDB 4025, MySQL 3819): a guarded statement said no. */
export function isCheckConstraintError(err: unknown): boolean {
  const errno = txErrno(err);
  return errno === 4025 || errno === 3819;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Attempts in all for a transaction rolled back by a deadlock (1213). Such a retry is cheap (the loser is rolled back
 * at once), and on a Galera cluster it is the normal outcome of two nodes writing one hot row: every commit on one
 * node aborts the transaction holding that row on the other at commit, so one request can lose several times in a
 * row — 300 holds on one flight through two nodes exhausted 5 attempts (9 answered 500).
 */
const DEADLOCK_ATTEMPTS = 10;
/** A lock wait timeout (1205) has already waited `innodb_lock_wait_timeout`: at most 5 attempts in all, as before. */
const LOCK_WAIT_ATTEMPTS = 5;
/** Back-off ceiling: jittered, doubling from 20 ms, never more than 250 ms before one attempt. */
const MAX_BACKOFF_MS = 250;

/**
 * Runs `work` in a transaction and re-runs the WHOLE transaction when MariaDB rolled it back for a
 * deadlock (1213) or a lock wait timeout (1205), with jittered back-off, at most `attempts` times.
 */
export async function inTransaction<T>(
  sequelize: Sequelize,
  work: (t: Transaction) => Promise<T>,
  {
    attempts = DEADLOCK_ATTEMPTS,
    isolationLevel,
  }: { attempts?: number; isolationLevel?: Transaction.ISOLATION_LEVELS } = {},
): Promise<T> {
  return retryTransaction(() => sequelize.transaction({ isolationLevel }, (t) => work(t)), attempts);
}

/**
 * Re-runs a whole transaction (`run`) that MariaDB rolled back for a deadlock — on Galera also a certification
 * abort at commit — or a lock wait timeout: at most `attempts` runs in all (a lock wait timeout: at most 5).
 */
export async function retryTransaction<T>(run: () => Promise<T>, attempts = DEADLOCK_ATTEMPTS): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (err) {
      if (!isRetryableTxError(err)) throw err;
      const deadlock = txErrno(err) === 1213;
      if (attempt >= (deadlock ? attempts : Math.min(attempts, LOCK_WAIT_ATTEMPTS))) {
        retries.gaveUp += 1;
        throw err;
      }
      if (deadlock) retries.deadlock += 1;
      else retries.lockWait += 1;
      await sleep(Math.random() * Math.min(10 * 2 ** attempt, MAX_BACKOFF_MS));
    }
  }
}

/** A DATETIME(3) literal in UTC for raw SQL, independent of the connection's time zone. */
export const sqlTime = (d: Date): string => d.toISOString().slice(0, 23).replace('T', ' ');

export type RunSql = (sql: string, values?: unknown[]) => Promise<unknown>;

/**
 * Runs `work` on one pooled connection with plain SQL (no ORM) — for the few hot paths where round trips and
 * CPU per statement matter. Whatever `work` leaves open is rolled back if it throws.
 */
export async function withConnection<T>(sequelize: Sequelize, work: (run: RunSql) => Promise<T>): Promise<T> {
  const manager = sequelize.connectionManager as unknown as {
    getConnection(o: { type: 'write' }): Promise<RawConnection>;
    releaseConnection(c: RawConnection): void;
  };
  const conn = await manager.getConnection({ type: 'write' });
  // On Galera a transaction aborted by a replicated write in the middle of a multi-statement batch is rolled
  // back, but the server runs the batch's remaining statements in autocommit without an error: a half-done
  // transaction commits and the client is told all went well (two sweepers on two nodes wrote a second
  // booking.expired event). One statement per round trip gets the abort as a 1213, which is retried whole.
  const run: RunSql = async (sql, values) => {
    if (!conn.skywayGalera) return rawQuery(conn, sql, values);
    const parts = splitStatements(sql, values);
    if (parts.length <= 1) return rawQuery(conn, sql, values);
    const results: unknown[] = [];
    for (const p of parts) results.push(await rawQuery(conn, p.sql, p.values));
    return results;
  };
  try {
    return await work(run);
  } catch (err) {
    await run('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    manager.releaseConnection(conn);
  }
}
