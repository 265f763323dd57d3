import express from 'express';
import request from 'supertest';
import { createLogger, errorHandler, requestId } from '@skyway/common';
import { createTestDatabase, eventually, type TestDatabase } from '@skyway/common/testing';
import { IdempotencyStore } from '../src/db/idempotency-store';
import { idempotency } from '../src/http/idempotency';
import { MIGRATIONS_DIR } from '../src/main';

/**
 * A claim whose INSERT committed while the connection broke before its answer (the fault test's database cut
 * produced one): the client got a 503, and the row would have answered 409 "still being processed" to every
 * retry until its lock ran out, minutes later.
 */
let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('bookings', MIGRATIONS_DIR);
});
afterAll(async () => {
  await db.drop();
});

/** A payments route behind the idempotency middleware over `store` (the handler answers 201). */
function payApp(store: IdempotencyStore) {
  const logger = createLogger('test', 'error');
  const app = express();
  app.use(requestId, express.json());
  app.post('/pay', idempotency({ store, scope: 'payments', required: true, logger }), (_req, res) => {
    res.status(201).json({ ok: true });
  });
  app.use(errorHandler(logger));
  return (userId: number, key: string) =>
    request(app)
      .post('/pay')
      .set({ 'X-User-Id': String(userId), 'X-User-Role': 'customer', 'Idempotency-Key': key })
      .send({ amount: 1 });
}

test('a claim committed behind a broken connection is undone, so a retry with the key goes through', async () => {
  const store = new IdempotencyStore(db.sequelize, { ttlMs: 86_400_000, lockMs: 120_000 });
  // The first INSERT commits, then the driver reports the connection lost, as when a cut comes between them.
  const insert = store.insertClaim.bind(store);
  store.insertClaim = async (row) => {
    store.insertClaim = insert;
    await insert(row);
    throw Object.assign(new Error('Connection lost: The server closed the connection.'), {
      name: 'SequelizeConnectionError',
    });
  };
  const send = payApp(store);
  const pay = () => send(7, 'k-1');

  const keys = {
    count: async ({ where }: { where: { idemKey: string } }) => {
      const [[row]] = (await db.sequelize.query(
        'SELECT COUNT(*) AS n FROM idempotency_keys WHERE idem_key = ?',
        {
          replacements: [where.idemKey],
        },
      )) as [Array<{ n: number | string }>, unknown];
      return Number(row.n);
    },
  };
  expect((await pay()).status).toBe(503);
  // The committed claim is there at first …
  expect(await keys.count({ where: { idemKey: 'k-1' } })).toBe(1);
  // … and is undone in the background (first retry after 250 ms), long before its 2-minute lock runs out.
  await eventually(async () => (await keys.count({ where: { idemKey: 'k-1' } })) === 0, 5000, 'claim undone');
  const retry = await pay();
  expect(retry.status).toBe(201);
  expect((await pay()).headers['idempotent-replayed']).toBe('true');
});

// On Galera, two replicas inserting the same key on two nodes both succeed locally; certification aborts the later
// commit with 1213 (a Galera CI run answered 500 to three of 20 racers). Here the other node's claim commits first
// and this request's INSERT comes back as that abort: it is run again, meets the other's row, and answers 409.
test('a claim INSERT aborted by certification (1213) is run again: the racer that lost gets 409, not 500', async () => {
  const store = new IdempotencyStore(db.sequelize, { ttlMs: 86_400_000, lockMs: 120_000 });
  const insert = store.insertClaim.bind(store);
  let aborted = 0;
  store.insertClaim = async (row) => {
    if (aborted++ === 0) {
      // The winner's claim, committed through "another node" …
      await insert({ ...row, token: 'the-other-replica' });
      // … and this one's commit refused by certification.
      throw Object.assign(new Error('Deadlock found when trying to get lock; try restarting transaction'), {
        name: 'SequelizeDatabaseError',
        parent: { errno: 1213 },
      });
    }
    return insert(row);
  };
  const res = await payApp(store)(8, 'k-galera');
  expect([res.status, res.body.detail]).toEqual([409, expect.stringMatching(/still being processed/)]);
  expect(aborted).toBe(2);
});
