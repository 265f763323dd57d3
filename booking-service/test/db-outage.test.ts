import { testDbServer } from '@skyway/common/testing';
import { FaultProxy } from '@skyway/testkit';
import {
  SimulatedPaymentProvider,
  type ChargeRequest,
  type ChargeResult,
  type PaymentProvider,
} from '../src/domain/payment-provider';
import {
  book,
  bookingRows,
  createFlight,
  eventually,
  expectProblem,
  pay,
  startStack,
  type Stack,
  type TestFlight,
} from './support';

/**
 * booking-service's database goes away in the middle of a payment (a TCP proxy between the service and
 * MariaDB is cut while the provider charges). Found by the e2e fault test: the booking stayed PENDING and the
 * Idempotency-Key stayed claimed, so the customer's retries got 409 until the booking expired, charged and
 * without a booking.
 */
class CuttingProvider implements PaymentProvider {
  readonly inner = new SimulatedPaymentProvider();
  cutDuringNextCharge = false;
  constructor(private readonly proxy: () => FaultProxy) {}
  async charge(req: ChargeRequest): Promise<ChargeResult> {
    if (this.cutDuringNextCharge) {
      this.cutDuringNextCharge = false;
      await this.proxy().cut();
    }
    return this.inner.charge(req);
  }
}

let proxy: FaultProxy;
let stack: Stack;
let flight: TestFlight;
const provider = new CuttingProvider(() => proxy);

beforeAll(async () => {
  proxy = await FaultProxy.start(testDbServer().DB_PORT);
  stack = await startStack({
    bookingEnv: { DB_PORT: String(proxy.port) },
    bookingOptions: { paymentProvider: provider },
  });
  flight = await createFlight(stack, 20);
});
afterAll(async () => {
  await proxy.heal();
  await stack.stop();
  await proxy.close();
});

test('the database lost after the charge: 503, then a retry with the same key completes it, charged once', async () => {
  const booked = await book(stack, 900, { flightId: flight.id, noOfSeats: 1 }).expect(201);
  const body = { bookingId: booked.body.id, amount: booked.body.totalCost };
  provider.cutDuringNextCharge = true;
  expectProblem(await pay(stack, 900, body, 'cut-mid-payment'), 503);
  await proxy.heal();

  // Retries with the same key, as the 503 asks: "still being processed" (409) for as long as the booking is
  // being put back, then processed anew — never a 409 stored for good.
  const paid = await eventually(async () => {
    const r = await pay(stack, 900, body, 'cut-mid-payment');
    if (r.status === 409 && /still being processed/.test(r.body.detail)) return false;
    return r;
  }, 20_000);
  expect(paid.status).toBe(201);
  expect((await bookingRows(stack, 'id = ?', [booked.body.id]))[0].status).toBe('BOOKED');
  expect(provider.inner.charges.filter((c) => c.bookingId === booked.body.id)).toHaveLength(1);
  const [payments] = await stack.bookingsDb.query('SELECT COUNT(*) AS n FROM payments WHERE booking_id = ?', {
    replacements: [booked.body.id],
  });
  expect(Number((payments as Array<{ n: number }>)[0].n)).toBe(1);
});

test('a payment committed whose answer was lost: a retry with the same key gets that payment, not a 409', async () => {
  const booked = await book(stack, 901, { flightId: flight.id, noOfSeats: 1 }).expect(201);
  const body = { bookingId: booked.body.id, amount: booked.body.totalCost };
  const first = await pay(stack, 901, body, 'answer-lost').expect(201);
  // What is left when the commit went through but the connection broke before the key was stored.
  await stack.bookingsDb.query('DELETE FROM idempotency_keys WHERE user_id = 901');
  const retry = await pay(stack, 901, body, 'answer-lost');
  expect(retry.status).toBe(201);
  expect(retry.body).toEqual(first.body);
  // Another key still cannot pay it twice.
  expectProblem(await pay(stack, 901, body, 'another-key'), 409);
});

test('a payment attempt that died with booking-service (PENDING past the payment timeout) can be taken over', async () => {
  const booked = await book(stack, 902, { flightId: flight.id, noOfSeats: 1 }).expect(201);
  const body = { bookingId: booked.body.id, amount: booked.body.totalCost };
  // What a kill -9 between "PENDING" and "BOOKED" leaves behind (found by the e2e crash test): a PENDING row
  // nobody will ever complete. A recent one is still someone's payment in progress…
  await stack.bookingsDb.query("UPDATE bookings SET status = 'PENDING' WHERE id = ?", {
    replacements: [booked.body.id],
  });
  expectProblem(await pay(stack, 902, body, 'after-crash'), 409);
  // … one older than the payment timeout (30 s here) plus its grace is an abandoned attempt.
  await stack.bookingsDb.query(
    "UPDATE bookings SET updated_at = NOW(3) - INTERVAL 40 SECOND WHERE id = ? AND status = 'PENDING'",
    { replacements: [booked.body.id] },
  );
  const paid = await pay(stack, 902, body, 'after-crash-2');
  expect(paid.status).toBe(201);
  expect((await bookingRows(stack, 'id = ?', [booked.body.id]))[0].status).toBe('BOOKED');
  expect(provider.inner.charges.filter((c) => c.bookingId === booked.body.id)).toHaveLength(1);
});
