import { purgeOldRows } from '../src/app/purge';
import { IdempotencyStore } from '../src/db/idempotency-store';
import { OutboxStore } from '../src/db/outbox-store';
import { requestFingerprint } from '../src/http/idempotency';
import {
  PaymentDeclinedError,
  SimulatedPaymentProvider,
  type ChargeRequest,
  type ChargeResult,
  type PaymentProvider,
} from '../src/domain/payment-provider';
import {
  book,
  bookingRows,
  createFlight,
  expectProblem,
  pay,
  startStack,
  type Stack,
  type TestFlight,
} from './support';

/** The simulated gateway behind a switch: answers as told, to drive the failure paths. */
class SwitchableProvider implements PaymentProvider {
  mode: 'ok' | 'fail' | 'decline' = 'ok';
  readonly inner = new SimulatedPaymentProvider();
  async charge(req: ChargeRequest): Promise<ChargeResult> {
    if (this.mode === 'fail') throw new Error('gateway timeout');
    if (this.mode === 'decline') throw new PaymentDeclinedError('insufficient funds');
    return this.inner.charge(req);
  }
}

let stack: Stack;
let flight: TestFlight;
const provider = new SwitchableProvider();
beforeAll(async () => {
  stack = await startStack({ bookingOptions: { paymentProvider: provider } });
  flight = await createFlight(stack, 20);
});
afterAll(async () => {
  await stack.stop();
});

const bookOne = async (userId: number) =>
  (await book(stack, userId, { flightId: flight.id, noOfSeats: 1 }).expect(201)).body as {
    id: number;
    totalCost: number;
  };

test('a 5xx releases the key: the booking goes back to INITIATED and a retry with the same key is processed anew', async () => {
  const b = await bookOne(800);
  const body = { bookingId: b.id, amount: b.totalCost };
  provider.mode = 'fail';
  expectProblem(await pay(stack, 800, body, 'retry-me'), 502);
  expect((await bookingRows(stack, 'id = ?', [b.id]))[0].status).toBe('INITIATED');
  provider.mode = 'ok';
  const retry = await pay(stack, 800, body, 'retry-me');
  expect(retry.status).toBe(201);
  expect(retry.headers['idempotent-replayed']).toBeUndefined();
  expect(provider.inner.charges.filter((c) => c.bookingId === b.id)).toHaveLength(1);
});

test('a declined payment is 402, stored and replayed; the booking can still be paid with a new key', async () => {
  const b = await bookOne(801);
  const body = { bookingId: b.id, amount: b.totalCost };
  provider.mode = 'decline';
  const declined = await pay(stack, 801, body, 'declined');
  expectProblem(declined, 402);
  provider.mode = 'ok';
  const replay = await pay(stack, 801, body, 'declined');
  expect(replay.status).toBe(402);
  expect(replay.headers['idempotent-replayed']).toBe('true');
  expect(replay.text).toBe(declined.text);
  await pay(stack, 801, body, 'second-card').expect(201);
});

test('the purge job deletes expired idempotency keys and old published outbox rows, and keeps the rest', async () => {
  const b = await bookOne(802);
  await pay(stack, 802, { bookingId: b.id, amount: b.totalCost }, 'kept').expect(201);
  await pay(stack, 802, { bookingId: b.id, amount: 1 }, 'old').expect(409);
  await stack.bookingsDb.query(
    "UPDATE idempotency_keys SET expires_at = NOW(3) - INTERVAL 1 SECOND WHERE user_id = 802 AND idem_key = 'old'",
  );
  await stack.bookingsDb.query(
    'UPDATE outbox_events SET published_at = NOW(3) - INTERVAL 200 HOUR WHERE booking_id = ? AND type = ?',
    { replacements: [b.id, 'booking.created'] },
  );
  const store = new IdempotencyStore(stack.bookingsDb, { ttlMs: 24 * 3600_000, lockMs: 60_000 });
  const purged = await purgeOldRows(store, new OutboxStore(stack.bookingsDb), 168);
  expect(purged.keys).toBeGreaterThanOrEqual(1);
  expect(purged.events).toBeGreaterThanOrEqual(1);
  const [keys] = (await stack.bookingsDb.query(
    'SELECT idem_key FROM idempotency_keys WHERE user_id = 802',
  )) as [Array<{ idem_key: string }>, unknown];
  expect(keys.map((k) => k.idem_key)).toEqual(['kept']);
  const [events] = (await stack.bookingsDb.query(
    'SELECT type FROM outbox_events WHERE booking_id = ? ORDER BY id',
    {
      replacements: [b.id],
    },
  )) as [Array<{ type: string }>, unknown];
  expect(events.map((e) => e.type)).toEqual(['booking.confirmed']);
  // An expired key no longer replays: the request is processed again.
  const fresh = await pay(stack, 802, { bookingId: b.id, amount: 1 }, 'old');
  expect(fresh.status).toBe(409);
  expect(fresh.headers['idempotent-replayed']).toBeUndefined();
});

test('a key claimed by a request whose process died is taken over after its lock expires', async () => {
  const b = await bookOne(803);
  const store = new IdempotencyStore(stack.bookingsDb, { ttlMs: 24 * 3600_000, lockMs: 60_000 });
  const body = { bookingId: b.id, amount: b.totalCost };
  const claim = await store.claim(
    803,
    'payments',
    'orphan',
    requestFingerprint('POST', '/api/v1/payments', body),
    'token-of-the-dead-process',
  );
  expect(claim.kind).toBe('claimed');
  expectProblem(await pay(stack, 803, body, 'orphan'), 409);
  await stack.bookingsDb.query(
    "UPDATE idempotency_keys SET locked_until = NOW(3) - INTERVAL 1 SECOND WHERE user_id = 803 AND idem_key = 'orphan'",
  );
  await pay(stack, 803, body, 'orphan').expect(201);
});
