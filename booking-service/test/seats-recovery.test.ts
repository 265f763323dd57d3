import {
  book,
  bookingRows,
  createFlight,
  expectProblem,
  outboxRows,
  pay,
  startStack,
  user,
  type Stack,
} from './support';
import { expectSeatsConsistent, reservedSeats } from './seats-support';

let stack: Stack;
beforeAll(async () => {
  // One attempt per flight-service call, so a cut connection is a final "unreachable" at once.
  stack = await startStack({ proxy: true, bookingEnv: { FLIGHT_CALL_ATTEMPTS: '1' } });
});
afterAll(async () => {
  await stack.stop();
});

const passengersOf = async (id: number) => {
  const [row] = await bookingRows(stack, 'id = ?', [id]);
  return JSON.parse(String((row as unknown as { passengers: string }).passengers)) as Array<{
    name: string | null;
    seat: string | null;
  }>;
};
const leaseOver = (id: number) =>
  stack.bookingsDb.query(
    'UPDATE bookings SET seat_change_lease_until = NOW(3) - INTERVAL 1 SECOND WHERE id = ?',
    {
      replacements: [id],
    },
  );

test('flight-service changed the seats but its answer was lost: 503, then the sweeper records the change (same changeId)', async () => {
  const flight = await createFlight(stack, 30);
  const b = await book(stack, 50, { flightId: flight.id, passengers: [{ name: 'Nia', seat: '2A' }] }).expect(
    201,
  );
  await pay(stack, 50, { bookingId: b.body.id, amount: b.body.totalCost }, 'pay-cut').expect(201);
  const proxy = stack.proxy!;
  proxy.cutNextHold = true;
  const cut = await stack
    .http()
    .put(`/api/v1/bookings/${b.body.id}/seats`)
    .set(user(50))
    .send({ seats: ['3D'] });
  expectProblem(cut, 503);
  await proxy.open();
  // flight-service holds 3D already; the booking still says 2A, with the change's intent recorded.
  expect(await reservedSeats(stack, flight.id, b.body.id)).toEqual(['3D']);
  expect(await passengersOf(b.body.id)).toEqual([{ name: 'Nia', seat: '2A' }]);
  const [pending] = await bookingRows(stack, 'id = ?', [b.body.id]);
  expect((pending as unknown as { seat_change_id: string | null }).seat_change_id).toEqual(
    expect.any(String),
  );
  // While its request may still be running, another change waits (409, retry shortly).
  const busy = await stack
    .http()
    .put(`/api/v1/bookings/${b.body.id}/seats`)
    .set(user(50))
    .send({ seats: ['4D'] });
  expectProblem(busy, 409);
  expect(busy.headers['retry-after']).toBe('1');

  await leaseOver(b.body.id);
  await stack.booking.sweeper.runOnce();
  expect(await passengersOf(b.body.id)).toEqual([{ name: 'Nia', seat: '3D' }]);
  const events = (await outboxRows(stack, b.body.id)).map((r) => r.type);
  expect(events).toEqual(['booking.created', 'booking.confirmed', 'booking.seats-changed']);
  await expectSeatsConsistent(stack, flight.id);
  // Finished once: a second sweep changes nothing and adds no event.
  await stack.booking.sweeper.runOnce();
  expect((await outboxRows(stack, b.body.id)).length).toBe(3);
});

test('a stale intent is finished first when the customer asks again, then the new change applies', async () => {
  const flight = await createFlight(stack, 30);
  const b = await book(stack, 51, { flightId: flight.id, passengers: [{ name: 'Ola', seat: '1A' }] }).expect(
    201,
  );
  stack.proxy!.cutNextHold = true;
  expectProblem(
    await stack
      .http()
      .put(`/api/v1/bookings/${b.body.id}/seats`)
      .set(user(51))
      .send({ seats: ['1B'] }),
    503,
  );
  await stack.proxy!.open();
  await leaseOver(b.body.id);
  const res = await stack
    .http()
    .put(`/api/v1/bookings/${b.body.id}/seats`)
    .set(user(51))
    .send({ seats: ['1C'] })
    .expect(200);
  expect(res.body.passengers).toEqual([{ name: 'Ola', seat: '1C' }]);
  await expectSeatsConsistent(stack, flight.id);
});

test('a cancel racing a seat change: whichever lands first, the booking ends with nothing held', async () => {
  const flight = await createFlight(stack, 60);
  const bookings = await Promise.all(
    Array.from({ length: 6 }, (_, i) =>
      book(stack, 60 + i, { flightId: flight.id, passengers: [{ name: 'X', seat: `${i + 1}A` }] }).expect(
        201,
      ),
    ),
  );
  await Promise.all(
    bookings.flatMap((b, i) => [
      stack
        .http()
        .put(`/api/v1/bookings/${b.body.id}/seats`)
        .set(user(60 + i))
        .send({ seats: [`${i + 1}F`] }),
      stack
        .http()
        .post(`/api/v1/bookings/${b.body.id}/cancel`)
        .set(user(60 + i)),
    ]),
  );
  await stack.booking.sweeper.runOnce();
  for (const b of bookings) expect(await reservedSeats(stack, flight.id, b.body.id)).toEqual([]);
  const rows = await bookingRows(stack, 'flight_id = ?', [flight.id]);
  expect(rows.map((r) => [r.status, r.seats_state])).toEqual(rows.map(() => ['CANCELLED', 'RELEASED']));
  await expectSeatsConsistent(stack, flight.id);
});

test('a booking from before seats (seat numbers unknown) learns them from flight-service in the sweeper', async () => {
  const flight = await createFlight(stack, 30);
  const b = await book(stack, 70, { flightId: flight.id, noOfSeats: 2 }).expect(201);
  const seats = (b.body.passengers as Array<{ seat: string }>).map((p) => p.seat);
  // As the migration leaves a pre-v1.1 live booking: nameless passengers, seats to be read back.
  await stack.bookingsDb.query(
    `UPDATE bookings SET passengers = '[{"name":null,"seat":null},{"name":null,"seat":null}]', seats_to_learn = 1
      WHERE id = ?`,
    { replacements: [b.body.id] },
  );
  const before = await stack.http().get(`/api/v1/bookings/${b.body.id}`).set(user(70)).expect(200);
  expect(before.body.passengers).toEqual([
    { name: null, seat: null },
    { name: null, seat: null },
  ]);
  await stack.booking.sweeper.runOnce();
  const after = await stack.http().get(`/api/v1/bookings/${b.body.id}`).set(user(70)).expect(200);
  expect(after.body.passengers).toEqual(seats.map((seat) => ({ name: null, seat })));
  const [row] = await bookingRows(stack, 'id = ?', [b.body.id]);
  expect(Number((row as unknown as { seats_to_learn: number }).seats_to_learn)).toBe(0);
  expect(after.body.updatedAt).toBe(before.body.updatedAt);
});
