import {
  book,
  bookingRows,
  createFlight,
  eventually,
  expectEveryLiveBookingHoldsItsSeats,
  gate,
  heldByBooking,
  pay,
  seatLedger,
  startStack,
  user,
  type Stack,
} from './support';

/**
 * The last seat sold twice (review, v1.1): a booking could be paid while its seat hold was still being decided,
 * and when the hold then failed it stayed BOOKED and paid with no seat. These tests pay (and read, and cancel) a
 * booking at every point of its saga, with flight-service paused before the hold and with the hold's answer
 * delayed, and then check in both databases that every live booking holds its seats.
 */
let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ proxy: true });
}, 60_000);
afterAll(async () => {
  await stack?.stop();
});

async function holdingBooking(flightId: number) {
  return eventually(async () => {
    const [b] = await bookingRows(stack, "flight_id = ? AND seats_state = 'HOLDING'", [flightId]);
    return b;
  });
}

async function readsAndPaysAre404(userId: number, bookingId: number, amount: number) {
  const paid = await pay(stack, userId, { bookingId, amount }, `mid-saga-${bookingId}-${Date.now()}`);
  expect(paid.status).toBe(404);
  await stack.http().get(`/api/v1/bookings/${bookingId}`).set(user(userId)).expect(404);
  const list = await stack.http().get('/api/v1/bookings').set(user(userId)).expect(200);
  expect(list.body.data.map((b: { id: number }) => b.id)).not.toContain(bookingId);
  await stack.http().post(`/api/v1/bookings/${bookingId}/cancel`).set(user(userId)).expect(404);
}

test('flight-service paused mid-hold: the waiting booking cannot be paid, and the last seat goes to one booking', async () => {
  const flight = await createFlight(stack, 1, 1000);
  const paused = gate();
  stack.proxy!.pauseNextHold = { stage: 'request', until: paused.until, reached: paused.reached };
  const y = book(stack, 4001, { flightId: flight.id, noOfSeats: 1 }).then((r) => r);
  await paused.wasReached;
  const waiting = await holdingBooking(flight.id);
  await readsAndPaysAre404(4001, waiting.id, 1000);

  // Meanwhile X takes the only seat and pays for it.
  const x = await book(stack, 4002, { flightId: flight.id, noOfSeats: 1 }).expect(201);
  await pay(stack, 4002, { bookingId: x.body.id, amount: 1000 }, 'x-pays').expect(201);

  paused.open();
  const yAnswer = await y;
  expect(yAnswer.status).toBe(409);
  const rows = await bookingRows(stack, 'flight_id = ?', [flight.id]);
  expect(rows.map((b) => [b.id, b.status, b.cancel_reason])).toEqual([
    [waiting.id, 'CANCELLED', 'RESERVATION_FAILED'],
    [x.body.id, 'BOOKED', null],
  ]);
  const [[payments]] = (await stack.bookingsDb.query(
    'SELECT COUNT(*) AS n FROM payments WHERE booking_id = ?',
    { replacements: [waiting.id] },
  )) as [Array<{ n: number | string }>, unknown];
  expect(Number(payments.n)).toBe(0);
  await expectEveryLiveBookingHoldsItsSeats(stack, flight.id);
});

test('the hold is made but its answer is delayed: not payable until the POST answered, payable after', async () => {
  const flight = await createFlight(stack, 1, 1000);
  const delayed = gate();
  stack.proxy!.pauseNextHold = { stage: 'response', until: delayed.until, reached: delayed.reached };
  const posting = book(stack, 4011, { flightId: flight.id, noOfSeats: 1 }).then((r) => r);
  await delayed.wasReached;
  const waiting = await holdingBooking(flight.id);
  // The seat is held at flight-service already; the booking is still not the customer's to pay.
  expect((await heldByBooking(stack, flight.id)).get(waiting.id)).toBe(1);
  await readsAndPaysAre404(4011, waiting.id, 1000);

  delayed.open();
  const answer = await posting;
  expect(answer.status).toBe(201);
  expect(answer.body.id).toBe(waiting.id);
  await pay(stack, 4011, { bookingId: waiting.id, amount: 1000 }, 'after-answer').expect(201);
  await expectEveryLiveBookingHoldsItsSeats(stack, flight.id);
});

test('no fault: ten rounds of ten racers for one seat while a payer pays every new booking id', async () => {
  for (let round = 0; round < 10; round++) {
    const flight = await createFlight(stack, 1, 1000);
    const [[top]] = (await stack.bookingsDb.query('SELECT COALESCE(MAX(id), 0) AS id FROM bookings')) as [
      Array<{ id: number | string }>,
      unknown,
    ];
    const firstId = Number(top.id) + 1;
    let racing = true;
    const paid: number[] = [];
    // Each racer also tries to pay the ids just handed out, as fast as it can, until the race is over.
    const payer = async (userId: number) => {
      while (racing) {
        for (let id = firstId; id < firstId + 10; id++) {
          const res = await pay(stack, userId, { bookingId: id, amount: 1000 }, `storm-${id}`);
          if (res.status === 201) paid.push(id);
        }
      }
    };
    const users = Array.from({ length: 10 }, (_, i) => 5000 + round * 10 + i);
    const payers = users.map(payer);
    const answers = await Promise.all(
      users.map((u) => book(stack, u, { flightId: flight.id, noOfSeats: 1 })),
    );
    racing = false;
    await Promise.all(payers);
    expect(answers.filter((a) => a.status === 201)).toHaveLength(1);
    expect(answers.filter((a) => a.status !== 201).map((a) => a.status)).toEqual(Array(9).fill(409));
    const booked = await bookingRows(stack, "flight_id = ? AND status = 'BOOKED'", [flight.id]);
    expect(booked.length).toBeLessThanOrEqual(1);
    for (const id of paid) expect(booked.map((b) => b.id)).toContain(id);
    await expectEveryLiveBookingHoldsItsSeats(stack, flight.id);
  }
}, 120_000);

test('a booking whose saga was lost while HOLDING is given up by the sweeper and its seats come back', async () => {
  const flight = await createFlight(stack, 2, 1000);
  const paused = gate();
  stack.proxy!.pauseNextHold = { stage: 'response', until: paused.until, reached: paused.reached };
  const posting = book(stack, 4021, { flightId: flight.id, noOfSeats: 2 }).then((r) => r);
  await paused.wasReached;
  const lost = await holdingBooking(flight.id);
  // As if its process had died long ago: the seats are held, the booking is stuck HOLDING.
  await stack.bookingsDb.query('UPDATE bookings SET created_at = NOW(3) - INTERVAL 1 HOUR WHERE id = ?', {
    replacements: [lost.id],
  });
  const swept = await stack.booking.sweeper.runOnce();
  expect(swept.released).toContain(lost.id);
  expect((await seatLedger(stack, flight.id)).available).toBe(2);
  paused.open();
  // The saga wakes up to a booking that is no longer HOLDING: it answers a conflict, and no booking lives.
  expect((await posting).status).toBe(409);
  const [row] = await bookingRows(stack, 'id = ?', [lost.id]);
  expect([row.status, row.cancel_reason, row.seats_state]).toEqual([
    'CANCELLED',
    'RESERVATION_FAILED',
    'RELEASED',
  ]);
  await eventually(async () => (await seatLedger(stack, flight.id)).available === 2);
  await expectEveryLiveBookingHoldsItsSeats(stack, flight.id);
});
