import { GATEWAY_OPENAPI, OpenApiResponseValidator } from './support/openapi-validator';
import { eventually } from './support/stack';
import { adminToken, gw, onGatewayResponse, stack, useStack } from './support/use-stack';

useStack();

/** Every response below, checked against the gateway's OpenAPI document (see the last test). */
const openapi = OpenApiResponseValidator.fromFile(GATEWAY_OPENAPI, { unmatchedPaths: 'not-found-problem' });
onGatewayResponse((method, path, res) =>
  openapi.record({
    method,
    url: path,
    status: res.status,
    headers: res.headers,
    ...(typeof res.body === 'string' || res.body === undefined ? { body: res.body } : { json: res.body }),
  }),
);

const LOCATOR = /^[ABCDEFGHJKLMNPQRSTUVWXYZ23456789]{6}$/;

async function newUser(tag: string): Promise<{ id: number; email: string; token: string }> {
  const email = `${tag}.${Date.now()}.${Math.random().toString(36).slice(2, 8)}@example.com`;
  const signup = await gw('POST', '/api/v1/auth/signup', {
    body: { email, password: 'correct horse battery' },
  });
  expect(signup.status).toBe(201);
  const signin = await gw('POST', '/api/v1/auth/signin', {
    body: { email, password: 'correct horse battery' },
  });
  return { id: signup.body.id, email, token: signin.body.token };
}

const expectProblem = (
  res: { status: number; headers: Headers; body: Record<string, unknown> },
  status: number,
) => {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ status, type: expect.any(String), detail: expect.any(String) });
};

let flightId: number;
const seatMap = async () => {
  const res = await gw('GET', `/api/v1/flights/${flightId}/seats`);
  expect(res.status).toBe(200);
  return res.body as { availableSeats: number; seats: Array<{ seat: string; status: string }> };
};
const statusOf = async (seat: string) => (await seatMap()).seats.find((s) => s.seat === seat)?.status;

