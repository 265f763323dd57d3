import { createHmac, generateKeyPairSync, sign as rsaSign } from 'node:crypto';
import { DEV_INTERNAL_TOKEN } from '@skyway/common';
import { ADMIN, INTERNAL_TOKEN, JWT_SECRET, call, eventually } from './support/stack';
import { contractViolation, rawRequest } from './support/raw-http';
import { adminToken, db, gw, rows, secrets, stack } from './support/use-stack';
import { aFlight, expectProblem, newUser, useSecurityStack, type User } from './support/security';

/**
 * Attacks on who the caller is: forged and tampered tokens, forged identity headers, other people's bookings,
 * and secrets in logs. Everything runs against real processes on 127.0.0.1 (the other attacks:
 * security-input.test.ts, security-production.test.ts).
 */
useSecurityStack();

// ---------------------------------------------------------------------------------------------------------

describe('token attacks at the gateway', () => {
  const b64url = (v: unknown) =>
    Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
  const now = () => Math.floor(Date.now() / 1000);
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();

  const hs = (alg: 'sha256' | 'sha512', key: string | Buffer, data: string) =>
    createHmac(alg, key).update(data).digest('base64url');
  const jwt = (header: object, payload: object, signer: (data: string) => string) => {
    const data = `${b64url(header)}.${b64url(payload)}`;
    return `${data}.${signer(data)}`;
  };

  let victim: User;
  let claims: Record<string, unknown>;
  let attacks: Array<[string, string]>;

  beforeAll(async () => {
    victim = await newUser('tokenvictim');
    claims = {
      sub: String(victim.id),
      role: 'admin',
      email: victim.email,
      iss: 'skyway-api-gateway',
      aud: 'skyway-api',
      iat: now(),
      exp: now() + 3600,
    };
    const good = (payload: object, alg = 'HS256') =>
      jwt({ alg, typ: 'JWT' }, payload, (d) => hs(alg === 'HS512' ? 'sha512' : 'sha256', JWT_SECRET, d));
    const [h, , s] = victim.token.split('.');
    const realPayload = JSON.parse(Buffer.from(victim.token.split('.')[1], 'base64url').toString());
    attacks = [
      ['alg none', jwt({ alg: 'none', typ: 'JWT' }, claims, () => '')],
      ['alg NONE', jwt({ alg: 'NONE', typ: 'JWT' }, claims, () => '')],
      ['alg none with a signature', jwt({ alg: 'none' }, claims, (d) => hs('sha256', JWT_SECRET, d))],
      [
        'RS256 signed with an attacker key pair',
        jwt({ alg: 'RS256', typ: 'JWT' }, claims, (d) =>
          rsaSign('sha256', Buffer.from(d), privateKey).toString('base64url'),
        ),
      ],
      [
        'HS256 keyed with the RSA public key PEM',
        jwt({ alg: 'HS256', typ: 'JWT' }, claims, (d) => hs('sha256', publicPem, d)),
      ],
      ['HS512 with the real secret', good(claims, 'HS512')],
      [
        'HS256 with another secret',
        jwt({ alg: 'HS256' }, claims, (d) => hs('sha256', 'not-the-secret-but-long-enough-1234', d)),
      ],
      [
        'HS256 with an empty secret and a kid',
        jwt({ alg: 'HS256', kid: '../../../dev/null' }, claims, (d) => hs('sha256', '', d)),
      ],
      ['expired', good({ ...claims, role: 'customer', iat: now() - 7200, exp: now() - 60 })],
      ['not yet valid (nbf)', good({ ...claims, nbf: now() + 3600 })],
      ['wrong audience', good({ ...claims, aud: 'another-api' })],
      ['wrong issuer', good({ ...claims, iss: 'evil-issuer' })],
      ['no expiry', good(Object.fromEntries(Object.entries(claims).filter(([k]) => k !== 'exp')))],
      ['a subject that is not an id', good({ ...claims, sub: "1 OR '1'='1" })],
      ['an unknown role', good({ ...claims, role: 'superuser' })],
      [
        'tampered payload (customer → admin) with the original signature',
        `${h}.${b64url({ ...realPayload, role: 'admin' })}.${s}`,
      ],
      [
        'tampered payload (another user) with the original signature',
        `${h}.${b64url({ ...realPayload, sub: '1' })}.${s}`,
      ],
      ['the signature cut off', `${h}.${victim.token.split('.')[1]}.`],
      ['two parts only', `${h}.${victim.token.split('.')[1]}`],
    ];
  });

  test('a genuine token works (the control)', async () => {
    expect((await gw('GET', '/api/v1/auth/me', { token: victim.token })).status).toBe(200);
    expect((await gw('GET', '/api/v1/bookings', { token: victim.token })).status).toBe(200);
  });

  test('every forged, tampered, expired or mis-addressed token is a 401 on every kind of route, and changes nothing', async () => {
    const citiesBefore = (await gw('GET', '/api/v1/cities?limit=100')).body.total;
    for (const [name, token] of attacks) {
      expectProblem(await gw('GET', '/api/v1/auth/me', { token }), 401, `${name}: me`);
      expectProblem(await gw('GET', '/api/v1/bookings', { token }), 401, `${name}: bookings`);
      expectProblem(await gw('GET', '/api/v1/cities', { token }), 401, `${name}: public read`);
      expectProblem(
        await gw('POST', '/api/v1/cities', { token, body: { name: `Pwned ${name}` } }),
        401,
        `${name}: write`,
      );
      expectProblem(
        await gw('PATCH', `/api/v1/auth/users/${victim.id}/role`, { token, body: { role: 'admin' } }),
        401,
        `${name}: role`,
      );
    }
    expect((await gw('GET', '/api/v1/cities?limit=100')).body.total).toBe(citiesBefore);
    const [user] = await rows<{ role: string }>(`SELECT role FROM ${db('gateway')}.users WHERE id = ?`, [
      victim.id,
    ]);
    expect(user.role).toBe('customer');
  });

  test('a correctly signed token for a user that does not exist is refused by /auth/me', async () => {
    const ghost = jwt({ alg: 'HS256', typ: 'JWT' }, { ...claims, sub: '987654321', role: 'customer' }, (d) =>
      hs('sha256', JWT_SECRET, d),
    );
    expectProblem(await gw('GET', '/api/v1/auth/me', { token: ghost }), 401);
  });
});

