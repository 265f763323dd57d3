import { bookingEventSchema } from '@skyway/common';
import {
  book,
  bookingRows,
  createFlight,
  eventually,
  expectProblem,
  INTERNAL_TOKEN,
  outboxRows,
  pay,
  seatLedger,
  startStack,
  user,
  type Stack,
  type TestFlight,
} from './support';

let stack: Stack;
let flight: TestFlight;
beforeAll(async () => {
  stack = await startStack();
  flight = await createFlight(stack, 50, 450000);
});
afterAll(async () => {
  await stack.stop();
});

describe('health, auth and plumbing', () => {
  test('/health and /ready answer without a token and report the database and the broker', async () => {
    await stack.http().get('/health').expect(200, { status: 'ok' });
    const ready = await eventually(async () => {
      const r = await stack.http().get('/ready');
      return r.status === 200 && r;
    });
    expect(ready.body.checks).toEqual({ database: 'ok', broker: 'ok' });
  });

  test.each([
    ['get', '/api/v1/bookings'],
    ['post', '/api/v1/bookings'],
    ['get', '/api/v1/bookings/1'],
    ['post', '/api/v1/bookings/1/cancel'],
    ['post', '/api/v1/payments'],
  ] as const)('%s %s without a valid internal token is 401; without identity 401', async (method, path) => {
    expectProblem(
      await stack.http()[method](path).set({ 'X-User-Id': '2', 'X-User-Role': 'customer' }).send({}),
      401,
    );
    expectProblem(
      await stack
        .http()
        [method](path)
        .set({ ...user(2), 'X-Internal-Token': 'nope' })
        .send({}),
      401,
    );
    expectProblem(await stack.http()[method](path).set({ 'X-Internal-Token': INTERNAL_TOKEN }).send({}), 401);
  });

  test('unknown routes are a 404 problem; a body over 100 kB is 413; broken JSON is 400', async () => {
    expectProblem(await stack.http().get('/api/v1/nothing').set(user(2)), 404);
    const big = await book(stack, 2, { flightId: flight.id, noOfSeats: 1, pad: 'x'.repeat(110_000) });
    expectProblem(big, 413);
    const broken = await stack
      .http()
      .post('/api/v1/bookings')
      .set(user(2))
      .set('Content-Type', 'application/json')
      .send('{"flightId":');
    expectProblem(broken, 400);
  });

  test('the OpenAPI document is served at /api-docs', async () => {
    const doc = await stack.http().get('/api-docs/openapi.json').expect(200);
    expect(doc.body.openapi).toMatch(/^3\.1/);
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/bookings',
        '/api/v1/bookings/{id}',
        '/api/v1/bookings/{id}/cancel',
        '/api/v1/payments',
      ]),
    );
  });
});

