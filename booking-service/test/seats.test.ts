import { bookingEventSchema } from '@skyway/common';
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
  type TestFlight,
} from './support';
import { expectSeatsConsistent, seatMap, takenSeats } from './seats-support';

let stack: Stack;
let flight: TestFlight;
beforeAll(async () => {
  stack = await startStack();
  // 120 seats, 6 per row: rows 1–20.
  flight = await createFlight(stack, 120, 450000);
});
afterAll(async () => {
  await stack.stop();
});

const LOCATOR = /^[ABCDEFGHJKLMNPQRSTUVWXYZ23456789]{6}$/;
const changeSeats = (
  userId: number,
  bookingId: number,
  body: object,
  role: 'customer' | 'admin' = 'customer',
) => stack.http().put(`/api/v1/bookings/${bookingId}/seats`).set(user(userId, role)).send(body);

describe('POST /api/v1/bookings with passengers', () => {
  test('201: seat 12A chosen, the other assigned; passengers in request order, a locator, noOfSeats = passengers', async () => {
    const res = await book(stack, 10, {
      flightId: flight.id,
      passengers: [{ name: '  Asha Rao ', seat: '12A' }, { name: 'Zoë Müller-Łukasz' }],
    }).expect(201);
    expect(res.body).toMatchObject({
      flightId: flight.id,
      noOfSeats: 2,
      totalCost: 900000,
      status: 'INITIATED',
      locator: expect.stringMatching(LOCATOR),
    });
    const [first, second] = res.body.passengers as Array<{ name: string; seat: string }>;
    expect(first).toEqual({ name: 'Asha Rao', seat: '12A' });
    expect(second).toEqual({ name: 'Zoë Müller-Łukasz', seat: expect.stringMatching(/^\d+[A-F]$/) });
    expect(second.seat).not.toBe('12A');
    // The seats are taken on flight-service's map, and GET tells the same.
    const taken = await takenSeats(stack, flight.id);
    expect(taken).toEqual(expect.arrayContaining(['12A', second.seat]));
    const got = await stack.http().get(`/api/v1/bookings/${res.body.id}`).set(user(10)).expect(200);
    expect(got.body.passengers).toEqual(res.body.passengers);
    expect(got.body.locator).toBe(res.body.locator);
    // booking.created carries the locator and the passengers.
    const [created] = await outboxRows(stack, res.body.id);
    expect(bookingEventSchema.parse(JSON.parse(created.payload)).data).toMatchObject({
      locator: res.body.locator,
      passengers: res.body.passengers,
    });
    await expectSeatsConsistent(stack, flight.id);
  });

  test('noOfSeats alone still works: nameless passengers with assigned seats; noOfSeats may agree with passengers', async () => {
    const res = await book(stack, 11, { flightId: flight.id, noOfSeats: 3 }).expect(201);
    expect(res.body.noOfSeats).toBe(3);
    expect(res.body.passengers).toEqual([
      { name: null, seat: expect.stringMatching(/^\d+[A-F]$/) },
      { name: null, seat: expect.stringMatching(/^\d+[A-F]$/) },
      { name: null, seat: expect.stringMatching(/^\d+[A-F]$/) },
    ]);
    // An auto-assigned party of three sits together in one row when a block is free.
    const rows = new Set((res.body.passengers as Array<{ seat: string }>).map((p) => p.seat.slice(0, -1)));
    expect(rows.size).toBe(1);
    const both = await book(stack, 11, {
      flightId: flight.id,
      noOfSeats: 1,
      passengers: [{ name: 'Li Wei' }],
    });
    expect(both.status).toBe(201);
    expect(both.body.passengers).toEqual([{ name: 'Li Wei', seat: expect.any(String) }]);
    await expectSeatsConsistent(stack, flight.id);
  });

  test('400 names each bad field; nothing is written', async () => {
    const before = (await bookingRows(stack)).length;
    const cases: Array<[object, string[]]> = [
      [{ flightId: flight.id, noOfSeats: 2, passengers: [{ name: 'Asha' }] }, ['noOfSeats']],
      [{ flightId: flight.id }, ['noOfSeats']],
      [{ flightId: flight.id, passengers: [] }, ['passengers']],
      [
        { flightId: flight.id, passengers: Array.from({ length: 11 }, () => ({ name: 'A' })) },
        ['passengers'],
      ],
      [{ flightId: flight.id, passengers: [{ name: '   ' }] }, ['passengers.0.name']],
      [{ flightId: flight.id, passengers: [{ name: 'x'.repeat(101) }] }, ['passengers.0.name']],
      [{ flightId: flight.id, passengers: [{ name: 'R2-D2' }] }, ['passengers.0.name']],
      [{ flightId: flight.id, passengers: [{ name: 'A', seat: '12I' }] }, ['passengers.0.seat']],
      [{ flightId: flight.id, passengers: [{ name: 'A', seat: 12 }] }, ['passengers.0.seat']],
      [
        {
          flightId: flight.id,
          passengers: [
            { name: 'A', seat: '3C' },
            { name: 'B', seat: '3C' },
          ],
        },
        ['passengers.1.seat'],
      ],
    ];
    for (const [body, paths] of cases) {
      const res = await book(stack, 12, body);
      expectProblem(res, 400);
      expect([body, (res.body.errors as Array<{ path: string }>).map((e) => e.path)]).toEqual([body, paths]);
    }
    expect((await bookingRows(stack)).length).toBe(before);
  });

  test('a seat not on the flight map is 400 at passengers.<i>.seat (flight-service says so); nothing is held', async () => {
    const freeBefore = (await seatMap(stack, flight.id)).availableSeats;
    for (const seat of ['21A', '1G', '999K']) {
      const res = await book(stack, 13, {
        flightId: flight.id,
        passengers: [{ name: 'A' }, { name: 'B', seat }],
      });
      expectProblem(res, 400);
      expect(res.body.errors).toEqual([{ path: 'passengers.1.seat', message: expect.any(String) }]);
    }
    expect((await seatMap(stack, flight.id)).availableSeats).toBe(freeBefore);
    expect(await bookingRows(stack, "user_id = 13 AND status <> 'CANCELLED'")).toEqual([]);
  });

  test('a taken seat is 409 seat-taken naming every taken seat it asked for; nothing is held', async () => {
    const flight = await createFlight(stack, 60);
    await book(stack, 14, {
      flightId: flight.id,
      passengers: [
        { name: 'A', seat: '7A' },
        { name: 'B', seat: '7B' },
      ],
    }).expect(201);
    const freeBefore = (await seatMap(stack, flight.id)).availableSeats;
    const res = await book(stack, 15, {
      flightId: flight.id,
      passengers: [
        { name: 'C', seat: '7B' },
        { name: 'D', seat: '7C' },
        { name: 'E', seat: '7A' },
      ],
    });
    expectProblem(res, 409);
    expect(res.body.type).toBe('urn:skyway:problem:seat-taken');
    expect([...(res.body.seats as string[])].sort()).toEqual(['7A', '7B']);
    expect((await seatMap(stack, flight.id)).availableSeats).toBe(freeBefore);
    expect(await takenSeats(stack, flight.id)).not.toContain('7C');
    expect(await bookingRows(stack, "user_id = 15 AND status <> 'CANCELLED'")).toEqual([]);
    await expectSeatsConsistent(stack, flight.id);
  });

  test('Idempotency-Key: the same passengers replay the first booking; other passengers are 422', async () => {
    const body = { flightId: flight.id, passengers: [{ name: 'Kim', seat: '15F' }] };
    const first = await book(stack, 16, body, 'seat-key').expect(201);
    const again = await book(stack, 16, body, 'seat-key').expect(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.text).toBe(first.text);
    const other = await book(
      stack,
      16,
      { flightId: flight.id, passengers: [{ name: 'Kim', seat: '15E' }] },
      'seat-key',
    );
    expectProblem(other, 422);
    expect((await bookingRows(stack, 'user_id = 16')).length).toBe(1);
  });
});