// ---------------------------------------------------------------------------------------------------------

describe('forged identity headers', () => {
  const forgedIdentity = { 'X-User-Id': '1', 'X-User-Role': 'admin', 'X-User-Email': ADMIN.email };
  const wrongTokens: Array<[string, Record<string, string>]> = [
    ['no internal token', {}],
    ['an empty internal token', { 'X-Internal-Token': '' }],
    ['a wrong internal token', { 'X-Internal-Token': 'guess' }],
    ['the token with a suffix', { 'X-Internal-Token': `${INTERNAL_TOKEN}x` }],
    ['the token as a prefix', { 'X-Internal-Token': INTERNAL_TOKEN.slice(0, -1) }],
    ['the token upper-cased', { 'X-Internal-Token': INTERNAL_TOKEN.toUpperCase() }],
    ['the development token', { 'X-Internal-Token': DEV_INTERNAL_TOKEN }],
  ];

  test('straight to each service, without a valid internal token: 401, and nothing happens', async () => {
    const flight = await aFlight();
    const routes: Array<[string, string, string, unknown?]> = [
      [stack.flight, 'POST', '/api/v1/cities', { name: 'Forged City' }],
      [stack.flight, 'DELETE', `/api/v1/flights/${flight.id}`],
      [stack.flight, 'GET', '/api/v1/flights'],
      [stack.flight, 'PUT', `/internal/v1/flights/${flight.id}/reservations/424242`, { seats: 5 }],
      [stack.flight, 'DELETE', `/internal/v1/flights/${flight.id}/reservations/1`],
      [stack.booking, 'GET', '/api/v1/bookings'],
      [stack.booking, 'POST', '/api/v1/bookings', { flightId: flight.id, noOfSeats: 1 }],
      [stack.booking, 'POST', '/api/v1/payments', { bookingId: 1, amount: 1 }],
      [stack.booking, 'GET', '/api/v1/bookings/1'],
      [stack.notification, 'GET', '/internal/v1/notifications?bookingId=1'],
    ];
    for (const [base, method, p, body] of routes) {
      for (const [why, tokenHeader] of wrongTokens) {
        const res = await call(base, method, p, { body, headers: { ...forgedIdentity, ...tokenHeader } });
        expectProblem(res, 401, `${why}: ${method} ${base}${p}`);
      }
    }
    expect((await aFlight()).availableSeats).toBe(flight.availableSeats);
    const [held] = await rows<{ n: number }>(
      `SELECT COUNT(*) AS n FROM ${db('flights')}.seat_reservations WHERE bookingId = 424242`,
    );
    expect(Number(held.n)).toBe(0);
    const [cities] = await rows<{ n: number }>(
      `SELECT COUNT(*) AS n FROM ${db('flights')}.cities WHERE name = 'Forged City'`,
    );
    expect(Number(cities.n)).toBe(0);
    for (const base of [stack.flight, stack.booking, stack.notification]) {
      expect((await call(base, 'GET', '/health')).status).toBe(200);
      expect((await call(base, 'GET', '/ready')).status).toBe(200);
    }
  });

  test('through the gateway, client-sent X-User-* and X-Internal-Token are ignored, even the real internal token', async () => {
    const customer = await newUser('forger');
    const victim = await newUser('forgedvictim');
    const flight = await aFlight();
    const booking = await gw('POST', '/api/v1/bookings', {
      token: victim.token,
      body: { flightId: flight.id, noOfSeats: 1 },
    });
    expect(booking.status).toBe(201);
    const forged = {
      'X-User-Id': String(victim.id),
      'X-User-Role': 'admin',
      'X-User-Email': victim.email,
      'X-Internal-Token': INTERNAL_TOKEN,
    };
    expectProblem(
      await gw('POST', '/api/v1/cities', {
        token: customer.token,
        headers: forged,
        body: { name: 'Forged' },
      }),
      403,
    );
    expectProblem(await gw('POST', '/api/v1/cities', { headers: forged, body: { name: 'Forged' } }), 401);
    expectProblem(await gw('GET', '/api/v1/bookings', { headers: forged }), 401);
    expectProblem(
      await gw('GET', `/api/v1/bookings/${booking.body.id}`, { token: customer.token, headers: forged }),
      404,
    );
    const list = await gw('GET', '/api/v1/bookings', { token: customer.token, headers: forged });
    expect(list.body.data).toEqual([]);
    const me = await gw('GET', '/api/v1/auth/me', { token: customer.token, headers: forged });
    expect(me.body).toMatchObject({ id: customer.id, role: 'customer' });
    // Nothing under /internal is reachable through the gateway, however the path is spelled.
    for (const p of [
      `/internal/v1/notifications?bookingId=${booking.body.id}`,
      `/internal/v1/flights/${flight.id}/reservations/987654`,
      `/api/v1/flights/../../internal/v1/flights/${flight.id}/reservations/987654`,
      `/api/v1/flights/%2e%2e/%2e%2e/internal/v1/flights/${flight.id}/reservations/987654`,
      `/api/v1/bookings/..%2f..%2finternal/v1/notifications?bookingId=1`,
      // Absolute-form request targets name another host; the path still decides, and it is never proxied.
      `http://127.0.0.1/internal/v1/flights/${flight.id}/reservations/987654`,
      `http://internal.invalid/api/v1/flights/../../internal/v1/flights/${flight.id}/reservations/987654`,
    ]) {
      const res = await rawRequest(stack.gateway, {
        method: 'PUT',
        target: p,
        headers: [
          ['Authorization', `Bearer ${await adminToken()}`],
          ['Content-Type', 'application/json'],
          ['X-Internal-Token', INTERNAL_TOKEN],
        ],
        body: '{"seats":1}',
      });
      expect(contractViolation(res)).toBeUndefined();
      expect({ p, refused: [400, 404].includes(res.status) }).toEqual({ p, refused: true });
    }
    const [held] = await rows<{ n: number }>(
      `SELECT COUNT(*) AS n FROM ${db('flights')}.seat_reservations WHERE bookingId = 987654`,
    );
    expect(Number(held.n)).toBe(0);
  });
});