describe('POST /api/v1/bookings', () => {
  test('201 INITIATED with totalCost = price × seats and expiresAt = now + TTL; the seats are held', async () => {
    const before = await seatLedger(stack, flight.id);
    const started = Date.now();
    const res = await book(stack, 2, { flightId: flight.id, noOfSeats: 3 }).expect(201);
    expect(res.body).toMatchObject({
      id: expect.any(Number),
      flightId: flight.id,
      userId: 2,
      noOfSeats: 3,
      totalCost: 3 * 450000,
      status: 'INITIATED',
    });
    const ttl = new Date(res.body.expiresAt).getTime() - started;
    expect(ttl).toBeGreaterThan(590_000);
    expect(ttl).toBeLessThan(610_000);
    const after = await seatLedger(stack, flight.id);
    expect(after.available).toBe(before.available - 3);
    expect(after.available + after.held).toBe(after.total);
    const [row] = await bookingRows(stack, 'id = ?', [res.body.id]);
    expect(row.seats_state).toBe('HELD');
    // The answer is the stored booking, to the millisecond.
    const stored = await stack.http().get(`/api/v1/bookings/${res.body.id}`).set(user(2)).expect(200);
    expect(stored.body).toEqual(res.body);
    const events = await outboxRows(stack, res.body.id);
    expect(events.map((e) => e.type)).toEqual(['booking.created']);
    const event = bookingEventSchema.parse(JSON.parse(events[0].payload));
    expect(event.data).toMatchObject({
      bookingId: res.body.id,
      userId: 2,
      userEmail: 'user2@example.test',
      flightId: flight.id,
      flightNumber: flight.flightNumber,
      departureAirportCode: 'DEL',
      arrivalAirportCode: 'BOM',
      departureTime: new Date(flight.departureTime).toISOString(),
      noOfSeats: 3,
      totalCost: 3 * 450000,
      status: 'INITIATED',
    });
  });

  test('400 names each bad field', async () => {
    const res = await book(stack, 2, { flightId: 'x', noOfSeats: 11 });
    expectProblem(res, 400);
    expect((res.body.errors as Array<{ path: string }>).map((e) => e.path).sort()).toEqual([
      'flightId',
      'noOfSeats',
    ]);
    expectProblem(await book(stack, 2, { flightId: flight.id, noOfSeats: 0 }), 400);
  });

  test('404 for an unknown flight, with no booking left behind', async () => {
    const before = (await bookingRows(stack)).length;
    const res = await book(stack, 2, { flightId: 999999, noOfSeats: 1 });
    expectProblem(res, 404);
    expect((await bookingRows(stack)).length).toBe(before);
  });

  test('409 when there are not enough seats; no booking stays INITIATED', async () => {
    const small = await createFlight(stack, 2);
    const res = await book(stack, 3, { flightId: small.id, noOfSeats: 3 });
    expectProblem(res, 409);
    expect(res.body.type).toBe('urn:skyway:problem:not-enough-seats');
    expect(await bookingRows(stack, 'flight_id = ? AND status = ?', [small.id, 'INITIATED'])).toEqual([]);
  });

  test('409 when flight-service refuses the hold itself: the booking is cancelled and never shown to the user', async () => {
    const [[{ next }]] = (await stack.bookingsDb.query(
      'SELECT COALESCE(MAX(id), 0) + 1 AS next FROM bookings',
    )) as [Array<{ next: number }>, unknown];
    // A release that came first leaves a tombstone, so flight-service refuses a hold for that booking id.
    await stack
      .flightHttp()
      .delete(`/internal/v1/flights/${flight.id}/reservations/${Number(next)}`)
      .set({ 'X-Internal-Token': INTERNAL_TOKEN })
      .expect(204);
    const before = await seatLedger(stack, flight.id);
    const res = await book(stack, 3, { flightId: flight.id, noOfSeats: 1 });
    expectProblem(res, 409);
    expect(res.body.type).toBe('urn:skyway:problem:reservation-released');
    const [row] = await bookingRows(stack, 'id = ?', [Number(next)]);
    expect(row).toMatchObject({
      status: 'CANCELLED',
      cancel_reason: 'RESERVATION_FAILED',
      seats_state: 'RELEASED',
    });
    expect(await seatLedger(stack, flight.id)).toEqual(before);
    expectProblem(await stack.http().get(`/api/v1/bookings/${row.id}`).set(user(3)), 404);
    const list = await stack.http().get('/api/v1/bookings').set(user(3)).expect(200);
    expect(list.body.data.map((b: { id: number }) => b.id)).not.toContain(row.id);
    // Never published as created (its seats were never held), so nothing about it is published at all.
    expect(await outboxRows(stack, row.id)).toEqual([]);
  });

  test('with an Idempotency-Key a retry gets the same booking and seats are held once; another body is 422', async () => {
    const before = await seatLedger(stack, flight.id);
    const first = await book(stack, 4, { flightId: flight.id, noOfSeats: 2 }, 'book-once').expect(201);
    const again = await book(stack, 4, { noOfSeats: 2, flightId: flight.id }, 'book-once').expect(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.text).toBe(first.text);
    expect((await seatLedger(stack, flight.id)).available).toBe(before.available - 2);
    expectProblem(await book(stack, 4, { flightId: flight.id, noOfSeats: 1 }, 'book-once'), 422);
    // Keys are per user: another user's identical key is a fresh booking.
    const other = await book(stack, 5, { flightId: flight.id, noOfSeats: 2 }, 'book-once').expect(201);
    expect(other.body.id).not.toBe(first.body.id);
    expectProblem(await book(stack, 4, { flightId: flight.id, noOfSeats: 1 }, ''), 400);
    expectProblem(await book(stack, 4, { flightId: flight.id, noOfSeats: 1 }, 'k'.repeat(256)), 400);
  });
});