describe('seats, passengers and record locators through the gateway', () => {
  beforeAll(async () => {
    const admin = await adminToken();
    const plane = await gw('POST', '/api/v1/airplanes', {
      token: admin,
      body: { modelNumber: 'A320-seats', capacity: 180, seatsPerRow: 6 },
    });
    expect(plane.status).toBe(201);
    const departure = new Date(Date.now() + 9 * 86_400_000);
    const created = await gw('POST', '/api/v1/flights', {
      token: admin,
      body: {
        flightNumber: 'SEAT12',
        airplaneId: plane.body.id,
        departureAirportCode: 'DEL',
        arrivalAirportCode: 'BOM',
        departureTime: departure.toISOString(),
        arrivalTime: new Date(departure.getTime() + 7_200_000).toISOString(),
        price: 450000,
        totalSeats: 120,
      },
    });
    expect(created.status).toBe(201);
    flightId = created.body.id;
  });

  test('the seat map: public, every seat in map order, availableSeats counts the free ones; unknown flight 404', async () => {
    const map = await seatMap();
    expect(map).toMatchObject({ flightId, seatsPerRow: 6, rows: 20, availableSeats: 120 });
    expect(map.seats.slice(0, 7).map((s) => s.seat)).toEqual(['1A', '1B', '1C', '1D', '1E', '1F', '2A']);
    expect(map.seats.every((s) => s.status === 'available')).toBe(true);
    expectProblem(await gw('GET', '/api/v1/flights/99999999/seats'), 404);
  });

  test('choose seat 12A, find the booking by its locator, change seats (then paid: one seats-changed email)', async () => {
    const asha = await newUser('asha');
    const booked = await gw('POST', '/api/v1/bookings', {
      token: asha.token,
      body: { flightId, passengers: [{ name: 'Asha Rao', seat: '12A' }, { name: 'Ravi Rao' }] },
    });
    expect(booked.status).toBe(201);
    expect(booked.body).toMatchObject({
      noOfSeats: 2,
      status: 'INITIATED',
      locator: expect.stringMatching(LOCATOR),
    });
    expect(booked.body.passengers[0]).toEqual({ name: 'Asha Rao', seat: '12A' });
    expect(booked.body.passengers[1]).toEqual({ name: 'Ravi Rao', seat: expect.any(String) });
    expect(await statusOf('12A')).toBe('taken');

    // The record locator finds it for its owner only.
    const { locator } = booked.body as { locator: string };
    const found = await gw('GET', `/api/v1/bookings?locator=${locator}`, { token: asha.token });
    expect(found.status).toBe(200);
    expect(found.body).toEqual({ data: [booked.body], page: 1, limit: 20, total: 1 });
    const other = await newUser('other');
    const notTheirs = await gw('GET', `/api/v1/bookings?locator=${locator}`, { token: other.token });
    expect(notTheirs.body).toEqual({ data: [], page: 1, limit: 20, total: 0 });
    expectProblem(await gw('GET', '/api/v1/bookings?locator=k7qp2m', { token: asha.token }), 400);
    expectProblem(await gw('GET', `/api/v1/bookings?locator=${locator}`), 401);

    // Someone else wanting 12A: 409 seat-taken naming it; a seat off the map: 400.
    const taken = await gw('POST', '/api/v1/bookings', {
      token: other.token,
      body: { flightId, passengers: [{ name: 'Li Wei', seat: '12A' }] },
    });
    expectProblem(taken, 409);
    expect(taken.body).toMatchObject({ type: 'urn:skyway:problem:seat-taken', seats: ['12A'] });
    const offMap = await gw('POST', '/api/v1/bookings', {
      token: other.token,
      body: { flightId, passengers: [{ name: 'Li Wei', seat: '21A' }] },
    });
    expectProblem(offMap, 400);
    expect(offMap.body.errors).toEqual([{ path: 'passengers.0.seat', message: expect.any(String) }]);
    const disagree = await gw('POST', '/api/v1/bookings', {
      token: other.token,
      body: { flightId, noOfSeats: 2, passengers: [{ name: 'Li Wei' }] },
    });
    expectProblem(disagree, 400);
    expect(disagree.body.errors).toEqual([{ path: 'noOfSeats', message: expect.any(String) }]);

    // A seat change: 14C and 14D taken, 12A free again at once.
    const path = `/api/v1/bookings/${booked.body.id}/seats`;
    const changed = await gw('PUT', path, { token: asha.token, body: { seats: ['14C', '14D'] } });
    expect(changed.status).toBe(200);
    expect(changed.body.passengers).toEqual([
      { name: 'Asha Rao', seat: '14C' },
      { name: 'Ravi Rao', seat: '14D' },
    ]);
    expect(await statusOf('12A')).toBe('available');
    expect(await statusOf('14C')).toBe('taken');
    const same = await gw('PUT', path, { token: asha.token, body: { seats: ['14C', '14D'] } });
    expect(same.status).toBe(200);
    expect(same.body).toEqual(changed.body);
    expectProblem(await gw('PUT', path, { token: asha.token, body: { seats: ['14C'] } }), 400);
    expectProblem(await gw('PUT', path, { token: other.token, body: { seats: ['15A', '15B'] } }), 404);
    expectProblem(await gw('PUT', path, { body: { seats: ['15A', '15B'] } }), 401);
    const blocker = await gw('POST', '/api/v1/bookings', {
      token: other.token,
      body: { flightId, passengers: [{ name: 'Li Wei', seat: '15B' }] },
    });
    expect(blocker.status).toBe(201);
    const clash = await gw('PUT', path, { token: asha.token, body: { seats: ['15A', '15B'] } });
    expectProblem(clash, 409);
    expect(clash.body).toMatchObject({ type: 'urn:skyway:problem:seat-taken', seats: ['15B'] });

    // Paid, then moved: one email naming the new seats.
    const paid = await gw('POST', '/api/v1/payments', {
      token: asha.token,
      body: { bookingId: booked.body.id, amount: booked.body.totalCost },
      headers: { 'Idempotency-Key': `seats-${booked.body.id}` },
    });
    expect(paid.status).toBe(201);
    const confirmation = await eventually(
      () => stack.smtp.about(booked.body.id, 'confirmation')[0],
      30_000,
      'confirmation',
    );
    expect(confirmation.text).toContain(`Locator:   ${locator}`);
    expect(confirmation.text).toContain('1. Asha Rao, seat 14C');
    const moved = await gw('PUT', path, { token: asha.token, body: { seats: ['3A', '3B'] } });
    expect(moved.status).toBe(200);
    const [email] = await eventually(
      () =>
        stack.smtp.about(booked.body.id, 'seats-changed').length === 1 &&
        stack.smtp.about(booked.body.id, 'seats-changed'),
      30_000,
      'seats-changed email',
    );
    expect(email.to).toEqual([asha.email]);
    expect(email.subject).toContain('new seats 3A, 3B');
    expect(email.text).toContain('1. Asha Rao, seat 3A\n  2. Ravi Rao, seat 3B');
    await new Promise((r) => setTimeout(r, 1000));
    expect(stack.smtp.about(booked.body.id, 'seats-changed')).toHaveLength(1);
  }, 60_000);
});

describe('the gateway’s OpenAPI document', () => {
  test('describes every response above: path, method, status, headers, content type, body', () => {
    console.log(openapi.report());
    expect(openapi.checked).toBeGreaterThan(20);
    expect(openapi.problems()).toEqual([]);
  });
});
