import {
  book,
  bookingRows,
  createFlight,
  eventually,
  expectProblem,
  outboxRows,
  seatLedger,
  startStack,
  type Stack,
} from './support';

let stack: Stack;
beforeAll(async () => {
  // flight-service is reached through a TCP proxy the test can shut, and the sweeper runs every second.
  stack = await startStack({
    proxy: true,
    bookingEnv: { SWEEPER_CRON: '* * * * * *', RELEASE_RETRY_SECONDS: '1' },
  });
});
afterAll(async () => {
  await stack.stop();
});

test('flight-service stopped: 503 fast, and no booking is left INITIATED', async () => {
  const flight = await createFlight(stack, 10);
  const proxy = stack.proxy!;
  await proxy.close();
  const before = await bookingRows(stack);
  const started = Date.now();
  const res = await book(stack, 500, { flightId: flight.id, noOfSeats: 1 });
  expect(Date.now() - started).toBeLessThan(3000);
  expectProblem(res, 503);
  expect(await bookingRows(stack)).toEqual(before);
  await proxy.open();
  await book(stack, 500, { flightId: flight.id, noOfSeats: 1 }).expect(201);
});

test('flight-service dies right after holding the seats: 503 fast, and once it is back the seats are released', async () => {
  const flight = await createFlight(stack, 10);
  const proxy = stack.proxy!;
  proxy.cutNextHold = true;
  const started = Date.now();
  const res = await book(stack, 501, { flightId: flight.id, noOfSeats: 3 });
  expect(Date.now() - started).toBeLessThan(3000);
  expectProblem(res, 503);

  // flight-service committed the hold, but the booking is cancelled and its release is pending.
  const [row] = await bookingRows(stack, 'flight_id = ?', [flight.id]);
  expect(row).toMatchObject({
    status: 'CANCELLED',
    cancel_reason: 'RESERVATION_FAILED',
    seats_state: 'RELEASING',
  });
  expect(await seatLedger(stack, flight.id)).toEqual({ available: 7, total: 10, held: 3 });

  // Restart flight-service for real (same database, new port) and bring its address back.
  await stack.flight.close();
  stack.flight = await stack.startFlight();
  proxy.targetPort = stack.flight.port;
  await proxy.open();

  await eventually(async () => (await bookingRows(stack, 'id = ?', [row.id]))[0].seats_state === 'RELEASED');
  expect(await seatLedger(stack, flight.id)).toEqual({ available: 10, total: 10, held: 0 });
  // The client got a 503 and never saw this booking: no event was published for it.
  expect(await outboxRows(stack, row.id)).toEqual([]);
  // Nothing held for a cancelled booking, nothing INITIATED without seats.
  expect(await bookingRows(stack, "status = 'INITIATED' AND seats_state <> 'HELD'")).toEqual([]);
});