describe('GET /api/v1/bookings', () => {
  test('the owner and admins see a booking; anyone else gets 404', async () => {
    const b = await book(stack, 6, { flightId: flight.id, noOfSeats: 1 }).expect(201);
    const mine = await stack.http().get(`/api/v1/bookings/${b.body.id}`).set(user(6)).expect(200);
    expect(mine.body).toEqual(b.body);
    await stack.http().get(`/api/v1/bookings/${b.body.id}`).set(user(99, 'admin')).expect(200);
    expectProblem(await stack.http().get(`/api/v1/bookings/${b.body.id}`).set(user(7)), 404);
    expectProblem(await stack.http().get('/api/v1/bookings/999999').set(user(6)), 404);
    expectProblem(await stack.http().get('/api/v1/bookings/abc').set(user(6)), 400);
  });

  test("lists the caller's bookings newest first, paginated; limit > 100 is 400", async () => {
    const ids: number[] = [];
    for (let i = 0; i < 3; i++)
      ids.push((await book(stack, 8, { flightId: flight.id, noOfSeats: 1 }).expect(201)).body.id);
    const page1 = await stack.http().get('/api/v1/bookings?limit=2').set(user(8)).expect(200);
    expect(page1.body).toMatchObject({ page: 1, limit: 2, total: 3 });
    expect(page1.body.data.map((b: { id: number }) => b.id)).toEqual([ids[2], ids[1]]);
    const page2 = await stack.http().get('/api/v1/bookings?limit=2&page=2').set(user(8)).expect(200);
    expect(page2.body.data.map((b: { id: number }) => b.id)).toEqual([ids[0]]);
    const defaults = await stack.http().get('/api/v1/bookings').set(user(8)).expect(200);
    expect(defaults.body).toMatchObject({ page: 1, limit: 20, total: 3 });
    const tooMany = await stack.http().get('/api/v1/bookings?limit=101').set(user(8));
    expectProblem(tooMany, 400);
    expect(tooMany.body.errors[0].path).toBe('limit');
    for (const q of ['page=0x10', 'page=1e2', 'limit=%201', 'page=-1', 'page=99999999999']) {
      const odd = await stack.http().get(`/api/v1/bookings?${q}`).set(user(8));
      expectProblem(odd, 400);
    }
  });
});

describe('POST /api/v1/bookings/:id/cancel', () => {
  test('200 CANCELLED/USER, seats released once; cancelling again returns it unchanged', async () => {
    const before = await seatLedger(stack, flight.id);
    const b = await book(stack, 9, { flightId: flight.id, noOfSeats: 2 }).expect(201);
    const cancelled = await stack
      .http()
      .post(`/api/v1/bookings/${b.body.id}/cancel`)
      .set(user(9))
      .expect(200);
    expect(cancelled.body).toMatchObject({ id: b.body.id, status: 'CANCELLED', cancelReason: 'USER' });
    expect((await seatLedger(stack, flight.id)).available).toBe(before.available);
    const again = await stack.http().post(`/api/v1/bookings/${b.body.id}/cancel`).set(user(9)).expect(200);
    // Unchanged means every field, updatedAt included (internal seat bookkeeping must not move it).
    expect(again.body).toEqual(cancelled.body);
    expect((await seatLedger(stack, flight.id)).available).toBe(before.available);
    const events = await outboxRows(stack, b.body.id);
    expect(events.map((e) => e.type)).toEqual(['booking.created', 'booking.cancelled']);
    expect(JSON.parse(events[1].payload).data).toMatchObject({
      status: 'CANCELLED',
      previousStatus: 'INITIATED',
    });
  });

  test("someone else's booking is 404", async () => {
    const b = await book(stack, 10, { flightId: flight.id, noOfSeats: 1 }).expect(201);
    expectProblem(await stack.http().post(`/api/v1/bookings/${b.body.id}/cancel`).set(user(11)), 404);
  });

  test('a BOOKED booking can be cancelled before departure (event names the previous status BOOKED)', async () => {
    const before = await seatLedger(stack, flight.id);
    const b = await book(stack, 12, { flightId: flight.id, noOfSeats: 1 }).expect(201);
    await pay(stack, 12, { bookingId: b.body.id, amount: b.body.totalCost }, 'pay-then-cancel').expect(201);
    const res = await stack.http().post(`/api/v1/bookings/${b.body.id}/cancel`).set(user(12)).expect(200);
    expect(res.body).toMatchObject({ status: 'CANCELLED', cancelReason: 'USER' });
    expect((await seatLedger(stack, flight.id)).available).toBe(before.available);
    const events = await outboxRows(stack, b.body.id);
    expect(events.map((e) => e.type)).toEqual(['booking.created', 'booking.confirmed', 'booking.cancelled']);
    expect(JSON.parse(events[2].payload).data).toMatchObject({
      status: 'CANCELLED',
      previousStatus: 'BOOKED',
    });
  });

  test('a BOOKED booking whose flight departed cannot be cancelled (409)', async () => {
    const b = await book(stack, 13, { flightId: flight.id, noOfSeats: 1 }).expect(201);
    await pay(stack, 13, { bookingId: b.body.id, amount: b.body.totalCost }, 'pay-departed').expect(201);
    await stack.bookingsDb.query(
      'UPDATE bookings SET departure_time = NOW(3) - INTERVAL 1 HOUR WHERE id = ?',
      {
        replacements: [b.body.id],
      },
    );
    expectProblem(await stack.http().post(`/api/v1/bookings/${b.body.id}/cancel`).set(user(13)), 409);
  });
});

