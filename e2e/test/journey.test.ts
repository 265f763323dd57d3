import { GATEWAY_OPENAPI, OpenApiResponseValidator } from './support/openapi-validator';
import { eventually } from './support/stack';
import { adminToken, gw, onGatewayResponse, rows, stack, useStack } from './support/use-stack';

useStack({ BOOKING_TTL_SECONDS: '8' });

/** Every response of the journey, checked against the gateway's OpenAPI document (see the last test). */
const openapi = OpenApiResponseValidator.fromFile(GATEWAY_OPENAPI, { unmatchedPaths: 'not-found-problem' });

onGatewayResponse((method, path, res) =>
  // `call` hands back JSON parsed, anything else as the text it got.
  openapi.record({
    method,
    url: path,
    status: res.status,
    headers: res.headers,
    ...(typeof res.body === 'string' || res.body === undefined ? { body: res.body } : { json: res.body }),
  }),
);

async function newUser(tag: string): Promise<{ id: number; email: string; token: string }> {
  const email = `${tag}.${Date.now()}.${Math.random().toString(36).slice(2, 8)}@example.com`;
  const signup = await gw('POST', '/api/v1/auth/signup', {
    body: { email, password: 'correct horse battery', name: tag },
  });
  expect(signup.status).toBe(201);
  const signin = await gw('POST', '/api/v1/auth/signin', {
    body: { email, password: 'correct horse battery' },
  });
  expect(signin.status).toBe(200);
  return { id: signup.body.id, email, token: signin.body.token };
}

async function flightSeats(id: number): Promise<number> {
  return (await gw('GET', `/api/v1/flights/${id}`)).body.availableSeats;
}

