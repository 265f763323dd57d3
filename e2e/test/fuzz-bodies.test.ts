import fc from 'fast-check';
import { ADMIN } from './support/stack';
import { SEED, STRINGS, fire, fx, params, useFuzzStack, type Auth } from './support/fuzz';

/** Hostile bodies against every endpoint that takes one (what is fuzzed and how: support/fuzz.ts). */
useFuzzStack();

// ---------------------------------------------------------------------------------------------------------
// Hostile values

const NUMBERS = [
  0,
  -0,
  -1,
  1,
  0.5,
  -0.5,
  1.0000001,
  10,
  11,
  1000,
  1001,
  2147483647,
  2147483648,
  -2147483648,
  4294967296,
  2 ** 53,
  2 ** 53 + 2,
  Number.MAX_SAFE_INTEGER,
  Number.MIN_SAFE_INTEGER,
  1e21,
  1e308,
  -1e308,
  5e-324,
];

const hostileScalar: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom<unknown>(...NUMBERS) },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.double() },
  { weight: 4, arbitrary: fc.constantFrom<unknown>(...STRINGS) },
  { weight: 1, arbitrary: fc.string({ maxLength: 30 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 40_000 }).map((n) => 'é'.repeat(n)) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(null, true, false) },
);

const trickyKey = fc.constantFrom(
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'valueOf',
  '$gt',
  '$where',
  '',
);

const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 8, arbitrary: hostileScalar },
  { weight: 1, arbitrary: fc.array(hostileScalar, { maxLength: 4 }) },
  { weight: 1, arbitrary: fc.dictionary(trickyKey, hostileScalar, { maxKeys: 3 }) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }) },
);

/** Bodies that are not JSON at all, or JSON no endpoint expects. */
const strangeText: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '',
    '{',
    '}',
    '{"a":',
    '{"a" 1}',
    "{'a':1}",
    '[1,2',
    'nul',
    '01',
    '{"a":1,}',
    '\u0000',
    '\ufeff{}',
    '{"a":"\\ud800"}',
    '{"a":"\\x41"}',
    '{"a":1}{"b":2}',
    'NaN',
    '-Infinity',
    '1e999',
    '"just a string"',
    '12',
    'null',
    'true',
    '[]',
    '[{}]',
    '{"__proto__":{"role":"admin","isAdmin":true},"constructor":{"prototype":{"polluted":true}}}',
    '{"constructor":{"name":"x"},"__proto__":null}',
  ),
  fc.string({ maxLength: 200 }),
  fc.string({ unit: 'binary', maxLength: 200 }),
  // Deep nesting, up to just under the body limit.
  fc.integer({ min: 500, max: 45_000 }).map((n) => '['.repeat(n) + ']'.repeat(n)),
  fc.integer({ min: 500, max: 16_000 }).map((n) => '{"a":'.repeat(n) + '1' + '}'.repeat(n)),
  // Over the limit: 413.
  fc.integer({ min: 100 * 1024 + 1, max: 250 * 1024 }).map((n) => JSON.stringify({ name: 'x'.repeat(n) })),
);

const contentType = fc.oneof(
  { weight: 8, arbitrary: fc.constant('application/json') },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      'application/json; charset=utf-8',
      'application/json; charset=utf-16',
      'application/json; charset=latin1',
      'application/json; charset=bogus',
      'application/json; charset="',
      'text/plain',
      'text/json',
      'application/x-www-form-urlencoded',
      'application/vnd.api+json',
      'multipart/form-data; boundary=x',
      'application/json, text/plain',
      '*/*',
      ';;;',
      '',
    ),
  },
  { weight: 1, arbitrary: fc.constant(undefined) },
);