describe('record locators', () => {
  test('unique and random over many bookings, enforced by a unique index', async () => {
    const f = await createFlight(stack, 60);
    const made = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        book(stack, 300 + i, { flightId: f.id, noOfSeats: 1 }).expect(201),
      ),
    );
    const locators = made.map((r) => r.body.locator as string);
    for (const l of locators) expect(l).toMatch(LOCATOR);
    expect(new Set(locators).size).toBe(30);
    // Not derived from the id: consecutive ids do not give related locators.
    const byId = [...made].sort((a, b) => a.body.id - b.body.id).map((r) => r.body.locator as string);
    expect(new Set(byId.map((l) => l.slice(0, 3))).size).toBeGreaterThan(20);
    await expect(
      stack.bookingsDb.query('UPDATE bookings SET locator = ? WHERE id = ?', {
        replacements: [locators[0], made[1].body.id],
      }),
    ).rejects.toMatchObject({ name: 'SequelizeUniqueConstraintError' });
  });

  test("GET ?locator= lists the caller's booking (admins: anyone's), never someone else's; malformed is 400", async () => {
    const mine = await book(stack, 20, { flightId: flight.id, passengers: [{ name: 'Ana' }] }).expect(201);
    await book(stack, 20, { flightId: flight.id, noOfSeats: 1 }).expect(201);
    const { locator } = mine.body as { locator: string };
    const own = await stack.http().get(`/api/v1/bookings?locator=${locator}`).set(user(20)).expect(200);
    expect(own.body).toEqual({ data: [mine.body], page: 1, limit: 20, total: 1 });
    const other = await stack.http().get(`/api/v1/bookings?locator=${locator}`).set(user(21)).expect(200);
    expect(other.body).toEqual({ data: [], page: 1, limit: 20, total: 0 });
    const admin = await stack
      .http()
      .get(`/api/v1/bookings?locator=${locator}`)
      .set(user(1, 'admin'))
      .expect(200);
    expect(admin.body.data.map((b: { id: number }) => b.id)).toEqual([mine.body.id]);
    // A locator nobody has is an empty list, not an error.
    const unknown = locator === 'AAAAAA' ? 'BBBBBB' : 'AAAAAA';
    expect(
      (await stack.http().get(`/api/v1/bookings?locator=${unknown}`).set(user(20)).expect(200)).body.total,
    ).toBe(0);
    for (const bad of ['k7qp2m', 'K7QP2', 'K7QP2MX', 'K7QPOM', 'K7QP1M']) {
      const res = await stack.http().get(`/api/v1/bookings?locator=${bad}`).set(user(20));
      expectProblem(res, 400);
      expect(res.body.errors).toEqual([{ path: 'locator', message: expect.any(String) }]);
    }
  });
});