// ---------------------------------------------------------------------------------------------------------

describe("another user's booking", () => {
  test('cannot be read, listed, cancelled or paid (404 each time); the owner and admins still can', async () => {
    const owner = await newUser('owner');
    const intruder = await newUser('intruder');
    const flight = await aFlight(2);
    const booked = await gw('POST', '/api/v1/bookings', {
      token: owner.token,
      body: { flightId: flight.id, noOfSeats: 2 },
    });
    expect(booked.status).toBe(201);
    const id = booked.body.id;
    const seatsAfterBooking = (await gw('GET', `/api/v1/flights/${flight.id}`)).body.availableSeats;

    expectProblem(await gw('GET', `/api/v1/bookings/${id}`, { token: intruder.token }), 404, 'read');
    expectProblem(
      await gw('POST', `/api/v1/bookings/${id}/cancel`, { token: intruder.token }),
      404,
      'cancel',
    );
    const pay = await gw('POST', '/api/v1/payments', {
      token: intruder.token,
      body: { bookingId: id, amount: booked.body.totalCost },
      headers: { 'Idempotency-Key': `intruder-${id}` },
    });
    expectProblem(pay, 404, 'pay');
    // "Not yours" and "does not exist" must look the same.
    const missing = await gw('GET', '/api/v1/bookings/2147483647', { token: intruder.token });
    expect({ status: missing.status, title: missing.body.title }).toEqual({
      status: pay.status,
      title: pay.body.title,
    });
    expect((await gw('GET', '/api/v1/bookings', { token: intruder.token })).body.data).toEqual([]);

    const mine = await gw('GET', `/api/v1/bookings/${id}`, { token: owner.token });
    expect(mine.body).toMatchObject({ status: 'INITIATED', userId: owner.id });
    expect((await gw('GET', `/api/v1/flights/${flight.id}`)).body.availableSeats).toBe(seatsAfterBooking);
    const [payments] = await rows<{ n: number }>(
      `SELECT COUNT(*) AS n FROM ${db('bookings')}.payments WHERE booking_id = ?`,
      [id],
    );
    expect(Number(payments.n)).toBe(0);

    // The owner pays with a key; the intruder replaying that very key and body gets a 404, not the owner's payment.
    const key = `owner-key-${id}`;
    const paid = await gw('POST', '/api/v1/payments', {
      token: owner.token,
      body: { bookingId: id, amount: booked.body.totalCost },
      headers: { 'Idempotency-Key': key },
    });
    expect(paid.status).toBe(201);
    const replay = await gw('POST', '/api/v1/payments', {
      token: intruder.token,
      body: { bookingId: id, amount: booked.body.totalCost },
      headers: { 'Idempotency-Key': key },
    });
    expectProblem(replay, 404, 'replay of the owner key');
    expect(replay.headers.get('idempotent-replayed')).toBeNull();
    expectProblem(
      await gw('POST', `/api/v1/bookings/${id}/cancel`, { token: intruder.token }),
      404,
      'cancel booked',
    );
    expect((await gw('GET', `/api/v1/bookings/${id}`, { token: owner.token })).body.status).toBe('BOOKED');

    const admin = await adminToken();
    expect((await gw('GET', `/api/v1/bookings/${id}`, { token: admin })).status).toBe(200);
  });
});