/** A body for an endpoint: its own fields with valid or hostile values (plus mass-assignment extras), or junk. */
function bodyFor(fields: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<string> {
  const withHostile = Object.fromEntries(
    Object.entries(fields).map(([k, valid]) => [
      k,
      fc.oneof({ weight: 2, arbitrary: valid }, { weight: 3, arbitrary: hostileValue }),
    ]),
  );
  const extras = {
    id: hostileValue,
    role: fc.constantFrom('admin', 'customer'),
    userId: fc.constantFrom(1, 2, 999999),
    status: fc.constantFrom('BOOKED', 'CANCELLED'),
    availableSeats: fc.constantFrom(0, 100000),
  };
  const shaped = fc.record({ ...withHostile, ...extras }, { requiredKeys: [] }).map((o) => JSON.stringify(o));
  // Every field valid but one: reaches the checks behind validation (the database, cross-field rules).
  const oneBad = fc
    .tuple(fc.record(fields), fc.constantFrom(...Object.keys(fields)), hostileValue)
    .map(([o, k, v]) => JSON.stringify({ ...o, [k]: v }));
  return fc.oneof(
    { weight: 4, arbitrary: shaped },
    { weight: 3, arbitrary: fc.record(fields).map((o) => JSON.stringify(o)) },
    { weight: 3, arbitrary: oneBad },
    { weight: 2, arbitrary: strangeText },
    { weight: 1, arbitrary: hostileValue.map((v) => JSON.stringify(v) ?? 'null') },
  );
}

// ---------------------------------------------------------------------------------------------------------
// The endpoints

interface BodyEndpoint {
  name: string;
  method: string;
  path: () => string;
  auth: Auth;
  fields: () => Record<string, fc.Arbitrary<unknown>>;
  idempotencyKey?: boolean;
}

const iso = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();
/** Well-formed times at the edges of what a DATETIME column keeps. */
const edgeTime = fc.constantFrom(
  '0000-01-01T00:00:00Z',
  '0999-12-31T23:59:59Z',
  '1969-12-31T23:59:59.999Z',
  '1970-01-01T00:00:00Z',
  '9999-12-31T23:59:59.999Z',
  '9999-12-31T23:59:59-05:00',
  '9999-12-31T20:00:00+14:00',
  '2026-12-01T10:00:00.123456789Z',
);
const bodyEndpoints: BodyEndpoint[] = [
  {
    name: 'POST /api/v1/auth/signup',
    method: 'POST',
    path: () => '/api/v1/auth/signup',
    auth: 'none',
    fields: () => ({
      email: fc.emailAddress(),
      password: fc.string({ minLength: 8, maxLength: 30 }),
      name: fc.string({ maxLength: 100 }),
    }),
  },
  {
    name: 'POST /api/v1/auth/signin',
    method: 'POST',
    path: () => '/api/v1/auth/signin',
    auth: 'none',
    fields: () => ({ email: fc.constant(ADMIN.email), password: fc.string({ maxLength: 20 }) }),
  },
  {
    name: 'PATCH /api/v1/auth/users/:id/role',
    method: 'PATCH',
    path: () => `/api/v1/auth/users/${fx.userId}/role`,
    auth: 'admin',
    fields: () => ({ role: fc.constant('customer') }),
  },
  ...(['cities', 'airports', 'airplanes'] as const).flatMap((noun): BodyEndpoint[] => {
    const fields = () =>
      ({
        cities: { name: fc.string({ minLength: 1, maxLength: 100 }) },
        airports: {
          code: fc.stringMatching(/^[A-Z]{3}$/),
          name: fc.string({ minLength: 1, maxLength: 50 }),
          address: fc.option(fc.string({ maxLength: 50 })),
          cityId: fc.constant(fx.cityId),
        },
        airplanes: {
          modelNumber: fc.string({ minLength: 1, maxLength: 20 }),
          capacity: fc.integer({ min: 1, max: 1000 }),
        },
      })[noun] as Record<string, fc.Arbitrary<unknown>>;
    const id = () => ({ cities: fx.cityId, airports: fx.airportId, airplanes: fx.airplaneId })[noun];
    return [
      { name: `POST /api/v1/${noun}`, method: 'POST', path: () => `/api/v1/${noun}`, auth: 'admin', fields },
      {
        name: `PATCH /api/v1/${noun}/:id`,
        method: 'PATCH',
        path: () => `/api/v1/${noun}/${id()}`,
        auth: 'admin',
        fields,
      },
    ];
  }),
  ...(['POST', 'PATCH'] as const).map((method): BodyEndpoint => ({
    name: `${method} /api/v1/flights${method === 'PATCH' ? '/:id' : ''}`,
    method,
    path: () => (method === 'POST' ? '/api/v1/flights' : `/api/v1/flights/${fx.flightId}`),
    auth: 'admin',
    fields: () => ({
      flightNumber: fc.stringMatching(/^[A-Z0-9]{2,10}$/),
      airplaneId: fc.constant(fx.airplaneId),
      departureAirportCode: fc.constantFrom('FZQ', 'FZR', 'DEL'),
      arrivalAirportCode: fc.constantFrom('FZQ', 'FZR', 'BOM'),
      departureTime: fc.oneof(fc.integer({ min: -400, max: 400 }).map(iso), edgeTime),
      arrivalTime: fc.oneof(fc.integer({ min: -400, max: 400 }).map(iso), edgeTime),
      price: fc.integer({ min: 0, max: 10_000_000 }),
      boardingGate: fc.option(fc.string({ maxLength: 10 })),
      totalSeats: fc.integer({ min: 1, max: 250 }),
    }),
  })),
  {
    name: 'POST /api/v1/bookings',
    method: 'POST',
    path: () => '/api/v1/bookings',
    auth: 'customer',
    idempotencyKey: true,
    fields: () => ({
      flightId: fc.constantFrom(fx.flightId, fx.demoFlightId),
      noOfSeats: fc.integer({ min: 1, max: 10 }),
    }),
  },
  {
    name: 'POST /api/v1/payments',
    method: 'POST',
    path: () => '/api/v1/payments',
    auth: 'customer',
    idempotencyKey: true,
    fields: () => ({ bookingId: fc.constant(fx.bookingId), amount: fc.constant(fx.bookingCost) }),
  },
];

let keySerial = 0;

describe('hostile bodies never get a 5xx and every refusal is a problem', () => {
  test.each(bodyEndpoints.map((e) => [e.name, e] as const))('%s', async (_name, endpoint) => {
    await fc.assert(
      fc.asyncProperty(bodyFor(endpoint.fields()), contentType, async (body, type) => {
        const headers: Array<[string, string]> = endpoint.idempotencyKey
          ? [['Idempotency-Key', `fuzz-${SEED}-${keySerial++}`]]
          : [];
        await fire({
          method: endpoint.method,
          target: endpoint.path(),
          auth: endpoint.auth,
          headers,
          body,
          contentType: type,
        });
      }),
      params(45),
    );
  });
});