describe('a customer’s journey through the gateway', () => {
  test('signup → search → book → pay → exactly one email → cancel → cancellation email, seats back', async () => {
    const user = await newUser('journey');
    const me = await gw('GET', '/api/v1/auth/me', { token: user.token });
    expect(me.body).toMatchObject({ id: user.id, email: user.email, role: 'customer' });

    const search = await gw('GET', '/api/v1/flights?trips=DEL-BOM&travellers=2&sort=price_ASC');
    expect(search.status).toBe(200);
    expect(search.body.data.length).toBeGreaterThan(0);
    const flight = search.body.data[0];
    const seatsBefore = flight.availableSeats;

    const booked = await gw('POST', '/api/v1/bookings', {
      token: user.token,
      body: { flightId: flight.id, noOfSeats: 2 },
    });
    expect(booked.status).toBe(201);
    expect(booked.body).toMatchObject({
      flightId: flight.id,
      userId: user.id,
      noOfSeats: 2,
      status: 'INITIATED',
    });
    expect(booked.body.totalCost).toBe(flight.price * 2);
    expect(await flightSeats(flight.id)).toBe(seatsBefore - 2);

    const payment = { bookingId: booked.body.id, amount: booked.body.totalCost };
    const key = `pay-${booked.body.id}`;
    const paid = await gw('POST', '/api/v1/payments', {
      token: user.token,
      body: payment,
      headers: { 'Idempotency-Key': key },
    });
    expect(paid.status).toBe(201);
    expect(paid.body).toMatchObject({
      bookingId: booked.body.id,
      amount: payment.amount,
      status: 'SUCCEEDED',
    });

    const again = await gw('POST', '/api/v1/payments', {
      token: user.token,
      body: payment,
      headers: { 'Idempotency-Key': key },
    });
    expect(again.status).toBe(201);
    expect(again.body).toEqual(paid.body);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    const payments = await rows<{ n: number }>(
      `SELECT COUNT(*) AS n FROM \`${stack.prefix}bookings\`.payments WHERE booking_id = ?`,
      [booked.body.id],
    );
    expect(Number(payments[0].n)).toBe(1);

    expect((await gw('GET', `/api/v1/bookings/${booked.body.id}`, { token: user.token })).body.status).toBe(
      'BOOKED',
    );
    const confirmation = await eventually(
      () => {
        const mails = stack.smtp.messages.filter((m) => m.to.includes(user.email));
        return mails.length > 0 && mails;
      },
      30_000,
      'confirmation email',
    );
    expect(confirmation).toHaveLength(1);
    expect(confirmation[0].text).toContain(String(booked.body.id));
    expect(confirmation[0].text).toContain(flight.flightNumber);
    expect(confirmation[0].text).toMatch(/DEL\s*(→|->|-)\s*BOM/);

    const cancelled = await gw('POST', `/api/v1/bookings/${booked.body.id}/cancel`, { token: user.token });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ status: 'CANCELLED', cancelReason: 'USER' });
    expect(await flightSeats(flight.id)).toBe(seatsBefore);
    await eventually(
      () => stack.smtp.messages.filter((m) => m.to.includes(user.email)).length === 2,
      30_000,
      'cancellation email',
    );
    // Still exactly one confirmation and one cancellation: redeliveries and replays sent nothing twice.
    await new Promise((r) => setTimeout(r, 1000));
    expect(stack.smtp.messages.filter((m) => m.to.includes(user.email))).toHaveLength(2);
    expect(stack.smtp.about(booked.body.id, 'confirmation')).toHaveLength(1);
    expect(stack.smtp.about(booked.body.id, 'cancellation')).toHaveLength(1);
  });

  test('an unpaid booking expires through the sweeper: seats come back once, no email', async () => {
    const user = await newUser('expiry');
    const flight = (await gw('GET', '/api/v1/flights?trips=BOM-DEL&travellers=3')).body.data[0];
    const before = await flightSeats(flight.id);
    const booked = await gw('POST', '/api/v1/bookings', {
      token: user.token,
      body: { flightId: flight.id, noOfSeats: 3 },
    });
    expect(booked.status).toBe(201);
    expect(await flightSeats(flight.id)).toBe(before - 3);
    const expired = await eventually(
      async () => {
        const b = await gw('GET', `/api/v1/bookings/${booked.body.id}`, { token: user.token });
        return b.body.status === 'CANCELLED' && b.body;
      },
      40_000,
      'expiry',
    );
    expect(expired.cancelReason).toBe('EXPIRED');
    // The sweeper expires at once and gives the seats back right after (in the background, so a hung
    // flight-service cannot delay expiries): the seats return, once.
    await eventually(async () => (await flightSeats(flight.id)) === before, 20_000, 'seats released');
    await new Promise((r) => setTimeout(r, 1500));
    expect(await flightSeats(flight.id)).toBe(before);
    const paid = await gw('POST', '/api/v1/payments', {
      token: user.token,
      body: { bookingId: booked.body.id, amount: booked.body.totalCost },
      headers: { 'Idempotency-Key': `late-${booked.body.id}` },
    });
    expect(paid.status).toBe(410);
    expect(stack.smtp.messages.filter((m) => m.to.includes(user.email))).toHaveLength(0);
  });

  test('100 users race for the last 10 seats: exactly 10 win, the tables agree', async () => {
    const admin = await adminToken();
    const template = (await gw('GET', '/api/v1/flights?trips=DEL-BLR')).body.data[0];
    const departure = new Date(Date.now() + 10 * 86_400_000);
    const created = await gw('POST', '/api/v1/flights', {
      token: admin,
      body: {
        flightNumber: 'RACE10',
        airplaneId: template.airplaneId,
        departureAirportCode: 'DEL',
        arrivalAirportCode: 'BLR',
        departureTime: departure.toISOString(),
        arrivalTime: new Date(departure.getTime() + 9_900_000).toISOString(),
        price: 420000,
        totalSeats: 10,
      },
    });
    expect(created.status).toBe(201);
    const users = await Promise.all(Array.from({ length: 100 }, (_, i) => newUser(`racer${i}`)));
    const results = await Promise.all(
      users.map((u) =>
        gw('POST', '/api/v1/bookings', { token: u.token, body: { flightId: created.body.id, noOfSeats: 1 } }),
      ),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(10);
    expect(statuses.filter((s) => s === 409)).toHaveLength(90);
    expect(await flightSeats(created.body.id)).toBe(0);
    const [held] = await rows<{ held: number }>(
      `SELECT COALESCE(SUM(seats), 0) AS held FROM \`${stack.prefix}flights\`.seat_reservations WHERE flightId = ? AND status = 'HELD'`,
      [created.body.id],
    );
    const [live] = await rows<{ n: number }>(
      `SELECT COALESCE(SUM(no_of_seats), 0) AS n FROM \`${stack.prefix}bookings\`.bookings WHERE flight_id = ? AND status = 'INITIATED'`,
      [created.body.id],
    );
    expect(Number(held.held)).toBe(10);
    expect(Number(live.n)).toBe(10);
  }, 120_000);

  test('a forged X-User-Id is ignored: the caller only ever sees their own bookings', async () => {
    const victim = await newUser('victim');
    const attacker = await newUser('attacker');
    const flight = (await gw('GET', '/api/v1/flights?trips=DEL-BOM&travellers=1')).body.data[0];
    const booking = await gw('POST', '/api/v1/bookings', {
      token: victim.token,
      body: { flightId: flight.id, noOfSeats: 1 },
    });
    expect(booking.status).toBe(201);
    const forged = { 'X-User-Id': String(victim.id), 'X-User-Role': 'admin', 'X-Internal-Token': 'guess' };
    expect(
      (await gw('GET', `/api/v1/bookings/${booking.body.id}`, { token: attacker.token, headers: forged }))
        .status,
    ).toBe(404);
    expect((await gw('GET', `/api/v1/bookings/${booking.body.id}`, { headers: forged })).status).toBe(401);
    const list = await gw('GET', '/api/v1/bookings', { token: attacker.token, headers: forged });
    expect(list.status).toBe(200);
    expect(list.body.data).toEqual([]);
    const cancel = await gw('POST', `/api/v1/bookings/${booking.body.id}/cancel`, {
      token: attacker.token,
      headers: forged,
    });
    expect(cancel.status).toBe(404);
    expect(
      (
        await gw('POST', '/api/v1/cities', {
          token: attacker.token,
          headers: forged,
          body: { name: 'Forged' },
        })
      ).status,
    ).toBe(403);
    expect(
      (await gw('GET', `/internal/v1/notifications?bookingId=${booking.body.id}`, { headers: forged }))
        .status,
    ).toBe(404);
  });
});

describe('the gateway’s OpenAPI document', () => {
  // Runs last (jest keeps a file's order): every response the tests above received, whatever they asserted.
  test('describes every response of the journey: path, method, status, headers, content type, body', () => {
    console.log(openapi.report());
    expect(openapi.checked).toBeGreaterThan(100);
    expect(openapi.problems()).toEqual([]);
  });
});
