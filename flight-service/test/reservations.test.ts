import type { Sequelize } from 'sequelize';
import { createSequelize } from '@skyway/common';
import { testDbServer } from '@skyway/common/testing';
import { holdGuard } from '../src/domain/holds';
import { reservationsStore } from '../src/db/reservations-store';
import {
  ADMIN,
  createFlight,
  expectSeatInvariants,
  INTERNAL,
  seatLedger,
  startHarness,
  type FlightServiceHarness,
} from './support';

let h: FlightServiceHarness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.stop();
});

const reserve = (flightId: number, bookingId: number, seats = 1) =>
  h.http.put(`/internal/v1/flights/${flightId}/reservations/${bookingId}`).set(INTERNAL).send({ seats });
const release = (flightId: number, bookingId: number) =>
  h.http.delete(`/internal/v1/flights/${flightId}/reservations/${bookingId}`).set(INTERNAL);

const countBy = (statuses: number[]) =>
  statuses.reduce<Record<number, number>>((acc, s) => ({ ...acc, [s]: (acc[s] ?? 0) + 1 }), {});

describe('seat reservations under concurrency (checked in the tables)', () => {
  test('when 100 clients race for a 10-seat flight, exactly 10 get a seat and none is oversold', async () => {
    const flight = await createFlight(h, { totalSeats: 10 });
    const responses = await Promise.all(Array.from({ length: 100 }, (_, i) => reserve(flight.id, 1000 + i)));
    const statuses = countBy(responses.map((r) => r.status));
    expect(statuses).toEqual({ 201: 10, 409: 90 });
    const refused = responses.find((r) => r.status === 409);
    expect(refused?.body.type).toBe('urn:skyway:problem:not-enough-seats');
    expect(refused?.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(await seatLedger(h.db, flight.id)).toEqual({ available: 0, total: 10, held: 10 });
  });

  test('when the same booking is reserved 20 times at once, seats are decremented once', async () => {
    const flight = await createFlight(h, { totalSeats: 50 });
    const responses = await Promise.all(Array.from({ length: 20 }, () => reserve(flight.id, 555, 3)));
    expect(countBy(responses.map((r) => r.status))).toEqual({ 201: 1, 200: 19 });
    const held = {
      flightNumber: flight.flightNumber,
      departureAirportCode: flight.departureAirportCode,
      arrivalAirportCode: flight.arrivalAirportCode,
      departureTime: flight.departureTime,
      price: flight.price,
    };
    const { seatNumbers } = responses[0].body as { seatNumbers: string[] };
    expect(new Set(seatNumbers).size).toBe(3);
    for (const r of responses)
      expect(r.body).toEqual({
        bookingId: 555,
        flightId: flight.id,
        seats: 3,
        status: 'HELD',
        seatNumbers,
        flight: held,
      });
    expect(await seatLedger(h.db, flight.id)).toEqual({ available: 47, total: 50, held: 3 });
  });

  test('a hold answers with the price the flight has at that moment, not an earlier one', async () => {
    const flight = await createFlight(h, { totalSeats: 50 });
    await h.db.query('UPDATE flights SET price = price + 1234 WHERE id = ?', { replacements: [flight.id] });
    const r = await reserve(flight.id, 98_765, 2).expect(201);
    expect(r.body.flight.price).toBe((flight.price as number) + 1234);
    expect(r.body.flight.flightNumber).toBe(flight.flightNumber);
  });

  test('when the same booking is released 20 times at once, its seats come back once', async () => {
    const flight = await createFlight(h, { totalSeats: 50 });
    await reserve(flight.id, 777, 4).expect(201);
    const responses = await Promise.all(Array.from({ length: 20 }, () => release(flight.id, 777)));
    expect(responses.every((r) => r.status === 200 && r.body.status === 'RELEASED')).toBe(true);
    expect(await seatLedger(h.db, flight.id)).toEqual({ available: 50, total: 50, held: 0 });
  });

  test('a storm of 500 mixed reserve/release calls on 3 flights keeps available + held = total', async () => {
    const flights = await Promise.all([20, 30, 40].map((totalSeats) => createFlight(h, { totalSeats })));
    // 120 bookings, each tied to one flight; every third call releases a booking that may or may not hold seats yet.
    const calls = Array.from({ length: 500 }, (_, i) => {
      const bookingId = 10_000 + (i % 120);
      const flightId = flights[bookingId % 3].id;
      return i % 3 === 2 ? release(flightId, bookingId) : reserve(flightId, bookingId, 1 + (bookingId % 3));
    });
    const statuses = countBy((await Promise.all(calls)).map((r) => r.status));
    expect(Object.keys(statuses).every((s) => ['200', '201', '204', '409'].includes(s))).toBe(true);
    expect(statuses[201]).toBeGreaterThan(0);
    expect(statuses[409]).toBeGreaterThan(0);
    for (const flight of flights) {
      const ledger = await seatLedger(h.db, flight.id);
      expect(ledger.available).toBeGreaterThanOrEqual(0);
      expect(ledger.available + ledger.held).toBe(ledger.total);
    }
  });
});

describe('seat reservation rules', () => {
  test('a release that comes before the reserve leaves a tombstone: the late reserve is refused', async () => {
    const flight = await createFlight(h, { totalSeats: 5 });
    await release(flight.id, 4242).expect(204);
    const late = await reserve(flight.id, 4242).expect(409);
    expect(late.body.type).toBe('urn:skyway:problem:reservation-released');
    expect(await seatLedger(h.db, flight.id)).toEqual({ available: 5, total: 5, held: 0 });
  });

  test('a booking cannot be re-reserved after release, nor with another seat count', async () => {
    const flight = await createFlight(h, { totalSeats: 5 });
    await reserve(flight.id, 99, 2).expect(201);
    expect((await reserve(flight.id, 99, 3).expect(409)).body.type).toBe(
      'urn:skyway:problem:reservation-mismatch',
    );
    await release(flight.id, 99).expect(200);
    await reserve(flight.id, 99, 2).expect(409);
    expect(await seatLedger(h.db, flight.id)).toEqual({ available: 5, total: 5, held: 0 });
  });

  test('a departed flight cannot be reserved', async () => {
    const past = new Date(Date.now() - 86_400_000);
    const flight = await createFlight(h, {
      departureTime: past.toISOString(),
      arrivalTime: new Date(past.getTime() + 3_600_000).toISOString(),
    });
    const res = await reserve(flight.id, 31337).expect(409);
    expect(res.body.type).toBe('urn:skyway:problem:flight-departed');
  });

  test('an unknown flight is 404; a release on an unknown flight is a no-op', async () => {
    await reserve(987654, 1).expect(404);
    await release(987654, 1).expect(204);
  });

  test('bad reservation input is a 400 naming the field', async () => {
    const flight = await createFlight(h);
    for (const seats of [0, -1, 1.5, '2', 1e300, null]) {
      const res = await reserve(flight.id, 5, seats as number).expect(400);
      expect(res.body.errors[0].path).toBe('seats');
    }
    const badId = await h.http
      .put(`/internal/v1/flights/${flight.id}/reservations/abc`)
      .set(INTERNAL)
      .send({ seats: 1 });
    expect(badId.status).toBe(400);
    expect(badId.body.errors[0].path).toBe('bookingId');
  });
});

/** The flight row as a hold decides on it. */
async function readBack(store: ReturnType<typeof reservationsStore>, flightId: number) {
  const seating = await store.seating(flightId, 'none');
  if (!seating) throw new Error(`flight ${flightId} not found`);
  return seating.flight;
}

describe('the one-round-trip hold (its guard checked by the database)', () => {
  // The store as the service builds it: several statements per round trip.
  let db: Sequelize;
  beforeAll(() => {
    db = createSequelize(testDbServer(), h.db.config.database, { poolMax: 2, multipleStatements: true });
  });
  afterAll(() => db.close());

  test('a hold on a flight that is gone leaves no reservation or seat rows behind', async () => {
    const store = reservationsStore(db);
    const request = { flightId: 987_654, bookingId: 9_000_001, seats: 2 };
    const gone = { ...(await readBack(store, (await createFlight(h, { totalSeats: 60 })).id)) };
    const got = await store.hold(request, ['1A', '1B'], holdGuard(gone, 2));
    expect(got).toEqual({ kind: 'refused', refusal: { code: 'not-found', noun: 'Flight', id: 987_654 } });
    const [left] = (await h.db.query(
      'SELECT (SELECT COUNT(*) FROM seat_reservations WHERE bookingId = 9000001) + (SELECT COUNT(*) FROM flight_seats WHERE bookingId = 9000001) AS n',
    )) as [Array<{ n: number | string }>, unknown];
    expect(Number(left[0].n)).toBe(0);
  });

  test('a guard that fails (the map the seats were chosen on changed) rolls the hold back whole', async () => {
    const flight = await createFlight(h, { totalSeats: 12 });
    const store = reservationsStore(db);
    const request = { flightId: flight.id, bookingId: 9_000_002, seats: 1 };
    const asRead = await readBack(store, flight.id);
    const got = await store.hold(request, ['2F'], holdGuard({ ...asRead, totalSeats: 18 }, 1));
    expect(got).toEqual({ kind: 'guard-failed' });
    expect(await seatLedger(h.db, flight.id)).toEqual({ available: 12, total: 12, held: 0 });
    const s = await expectSeatInvariants(h, flight.id);
    expect(s.seatRows).toEqual([]);
  });

  test("the database's guard matches the domain's: any field decided on that differs, or too few seats, and nothing is written", async () => {
    // The same changes holds.unit.test.ts runs through holdGuardPasses, here through the guarded UPDATE itself.
    const flight = await createFlight(h, { totalSeats: 12 });
    const store = reservationsStore(db);
    const asRead = await readBack(store, flight.id);
    const changes: Array<[string, Partial<typeof asRead>, number]> = [
      ['departureTime', { departureTime: new Date(asRead.departureTime.getTime() - 1000) }, 1],
      ['totalSeats', { totalSeats: 18 }, 1],
      ['seatsPerRow', { seatsPerRow: 3 }, 1],
      ['price', { price: asRead.price + 1 }, 1],
      ['flightNumber', { flightNumber: 'ZZ999' }, 1],
      ['departureAirportCode', { departureAirportCode: 'ZZZ' }, 1],
      ['arrivalAirportCode', { arrivalAirportCode: 'ZZZ' }, 1],
      // availableSeats is 12 as read; asking for more than are left fails at the commit.
      ['too few seats', {}, 13],
    ];
    let bookingId = 9_000_100;
    for (const [what, change, seats] of changes) {
      const request = { flightId: flight.id, bookingId: bookingId++, seats };
      const seatNumbers = Array.from(
        { length: seats },
        (_, i) => `${Math.floor(i / 6) + 1}${'ABCDEF'[i % 6]}`,
      );
      const got = await store.hold(request, seatNumbers, holdGuard({ ...asRead, ...change }, seats));
      expect([what, got]).toEqual([what, { kind: 'guard-failed' }]);
    }
    expect(await seatLedger(h.db, flight.id)).toEqual({ available: 12, total: 12, held: 0 });
    expect((await expectSeatInvariants(h, flight.id)).seatRows).toEqual([]);
    // The row as read, with enough seats: held.
    const request = { flightId: flight.id, bookingId: bookingId++, seats: 2 };
    expect(await store.hold(request, ['1A', '1B'], holdGuard(asRead, 2))).toEqual({ kind: 'held' });
    expect(await seatLedger(h.db, flight.id)).toEqual({ available: 10, total: 12, held: 2 });
  });

  test('40 holds racing the flight growing and shrinking: every hold is seated on the map it ends up on, counts exact', async () => {
    const flight = await createFlight(h, { totalSeats: 60 }, 240);
    const holds = Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        h.http
          .put(`/internal/v1/flights/${flight.id}/reservations/${9_100_000 + i}`)
          .set(INTERNAL)
          .send({ seats: 1 + (i % 2) }),
      ),
    );
    // One size change after another while the holds run (a shrink below a taken seat is refused: 409).
    const patched: number[] = [];
    for (let i = 0; i < 10; i++) {
      const r = await h.http
        .patch(`/api/v1/flights/${flight.id}`)
        .set(ADMIN)
        .send({ totalSeats: 200 + (i % 2) * 40 });
      patched.push(r.status);
    }
    const held = await holds;
    expect(patched.filter((s) => s !== 200 && s !== 409)).toEqual([]);
    const statuses = countBy(held.map((r) => r.status));
    expect(statuses[201]).toBeGreaterThan(0);
    expect(Object.keys(statuses).filter((k) => k !== '201' && k !== '409')).toEqual([]);
    const s = await expectSeatInvariants(h, flight.id);
    const ledger = await seatLedger(h.db, flight.id);
    expect(ledger.available + ledger.held).toBe(ledger.total);
    expect(s.seatRows.length).toBe(ledger.held);
  });
});
