import { uniquePrefix } from '@skyway/common/testing';
import { adminToken, gw, stack, useStack } from './support/use-stack';

/**
 * HTTP caching end to end, through the gateway: flight-service caches in Redis with a long TTL here, so any
 * answer that is wrong because it came from a cache would show. Public reads carry Cache-Control and an
 * ETag and revalidate to 304; per-user answers are `private, no-store`; bookings are decided on the row.
 */
useStack(
  {},
  {
    serviceEnv: {
      'flight-service': {
        REDIS_URL: 'redis://127.0.0.1:6379',
        REDIS_KEY_PREFIX: `${uniquePrefix('e2ec')}:`,
        SEARCH_CACHE_TTL_MS: '60000',
      },
    },
  },
);

let admin: string;
let flight: { id: number; departureAirportCode: string; arrivalAirportCode: string };

async function customer(): Promise<string> {
  const email = `cache.${Date.now()}.${Math.random().toString(36).slice(2, 8)}@example.com`;
  const password = 'correct horse battery';
  expect((await gw('POST', '/api/v1/auth/signup', { body: { email, password, name: 'C' } })).status).toBe(
    201,
  );
  return (await gw('POST', '/api/v1/auth/signin', { body: { email, password } })).body.token;
}

beforeAll(async () => {
  admin = await adminToken();
  const plane = await gw('POST', '/api/v1/airplanes', {
    token: admin,
    body: { modelNumber: 'ATR72', capacity: 2 },
  });
  const departure = Date.now() + 10 * 86_400_000;
  const created = await gw('POST', '/api/v1/flights', {
    token: admin,
    body: {
      flightNumber: 'CACHE1',
      airplaneId: plane.body.id,
      departureAirportCode: 'DEL',
      arrivalAirportCode: 'BOM',
      departureTime: new Date(departure).toISOString(),
      arrivalTime: new Date(departure + 7_200_000).toISOString(),
      price: 99,
    },
  });
  expect(created.status).toBe(201);
  flight = created.body;
});

test('every public GET through the gateway: Cache-Control public, a strong ETag, 304 with no body on a match', async () => {
  const airports = await gw('GET', '/api/v1/airports');
  const paths = [
    '/api/v1/cities',
    `/api/v1/cities/${airports.body.data[0].cityId}`,
    '/api/v1/airports',
    `/api/v1/airports/${airports.body.data[0].id}`,
    '/api/v1/airplanes',
    `/api/v1/airplanes/${airports.body.data[0].id}`,
    '/api/v1/flights?trips=DEL-BOM&sort=price_ASC',
    `/api/v1/flights/${flight.id}`,
  ];
  for (const path of paths) {
    const res = await gw('GET', path);
    expect([path, res.status, res.headers.get('cache-control')]).toEqual([path, 200, 'public, max-age=60']);
    const etag = res.headers.get('etag');
    expect([path, etag]).toEqual([path, expect.stringMatching(/^"[^"]+"$/)]);
    const again = await gw('GET', path, { headers: { 'if-none-match': etag as string } });
    expect([path, again.status, again.body, again.headers.get('etag')]).toEqual([path, 304, undefined, etag]);
  }
});

test('per-user answers are private, no-store, with no validator; a changed booking is never served stale', async () => {
  const token = await customer();
  const booked = await gw('POST', '/api/v1/bookings', { token, body: { flightId: flight.id, noOfSeats: 1 } });
  expect(booked.status).toBe(201);
  const answers = [
    booked,
    await gw('GET', `/api/v1/bookings/${booked.body.id}`, { token }),
    await gw('GET', '/api/v1/bookings', { token }),
    await gw('GET', '/api/v1/auth/me', { token }),
    await gw('POST', '/api/v1/payments', {
      token,
      headers: { 'idempotency-key': `k-${Date.now()}` },
      body: { bookingId: booked.body.id, amount: 1 },
    }),
  ];
  for (const res of answers) {
    expect([res.headers.get('cache-control'), res.headers.get('etag')]).toEqual(['private, no-store', null]);
  }
  const cancelled = await gw('POST', `/api/v1/bookings/${booked.body.id}/cancel`, { token });
  expect(cancelled.status).toBe(200);
  const read = await gw('GET', `/api/v1/bookings/${booked.body.id}`, {
    token,
    headers: { 'if-none-match': '*' },
  });
  expect([read.status, read.body.status]).toEqual([200, 'CANCELLED']);
});

test('a cached search still says seats are left, the flight is sold out: booking → 409', async () => {
  const q = `/api/v1/flights?trips=DEL-BOM&price=99-99`;
  expect((await gw('GET', q)).body.data[0]).toMatchObject({
    id: flight.id,
    availableSeats: expect.any(Number),
  });
  const left = (await gw('GET', q)).body.data[0].availableSeats as number;
  expect(left).toBeGreaterThan(0);
  const token = await customer();
  expect(
    (await gw('POST', '/api/v1/bookings', { token, body: { flightId: flight.id, noOfSeats: left } })).status,
  ).toBe(201);
  // The search is still the cached one (60 s TTL) and says seats are left …
  expect((await gw('GET', q)).body.data[0].availableSeats).toBe(left);
  // … but the booking is decided by the seat hold.
  const refused = await gw('POST', '/api/v1/bookings', {
    token,
    body: { flightId: flight.id, noOfSeats: 1 },
  });
  expect(refused.status).toBe(409);
  const [row] = (await stack.db.query(
    `SELECT availableSeats FROM \`${stack.prefix}flights\`.flights WHERE id = ?`,
    [flight.id],
  )) as unknown as [Array<{ availableSeats: number }>];
  expect(row[0].availableSeats).toBe(0);
});