describe('PUT /api/v1/bookings/:id/seats', () => {
  // A flight of its own per test: auto-assigned seats elsewhere never sit where a test moves to.
  let flight: TestFlight;
  beforeEach(async () => {
    flight = await createFlight(stack, 120, 450000);
  });

  test('an INITIATED booking moves to free seats: the old ones are free, the new ones taken, no event', async () => {
    const b = await book(stack, 30, {
      flightId: flight.id,
      passengers: [
        { name: 'A', seat: '14A' },
        { name: 'B', seat: '14B' },
      ],
    }).expect(201);
    const res = await changeSeats(30, b.body.id, { seats: ['14C', '14D'] }).expect(200);
    expect(res.body.passengers).toEqual([
      { name: 'A', seat: '14C' },
      { name: 'B', seat: '14D' },
    ]);
    expect(res.body.status).toBe('INITIATED');
    const taken = await takenSeats(stack, flight.id);
    expect(taken).toEqual(expect.arrayContaining(['14C', '14D']));
    expect(taken).not.toContain('14A');
    expect(taken).not.toContain('14B');
    expect((await outboxRows(stack, b.body.id)).map((r) => r.type)).toEqual(['booking.created']);
    // Swapping the two passengers within the booking is a change too.
    const swapped = await changeSeats(30, b.body.id, { seats: ['14D', '14C'] }).expect(200);
    expect(swapped.body.passengers.map((p: { seat: string }) => p.seat)).toEqual(['14D', '14C']);
    await expectSeatsConsistent(stack, flight.id);
  });

  test('a BOOKED booking: 200 and booking.seats-changed with the new seats in the same commit', async () => {
    const b = await book(stack, 31, {
      flightId: flight.id,
      passengers: [{ name: 'Mei', seat: '16A' }],
    }).expect(201);
    await pay(stack, 31, { bookingId: b.body.id, amount: b.body.totalCost }, 'pay-seats').expect(201);
    const res = await changeSeats(31, b.body.id, { seats: ['16F'] }).expect(200);
    expect(res.body).toMatchObject({ status: 'BOOKED', passengers: [{ name: 'Mei', seat: '16F' }] });
    const events = await outboxRows(stack, b.body.id);
    expect(events.map((r) => r.type)).toEqual([
      'booking.created',
      'booking.confirmed',
      'booking.seats-changed',
    ]);
    const changed = bookingEventSchema.parse(JSON.parse(events[2].payload));
    expect(changed.data).toMatchObject({
      status: 'BOOKED',
      locator: b.body.locator,
      passengers: [{ name: 'Mei', seat: '16F' }],
    });
    await expectSeatsConsistent(stack, flight.id);
  });

  test('the seats it has already: 200 unchanged (no event, updatedAt kept)', async () => {
    const b = await book(stack, 32, {
      flightId: flight.id,
      passengers: [{ name: 'Ola', seat: '17A' }],
    }).expect(201);
    await pay(stack, 32, { bookingId: b.body.id, amount: b.body.totalCost }, 'pay-same').expect(201);
    const paid = await stack.http().get(`/api/v1/bookings/${b.body.id}`).set(user(32)).expect(200);
    const res = await changeSeats(32, b.body.id, { seats: ['17A'] }).expect(200);
    expect(res.body).toEqual(paid.body);
    expect((await outboxRows(stack, b.body.id)).map((r) => r.type)).toEqual([
      'booking.created',
      'booking.confirmed',
    ]);
  });

  test('refusals: 400 count or syntax, 404 someone else’s, 409 cancelled / departed / taken; nothing changes', async () => {
    const b = await book(stack, 33, {
      flightId: flight.id,
      passengers: [
        { name: 'A', seat: '18A' },
        { name: 'B', seat: '18B' },
      ],
    }).expect(201);
    await book(stack, 34, { flightId: flight.id, passengers: [{ name: 'C', seat: '18C' }] }).expect(201);
    const count = await changeSeats(33, b.body.id, { seats: ['18D'] });
    expectProblem(count, 400);
    expect(count.body.errors).toEqual([{ path: 'seats', message: expect.any(String) }]);
    const syntax = await changeSeats(33, b.body.id, { seats: ['18D', '18I'] });
    expectProblem(syntax, 400);
    expect(syntax.body.errors).toEqual([{ path: 'seats.1', message: expect.any(String) }]);
    const twice = await changeSeats(33, b.body.id, { seats: ['18D', '18D'] });
    expectProblem(twice, 400);
    const offMap = await changeSeats(33, b.body.id, { seats: ['18D', '30A'] });
    expectProblem(offMap, 400);
    expect(offMap.body.errors).toEqual([{ path: 'seats.1', message: expect.any(String) }]);
    expectProblem(await changeSeats(35, b.body.id, { seats: ['18D', '18E'] }), 404);
    expectProblem(await changeSeats(33, 999999, { seats: ['18D', '18E'] }), 404);
    const taken = await changeSeats(33, b.body.id, { seats: ['18C', '18D'] });
    expectProblem(taken, 409);
    expect(taken.body).toMatchObject({ type: 'urn:skyway:problem:seat-taken', seats: ['18C'] });
    const after = await stack.http().get(`/api/v1/bookings/${b.body.id}`).set(user(33)).expect(200);
    expect(after.body.passengers.map((p: { seat: string }) => p.seat)).toEqual(['18A', '18B']);
    expect(await takenSeats(stack, flight.id)).not.toContain('18D');

    // Departed (a BOOKED booking of a flight that left): 409 flight-departed.
    const d = await book(stack, 36, { flightId: flight.id, passengers: [{ name: 'D', seat: '19A' }] }).expect(
      201,
    );
    await pay(stack, 36, { bookingId: d.body.id, amount: d.body.totalCost }, 'pay-dep').expect(201);
    await stack.bookingsDb.query(
      'UPDATE bookings SET departure_time = NOW(3) - INTERVAL 1 HOUR WHERE id = ?',
      {
        replacements: [d.body.id],
      },
    );
    const departed = await changeSeats(36, d.body.id, { seats: ['19B'] });
    expectProblem(departed, 409);
    expect(departed.body.type).toBe('urn:skyway:problem:flight-departed');

    // Cancelled, and expired (not swept yet): 409.
    await stack.http().post(`/api/v1/bookings/${b.body.id}/cancel`).set(user(33)).expect(200);
    expectProblem(await changeSeats(33, b.body.id, { seats: ['18D', '18E'] }), 409);
    const e = await book(stack, 37, { flightId: flight.id, passengers: [{ name: 'E', seat: '19C' }] }).expect(
      201,
    );
    await stack.bookingsDb.query('UPDATE bookings SET expires_at = NOW(3) - INTERVAL 1 SECOND WHERE id = ?', {
      replacements: [e.body.id],
    });
    expectProblem(await changeSeats(37, e.body.id, { seats: ['19D'] }), 409);
    // An admin may change anyone's seats.
    const f = await book(stack, 38, { flightId: flight.id, passengers: [{ name: 'F', seat: '20A' }] }).expect(
      201,
    );
    await changeSeats(1, f.body.id, { seats: ['20B'] }, 'admin').expect(200);
    await expectSeatsConsistent(stack, flight.id);
  });

  test('two users moving into the same free seat at once: one 200, one 409 seat-taken; nothing doubled', async () => {
    const f = await createFlight(stack, 12);
    const a = await book(stack, 40, { flightId: f.id, passengers: [{ name: 'A', seat: '1A' }] }).expect(201);
    const b = await book(stack, 41, { flightId: f.id, passengers: [{ name: 'B', seat: '1B' }] }).expect(201);
    const [ra, rb] = await Promise.all([
      changeSeats(40, a.body.id, { seats: ['2C'] }),
      changeSeats(41, b.body.id, { seats: ['2C'] }),
    ]);
    expect([ra.status, rb.status].sort()).toEqual([200, 409]);
    const loser = ra.status === 409 ? ra : rb;
    expect(loser.body).toMatchObject({ type: 'urn:skyway:problem:seat-taken', seats: ['2C'] });
    const { bySeat } = await expectSeatsConsistent(stack, f.id);
    expect(bySeat.get('2C')).toBe(ra.status === 200 ? a.body.id : b.body.id);
  });

  test('two bookings swapping into each other’s seats at the same moment: nothing lost or doubled', async () => {
    const f = await createFlight(stack, 12);
    const a = await book(stack, 42, { flightId: f.id, passengers: [{ name: 'A', seat: '1A' }] }).expect(201);
    const b = await book(stack, 43, { flightId: f.id, passengers: [{ name: 'B', seat: '1B' }] }).expect(201);
    const results = await Promise.all([
      changeSeats(42, a.body.id, { seats: ['1B'] }),
      changeSeats(43, b.body.id, { seats: ['1A'] }),
    ]);
    // Each wants a seat the other holds at that moment: neither can have it, both are told which seat.
    for (const r of results) {
      expectProblem(r, 409);
      expect(r.body.type).toBe('urn:skyway:problem:seat-taken');
    }
    const { bySeat } = await expectSeatsConsistent(stack, f.id);
    expect(bySeat.get('1A')).toBe(a.body.id);
    expect(bySeat.get('1B')).toBe(b.body.id);
  });
});
