import { bookingEventSchema } from '@skyway/common';
import { FlightCache } from '../src/clients/flight-cache';
import type { FlightSummary } from '../src/clients/flight-client';
import {
  book,
  bookingRows,
  createFlight,
  expectProblem,
  outboxRows,
  seatLedger,
  startStack,
  user,
  type Stack,
} from './support';

const summary = (id: number, availableSeats = 10): FlightSummary => ({
  id,
  flightNumber: `SK${id}`,
  departureAirportCode: 'DEL',
  arrivalAirportCode: 'BOM',
  departureTime: new Date('2030-01-01T10:00:00Z'),
  price: 1000,
  availableSeats,
});

describe('FlightCache', () => {
  const fakeClient = () => {
    const calls: number[] = [];
    let seats = 10;
    const client = {
      calls,
      setSeats: (n: number) => (seats = n),
      getFlight: async (id: number) => {
        calls.push(id);
        await new Promise((r) => setTimeout(r, 5));
        return id === 404 ? undefined : summary(id, seats);
      },
    };
    return client;
  };

  test('reuses a flight within the TTL, looks again after it, and shares one call between concurrent misses', async () => {
    let now = 1_000;
    const client = fakeClient();
    const cache = new FlightCache(client, 2000, 100, () => now);
    const first = await Promise.all(Array.from({ length: 20 }, () => cache.get(7)));
    expect(client.calls).toEqual([7]);
    expect(first.every((l) => l.flight?.id === 7)).toBe(true);
    client.setSeats(3);
    now += 1999;
    expect(await cache.get(7)).toEqual({ flight: summary(7, 10), cached: true });
    now += 1;
    expect(await cache.get(7)).toEqual({ flight: summary(7, 3), cached: false });
    expect(client.calls).toEqual([7, 7]);
  });

  test('fresh always calls flight-service, an unknown flight is never remembered, and the size is bounded', async () => {
    const client = fakeClient();
    const cache = new FlightCache(client, 60_000, 2);
    await cache.get(1);
    expect((await cache.get(1, { fresh: true })).cached).toBe(false);
    expect(await cache.get(404)).toEqual({ flight: undefined, cached: false });
    expect(await cache.get(404)).toEqual({ flight: undefined, cached: false });
    await cache.get(2);
    await cache.get(3); // evicts 1, the oldest
    expect((await cache.get(3)).cached).toBe(true);
    expect((await cache.get(1)).cached).toBe(false);
    expect(client.calls).toEqual([1, 1, 404, 404, 2, 3, 1]);
  });

  test('a TTL of 0 turns the cache off', async () => {
    const client = fakeClient();
    const cache = new FlightCache(client, 0);
    await cache.get(5);
    await cache.get(5);
    expect(client.calls).toEqual([5, 5]);
  });
});

describe('bookings with a warm flight cache (TTL 60 s)', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ bookingEnv: { FLIGHT_CACHE_TTL_MS: '60000' } });
  });
  afterAll(async () => {
    await stack.stop();
  });
  const bookOn = (userId: number, flightId: number, noOfSeats: number) =>
    book(stack, userId, { flightId, noOfSeats });

  test('a price changed after the flight was cached is what the booking charges (the price the seats were held at)', async () => {
    const flight = await createFlight(stack, 20, 450000);
    await bookOn(11, flight.id, 1).expect(201); // caches the flight at 450000
    await stack.flightsDb.query('UPDATE flights SET price = 470000 WHERE id = ?', {
      replacements: [flight.id],
    });
    const res = await bookOn(11, flight.id, 2).expect(201);
    expect(res.body.totalCost).toBe(940000);
    const [row] = await bookingRows(stack, 'id = ?', [res.body.id]);
    expect(Number(row.total_cost)).toBe(940000);
    const [created] = await outboxRows(stack, res.body.id);
    expect(bookingEventSchema.parse(JSON.parse(created.payload)).data.totalCost).toBe(940000);
  });

  test('a seat given back is bookable at once although the cache last saw the flight full', async () => {
    const flight = await createFlight(stack, 1, 1000);
    const first = await bookOn(12, flight.id, 1).expect(201);
    // Asking for more than the cached count makes the service look again: it sees the flight full (0 left).
    expectProblem(await bookOn(13, flight.id, 2), 409);
    await stack.http().post(`/api/v1/bookings/${first.body.id}/cancel`).set(user(12)).expect(200);
    const again = await bookOn(13, flight.id, 1).expect(201);
    expect(again.body.status).toBe('INITIATED');
    expect(await seatLedger(stack, flight.id)).toEqual({ available: 0, total: 1, held: 1 });
  });
});
