import path from 'node:path';
import { QueryTypes } from 'sequelize';
import {
  createSequelize,
  dropDatabase,
  ensureDatabase,
  inTransaction,
  migrate,
  splitStatements,
  transactionRetries,
} from '../src/db';
import { createTestDatabase, testDbServer, uniquePrefix, type TestDatabase } from '../src/testing';

const MIGRATIONS = path.join(__dirname, 'fixtures', 'migrations');
let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase('common', MIGRATIONS);
});
afterAll(async () => {
  await db.drop();
});

describe('database helpers (real MariaDB)', () => {
  test('migrations are recorded in SequelizeMeta and applied once, even by two processes at the same time', async () => {
    const other = createSequelize(testDbServer(), db.name);
    const [a, b] = await Promise.all([migrate(db.sequelize, MIGRATIONS), migrate(other, MIGRATIONS)]);
    await other.close();
    expect([...a, ...b]).toEqual([]);
    const meta = await db.sequelize.query<{ name: string }>('SELECT name FROM SequelizeMeta', {
      type: QueryTypes.SELECT,
    });
    expect(meta.map((m) => m.name)).toEqual(['20260101000001-create-counters.js']);
  });

  test("two processes migrating a fresh database at once apply each migration once; a dead holder's lease is taken over", async () => {
    const name = `${uniquePrefix()}fresh`;
    await ensureDatabase(testDbServer(), name);
    const pools = [0, 1].map(() => createSequelize(testDbServer(), name, { poolMax: 2 }));
    try {
      const [a, b] = await Promise.all(pools.map((p) => migrate(p, MIGRATIONS)));
      expect([...a, ...b]).toEqual(['20260101000001-create-counters.js']);
      // A holder that died mid-migration left its lease: once it has expired the next start migrates.
      await pools[0].query(
        "INSERT INTO SkywayMigrationLock (name, holder, expires_at) VALUES ('migrate', 'dead', NOW(3) - INTERVAL 1 SECOND)",
      );
      expect(await migrate(pools[1], MIGRATIONS)).toEqual([]);
      const [rows] = (await pools[0].query('SELECT holder FROM SkywayMigrationLock')) as [unknown[], unknown];
      expect(rows).toEqual([]);
    } finally {
      for (const p of pools) await p.close();
      await dropDatabase(testDbServer(), name);
    }
  });

  test('a transaction rolled back by a deadlock is re-run whole, and both sides commit once', async () => {
    let attempts = 0;
    const deadlocksBefore = transactionRetries().deadlock;
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const lockBoth = (first: number, second: number) =>
      inTransaction(db.sequelize, async (transaction) => {
        attempts += 1;
        await db.sequelize.query('UPDATE counters SET value = value + 1 WHERE id = ?', {
          replacements: [first],
          transaction,
        });
        await sleep(150);
        await db.sequelize.query('UPDATE counters SET value = value + 1 WHERE id = ?', {
          replacements: [second],
          transaction,
        });
      });
    await Promise.all([lockBoth(1, 2), lockBoth(2, 1)]);
    const rows = await db.sequelize.query<{ id: number; value: number }>(
      'SELECT id, value FROM counters ORDER BY id',
      {
        type: QueryTypes.SELECT,
      },
    );
    // Each transaction committed exactly once (2 increments per row), and at least one was re-run after 1213.
    expect(rows).toEqual([
      { id: 1, value: 2 },
      { id: 2, value: 2 },
    ]);
    expect(attempts).toBeGreaterThanOrEqual(3);
    expect(transactionRetries().deadlock - deadlocksBefore).toBe(attempts - 2);
  });

  test('other errors are not retried', async () => {
    let attempts = 0;
    await expect(
      inTransaction(db.sequelize, async (transaction) => {
        attempts += 1;
        await db.sequelize.query('SELECT * FROM no_such_table', { transaction });
      }),
    ).rejects.toThrow(/no_such_table/);
    expect(attempts).toBe(1);
  });
});

test("splitStatements: a batch is cut at semicolons outside quotes, each part with its placeholders' values", () => {
  expect(
    splitStatements(
      "START TRANSACTION; SELECT ? AS a, ';' AS b FROM t WHERE x IN (?); UPDATE `a;b` SET y = ?; COMMIT",
      [1, [2, 3], 4],
    ),
  ).toEqual([
    { sql: 'START TRANSACTION', values: [] },
    { sql: "SELECT ? AS a, ';' AS b FROM t WHERE x IN (?)", values: [1, [2, 3]] },
    { sql: 'UPDATE `a;b` SET y = ?', values: [4] },
    { sql: 'COMMIT', values: [] },
  ]);
});
