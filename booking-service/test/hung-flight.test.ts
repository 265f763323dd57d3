import { FaultProxy } from '@skyway/testkit';
import { book, bookingRows, createFlight, eventually, seatLedger, startStack, type Stack } from './support';

/**
 * Expiry on time. flight-service hangs (a blackholing TCP proxy between booking-service and flight-service: connections are
 * accepted, nothing ever answers). Found by the e2e fault test: the sweeper awaited its seat releases, each
 * FLIGHT_CALL_ATTEMPTS × UPSTREAM_TIMEOUT_MS long, so bookings falling due meanwhile outlived their TTL by
 * that much (4.1 s over a 1 s tick with 3 s timeouts; 30 s and more with the defaults). And the sweeper compared
 * `expires_at` with a `now` Sequelize had cut to the second, so every booking waited up to a second more.
 */
const UPSTREAM_TIMEOUT_MS = 1500;
let proxy: FaultProxy;
let stack: Stack;

beforeAll(async () => {
  // flight-service's port is known once the stack runs; the proxy is pointed at it then.
  proxy = await FaultProxy.start(1);
  stack = await startStack({
    bookingEnv: {
      FLIGHT_SERVICE_URL: `http://127.0.0.1:${proxy.port}`,
      UPSTREAM_TIMEOUT_MS: String(UPSTREAM_TIMEOUT_MS),
      BOOKING_TTL_SECONDS: '1',
      RELEASE_RETRY_SECONDS: '1',
    },
  });
  proxy.retarget(stack.flight.port);
});
afterAll(async () => {
  await proxy.heal();
  await stack.booking.sweeper.idle();
  await stack.stop();
  await proxy.close();
});

test('a hung flight-service does not delay expiry: the tick expires at once, the seats come back once it answers', async () => {
  const flight = await createFlight(stack, 10);
  const ids: number[] = [];
  for (const u of [950, 951, 952]) {
    const res = await book(stack, u, { flightId: flight.id, noOfSeats: 2 }).expect(201);
    ids.push(res.body.id);
  }
  expect((await seatLedger(stack, flight.id)).available).toBe(4);
  proxy.blackhole();
  // Due one millisecond ago: the next tick must take them (it once compared with `now` cut to the second).
  await stack.bookingsDb.query(
    'UPDATE bookings SET expires_at = NOW(3) - INTERVAL 1000 MICROSECOND WHERE id IN (:ids)',
    { replacements: { ids } },
  );

  const started = Date.now();
  const expired = await stack.booking.sweeper.tick();
  // Well below a single flight-service call's timeout: the tick did not wait for a release.
  expect(Date.now() - started).toBeLessThan(UPSTREAM_TIMEOUT_MS);
  expect(expired.sort()).toEqual([...ids].sort());
  const rows = await bookingRows(stack, 'id IN (?)', [ids]);
  expect(rows.map((b) => [b.status, b.cancel_reason])).toEqual(ids.map(() => ['CANCELLED', 'EXPIRED']));

  await proxy.heal();
  // flight-service gives the seats back first; each booking is marked RELEASED once its DELETE was answered.
  await eventually(async () => {
    await stack.booking.sweeper.tick();
    const rows = await bookingRows(stack, 'id IN (?)', [ids]);
    return rows.every((b) => b.seats_state === 'RELEASED');
  }, 30_000);
  const released = await bookingRows(stack, 'id IN (?)', [ids]);
  expect(released.map((b) => b.seats_state)).toEqual(ids.map(() => 'RELEASED'));
  expect(await seatLedger(stack, flight.id)).toEqual({ available: 10, total: 10, held: 0 });
});