describe('POST /api/v1/payments', () => {
  test('201 SUCCEEDED, booking BOOKED, one payment row and a booking.confirmed event; a retry is replayed byte for byte', async () => {
    const b = await book(stack, 20, { flightId: flight.id, noOfSeats: 2 }).expect(201);
    const body = { bookingId: b.body.id, amount: b.body.totalCost };
    const res = await pay(stack, 20, body, 'pay-1').expect(201);
    expect(res.body).toEqual({
      id: expect.any(Number),
      bookingId: b.body.id,
      amount: 900000,
      status: 'SUCCEEDED',
      createdAt: expect.any(String),
    });
    expect(res.headers['idempotent-replayed']).toBeUndefined();
    const replay = await pay(stack, 20, body, 'pay-1').expect(201);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.text).toBe(res.text);
    const booking = await stack.http().get(`/api/v1/bookings/${b.body.id}`).set(user(20)).expect(200);
    expect(booking.body.status).toBe('BOOKED');
    const [[{ n }]] = (await stack.bookingsDb.query(
      'SELECT COUNT(*) AS n FROM payments WHERE booking_id = ?',
      {
        replacements: [b.body.id],
      },
    )) as [Array<{ n: number }>, unknown];
    expect(Number(n)).toBe(1);
    const events = await outboxRows(stack, b.body.id);
    expect(events.map((e) => e.type)).toEqual(['booking.created', 'booking.confirmed']);
    expect(JSON.parse(events[1].payload).data).toMatchObject({ status: 'BOOKED', previousStatus: 'PENDING' });
  });

  test('the Idempotency-Key is required (400) and must be 1–255 printable characters', async () => {
    const b = await book(stack, 21, { flightId: flight.id, noOfSeats: 1 }).expect(201);
    const res = await pay(stack, 21, { bookingId: b.body.id, amount: b.body.totalCost });
    expectProblem(res, 400);
    expect(res.body.errors[0].path).toBe('Idempotency-Key');
    expectProblem(
      await pay(stack, 21, { bookingId: b.body.id, amount: b.body.totalCost }, 'x'.repeat(256)),
      400,
    );
    expectProblem(await pay(stack, 21, { bookingId: b.body.id, amount: b.body.totalCost }, 'tab\there'), 400);
  });

  test('amount ≠ totalCost is 400, stored and replayed with the first requestId; another body is 422', async () => {
    const b = await book(stack, 22, { flightId: flight.id, noOfSeats: 1 }).expect(201);
    const wrong = await pay(stack, 22, { bookingId: b.body.id, amount: 1 }, 'pay-wrong');
    expectProblem(wrong, 400);
    expect(wrong.body.errors[0].path).toBe('amount');
    const replay = await pay(stack, 22, { bookingId: b.body.id, amount: 1 }, 'pay-wrong');
    expect(replay.status).toBe(400);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.text).toBe(wrong.text);
    expect(replay.body.requestId).toBe(wrong.body.requestId);
    // 422 is decided before the body is validated: even an invalid body is 422 under a used key.
    expectProblem(await pay(stack, 22, { bookingId: b.body.id, amount: b.body.totalCost }, 'pay-wrong'), 422);
    expectProblem(await pay(stack, 22, { nonsense: true }, 'pay-wrong'), 422);
    const invalid = await pay(stack, 22, { bookingId: 'x' }, 'pay-invalid');
    expectProblem(invalid, 400);
    expect(invalid.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['amount', 'bookingId']);
  });

  test("someone else's booking is 404; already BOOKED under another key is 409", async () => {
    const b = await book(stack, 23, { flightId: flight.id, noOfSeats: 1 }).expect(201);
    const body = { bookingId: b.body.id, amount: b.body.totalCost };
    expectProblem(await pay(stack, 24, body, 'pay-other'), 404);
    expectProblem(await pay(stack, 23, { bookingId: 999999, amount: 1 }, 'pay-missing'), 404);
    await pay(stack, 23, body, 'pay-a').expect(201);
    expectProblem(await pay(stack, 23, body, 'pay-b'), 409);
  });

  test('a cancelled booking is 410; an expired one is 410', async () => {
    const c = await book(stack, 25, { flightId: flight.id, noOfSeats: 1 }).expect(201);
    await stack.http().post(`/api/v1/bookings/${c.body.id}/cancel`).set(user(25)).expect(200);
    expectProblem(
      await pay(stack, 25, { bookingId: c.body.id, amount: c.body.totalCost }, 'pay-cancelled'),
      410,
    );
    const e = await book(stack, 25, { flightId: flight.id, noOfSeats: 1 }).expect(201);
    await stack.bookingsDb.query('UPDATE bookings SET expires_at = NOW(3) - INTERVAL 1 SECOND WHERE id = ?', {
      replacements: [e.body.id],
    });
    expectProblem(
      await pay(stack, 25, { bookingId: e.body.id, amount: e.body.totalCost }, 'pay-expired'),
      410,
    );
  });
});
