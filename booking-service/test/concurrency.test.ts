import { SimulatedPaymentProvider } from '../src/domain/payment-provider';
import {
  book,
  bookingRows,
  createFlight,
  expectProblem,
  heldByBooking,
  seatLedger,
  startStack,
  user,
  type Stack,
} from './support';

let stack: Stack;
const provider = new SimulatedPaymentProvider();
beforeAll(async () => {
  stack = await startStack({ bookingOptions: { paymentProvider: provider } });
});
afterAll(async () => {
  await stack.stop();
});

test('60 concurrent 1-seat bookings by 20 users on a 10-seat flight: exactly 10 INITIATED, seats held = seats booked', async () => {
  const flight = await createFlight(stack, 10);
  const responses = await Promise.all(
    Array.from({ length: 60 }, (_, i) => book(stack, 100 + (i % 20), { flightId: flight.id, noOfSeats: 1 })),
  );
  const statuses = responses.map((r) => r.status);
  expect(statuses.filter((s) => s === 201)).toHaveLength(10);
  expect(statuses.filter((s) => s === 409)).toHaveLength(50);
  for (const r of responses.filter((x) => x.status === 409)) expectProblem(r, 409);

  const rows = await bookingRows(stack, 'flight_id = ?', [flight.id]);
  const initiated = rows.filter((r) => r.status === 'INITIATED');
  expect(initiated).toHaveLength(10);
  // No booking is left INITIATED without its seats: every other one ended CANCELLED with nothing held.
  expect(rows.filter((r) => r.status !== 'INITIATED').every((r) => r.status === 'CANCELLED')).toBe(true);
  expect(rows.filter((r) => r.status === 'CANCELLED').every((r) => r.seats_state === 'RELEASED')).toBe(true);
  expect(initiated.every((r) => r.seats_state === 'HELD')).toBe(true);

  const ledger = await seatLedger(stack, flight.id);
  expect(ledger).toEqual({ available: 0, total: 10, held: 10 });
  // Across both databases: exactly the INITIATED bookings hold seats, each as many as it booked.
  const held = await heldByBooking(stack, flight.id);
  expect(new Map([...held].sort(([a], [b]) => a - b))).toEqual(
    new Map(initiated.map((r) => [r.id, r.no_of_seats])),
  );
  expect(new Set(responses.filter((r) => r.status === 201).map((r) => r.body.id))).toEqual(
    new Set(initiated.map((r) => r.id)),
  );
});

test('10 concurrent payments with one key: one payment row, one charge, the others replay or get 409; another body is 422', async () => {
  const flight = await createFlight(stack, 5);
  const booking = await book(stack, 200, { flightId: flight.id, noOfSeats: 2 }).expect(201);
  const body = { bookingId: booking.body.id, amount: booking.body.totalCost };
  const responses = await Promise.all(
    Array.from({ length: 10 }, () =>
      stack.http().post('/api/v1/payments').set(user(200)).set('Idempotency-Key', 'one-key').send(body),
    ),
  );
  const created = responses.filter((r) => r.status === 201);
  const original = created.filter((r) => r.headers['idempotent-replayed'] === undefined);
  expect(original).toHaveLength(1);
  for (const r of created) expect(r.text).toBe(original[0].text);
  for (const r of responses.filter((x) => x.status !== 201)) expectProblem(r, 409);
  expect(created.length + responses.filter((r) => r.status === 409).length).toBe(10);

  const [[{ n }]] = (await stack.bookingsDb.query('SELECT COUNT(*) AS n FROM payments WHERE booking_id = ?', {
    replacements: [booking.body.id],
  })) as [Array<{ n: number }>, unknown];
  expect(Number(n)).toBe(1);
  expect(provider.charges.filter((c) => c.bookingId === booking.body.id)).toHaveLength(1);

  // Once settled, every retry with the key is a replay of the stored response.
  const later = await stack
    .http()
    .post('/api/v1/payments')
    .set(user(200))
    .set('Idempotency-Key', 'one-key')
    .send(body);
  expect(later.status).toBe(201);
  expect(later.headers['idempotent-replayed']).toBe('true');
  expect(later.text).toBe(original[0].text);

  const other = await stack
    .http()
    .post('/api/v1/payments')
    .set(user(200))
    .set('Idempotency-Key', 'one-key')
    .send({ ...body, amount: body.amount + 1 });
  expectProblem(other, 422);
  expect(provider.charges.filter((c) => c.bookingId === booking.body.id)).toHaveLength(1);
});