// ---------------------------------------------------------------------------------------------------------

describe('secrets never reach a log line', () => {
  test('signup, signin, booking, payment, cancellation and failures at LOG_LEVEL=debug log no password, token or secret', async () => {
    const user = await newUser('logged');
    const flight = await aFlight(2);
    const booked = await gw('POST', '/api/v1/bookings', {
      token: user.token,
      body: { flightId: flight.id, noOfSeats: 2 },
    });
    expect(booked.status).toBe(201);
    const paid = await gw('POST', '/api/v1/payments', {
      token: user.token,
      body: { bookingId: booked.body.id, amount: booked.body.totalCost },
      headers: { 'Idempotency-Key': `log-${booked.body.id}` },
    });
    expect(paid.status).toBe(201);
    await eventually(
      () => stack.smtp.messages.some((m) => m.to.includes(user.email)),
      30_000,
      'the confirmation email',
    );
    expect(
      (await gw('POST', `/api/v1/bookings/${booked.body.id}/cancel`, { token: user.token })).status,
    ).toBe(200);
    // Failures: a wrong password, a tampered token, a bad body, an unknown booking, a mismatched payment.
    const wrongPassword = `wrong-${user.password}`;
    secrets.add(wrongPassword);
    expect(
      (await gw('POST', '/api/v1/auth/signin', { body: { email: user.email, password: wrongPassword } }))
        .status,
    ).toBe(401);
    expect((await gw('GET', '/api/v1/auth/me', { token: `${user.token}x` })).status).toBe(401);
    expect(
      (await gw('POST', '/api/v1/auth/signup', { body: { email: user.email, password: user.password } }))
        .status,
    ).toBe(409);
    expect((await gw('GET', '/api/v1/bookings/2147483647', { token: user.token })).status).toBe(404);
    const other = await gw('POST', '/api/v1/bookings', {
      token: user.token,
      body: { flightId: flight.id, noOfSeats: 1 },
    });
    expect(
      (
        await gw('POST', '/api/v1/payments', {
          token: user.token,
          body: { bookingId: other.body.id, amount: 1 },
          headers: { 'Idempotency-Key': `log-bad-${other.body.id}` },
        })
      ).status,
    ).toBe(400);
    // Straight at a service with the right internal token but broken JSON: the token must not be echoed anywhere.
    expect(
      (
        await rawRequest(stack.booking, {
          method: 'POST',
          target: '/api/v1/bookings',
          headers: [
            ['X-Internal-Token', INTERNAL_TOKEN],
            ['X-User-Id', String(user.id)],
            ['X-User-Role', 'customer'],
            ['Content-Type', 'application/json'],
          ],
          body: '{"flightId":',
        })
      ).status,
    ).toBe(400);

    // A failure that is logged with its error: flight-service is away while a booking is attempted (503 or,
    // if it is back in time, 201; either way booking-service logs what went wrong, with the request id).
    const restarting = stack.restart('flight-service');
    await eventually(
      async () => {
        try {
          await fetch(`${stack.flight}/health`);
          return false;
        } catch {
          return true;
        }
      },
      15_000,
      'flight-service down',
    );
    const during = await gw('POST', '/api/v1/bookings', {
      token: user.token,
      body: { flightId: flight.id, noOfSeats: 1 },
    });
    expect([201, 503]).toContain(during.status);
    await restarting;

    // Give the services a moment to flush what they log about these requests.
    await new Promise((r) => setTimeout(r, 500));
    expect(stack.logs.length).toBeGreaterThan(0);
    const leaks: string[] = [];
    for (const secret of secrets) {
      for (const line of stack.logs)
        if (line.includes(secret)) leaks.push(`${secret.slice(0, 12)}… in ${line.slice(0, 300)}`);
    }
    expect(leaks).toEqual([]);
    const levels: Record<string, number> = {};
    for (const line of stack.logs) {
      const level = /"level":"(\w+)"/.exec(line)?.[1] ?? 'other';
      levels[level] = (levels[level] ?? 0) + 1;
    }
    console.log(
      `secrets: ${secrets.size} secrets checked against ${stack.logs.length} log lines ${JSON.stringify(levels)}`,
    );
  });
});
