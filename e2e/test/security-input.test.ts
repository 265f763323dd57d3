import net from 'node:net';
import { ADMIN, INTERNAL_TOKEN, call } from './support/stack';
import { contractViolation, rawRequest } from './support/raw-http';
import { adminToken, db, gw, rows, stack } from './support/use-stack';
import {
  HEADERS_TIMEOUT_MS,
  REQUEST_TIMEOUT_MS,
  aFlight,
  newUser,
  useSecurityStack,
} from './support/security';

/**
 * Attacks through what a request carries: SQL injection in every field and filter, oversized bodies, and slow
 * clients. Everything runs against real processes on 127.0.0.1 (the other attacks: security-identity.test.ts,
 * security-production.test.ts).
 */
useSecurityStack();

// ---------------------------------------------------------------------------------------------------------

const SQLI = [
  "' OR '1'='1",
  "' OR 1=1 -- ",
  "admin'--",
  '1; DROP TABLE flights; --',
  "'; DROP TABLE users; --",
  "1' UNION SELECT email, passwordHash FROM users --",
  '" OR ""="',
  "\\'; UPDATE flights SET availableSeats = 0; --",
  '1) OR (1=1',
  "'; SELECT SLEEP(3); --",
  '`flights`',
  '%27%20OR%201%3D1',
];

interface TableCount {
  table: string;
  n: number;
}

async function snapshot(): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const name of ['gateway', 'flights', 'bookings', 'notifications']) {
    const tables = await rows<Record<string, string>>(`SHOW TABLES FROM ${db(name)}`);
    for (const t of tables.map((r) => Object.values(r)[0])) {
      const [c] = await rows<TableCount>(`SELECT COUNT(*) AS n FROM ${db(name)}.\`${t}\``);
      counts.set(`${name}.${t}`, Number(c.n));
    }
  }
  return counts;
}

describe('SQL injection strings in every field and filter', () => {
  test('never a 5xx, never an effect: the tables are intact and only honest inserts happened', async () => {
    const admin = await adminToken();
    const user = await newUser('sqli');
    const flight = await aFlight();
    const booking = await gw('POST', '/api/v1/bookings', {
      token: user.token,
      body: { flightId: flight.id, noOfSeats: 1 },
    });
    expect(booking.status).toBe(201);
    const before = await snapshot();
    const flightsBefore = await rows<{ id: number; availableSeats: number }>(
      `SELECT id, availableSeats FROM ${db('flights')}.flights ORDER BY id`,
    );
    const created = { cities: [] as string[], users: 0, airplanes: 0 };
    let requests = 0;
    const send = async (method: string, p: string, opts: Parameters<typeof call>[3] = {}) => {
      const res = await gw(method, p, opts);
      requests++;
      expect({ method, p, status: res.status < 500 }).toEqual({ method, p, status: true });
      if (res.status >= 400) expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      return res;
    };

    for (const [i, s] of SQLI.entries()) {
      const enc = encodeURIComponent(s);
      // Identity.
      const signup = await send('POST', '/api/v1/auth/signup', {
        body: { email: `sqli${i}.${Date.now()}@example.com`, password: `${s}-padding`, name: s },
      });
      if (signup.status === 201) {
        created.users++;
        expect(signup.body.name).toBe(s.trim());
      }
      await send('POST', '/api/v1/auth/signup', { body: { email: s, password: s, name: s } });
      expect((await send('POST', '/api/v1/auth/signin', { body: { email: s, password: s } })).status).toBe(
        401,
      );
      expect(
        (await send('POST', '/api/v1/auth/signin', { body: { email: `${ADMIN.email}${s}`, password: s } }))
          .status,
      ).toBe(401);
      expect(
        (await send('POST', '/api/v1/auth/signin', { body: { email: ADMIN.email, password: s } })).status,
      ).toBe(401);
      await send('PATCH', `/api/v1/auth/users/${enc}/role`, { token: admin, body: { role: 'admin' } });
      await send('PATCH', `/api/v1/auth/users/${user.id}/role`, { token: admin, body: { role: s } });
      // Catalog.
      const city = await send('POST', '/api/v1/cities', { token: admin, body: { name: `${s} ${i}` } });
      if (city.status === 201) {
        created.cities.push(`${s} ${i}`.trim());
        expect(city.body.name).toBe(`${s} ${i}`.trim());
      }
      await send('POST', '/api/v1/airports', {
        token: admin,
        body: { code: s, name: s, address: s, cityId: 1 },
      });
      await send('POST', '/api/v1/airports', { token: admin, body: { code: 'DEL', name: s, cityId: s } });
      const plane = await send('POST', '/api/v1/airplanes', {
        token: admin,
        body: { modelNumber: s, capacity: s },
      });
      if (plane.status === 201) created.airplanes++;
      await send('POST', '/api/v1/flights', {
        token: admin,
        body: {
          flightNumber: s,
          airplaneId: s,
          departureAirportCode: s,
          arrivalAirportCode: s,
          departureTime: s,
          arrivalTime: s,
          price: s,
          boardingGate: s,
          totalSeats: s,
        },
      });
      await send('PATCH', `/api/v1/flights/${flight.id}`, {
        token: admin,
        body: { boardingGate: s, flightNumber: s },
      });
      for (const noun of ['cities', 'airports', 'airplanes', 'flights']) {
        await send('GET', `/api/v1/${noun}/${enc}`);
        await send('DELETE', `/api/v1/${noun}/${enc}`, { token: admin });
        await send('GET', `/api/v1/${noun}?page=${enc}&limit=${enc}`);
      }
      for (const filter of ['trips', 'price', 'travellers', 'tripDate', 'sort']) {
        expect((await send('GET', `/api/v1/flights?${filter}=${enc}`)).status).toBe(400);
      }
      expect((await send('GET', `/api/v1/flights?trips=DEL-BOM&sort=price_ASC,${enc}`)).status).toBe(400);
      // Bookings and payments.
      await send('POST', '/api/v1/bookings', { token: user.token, body: { flightId: s, noOfSeats: s } });
      await send('POST', '/api/v1/bookings', {
        token: user.token,
        body: { flightId: flight.id, noOfSeats: 0 },
        headers: { 'Idempotency-Key': s },
      });
      await send('GET', `/api/v1/bookings/${enc}`, { token: user.token });
      await send('POST', `/api/v1/bookings/${enc}/cancel`, { token: user.token });
      await send('GET', `/api/v1/bookings?page=${enc}&limit=${enc}`, { token: user.token });
      await send('POST', '/api/v1/payments', {
        token: user.token,
        body: { bookingId: s, amount: s },
        headers: { 'Idempotency-Key': s },
      });
      await send('POST', '/api/v1/payments', {
        token: user.token,
        body: { bookingId: booking.body.id, amount: 1 },
        headers: { 'Idempotency-Key': `k${i}${s}` },
      });
      await send('GET', '/api/v1/flights', { headers: { 'X-Request-Id': s.replace(/[^\x20-\x7e]/g, '') } });
      await send('GET', '/api/v1/bookings', { headers: { Authorization: `Bearer ${s}` } });
    }

    const after = await snapshot();
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
    const grew: Record<string, number> = {};
    for (const [table, n] of after) if (n !== before.get(table)) grew[table] = n - (before.get(table) ?? 0);
    // Only what was honestly created; idempotency keys are stored for every keyed answer below 500.
    const expected: Record<string, number> = {
      'gateway.users': created.users,
      'flights.cities': created.cities.length,
      'flights.airplanes': created.airplanes,
    };
    for (const [table, n] of Object.entries(grew)) {
      // Emails for the earlier tests' payments may still be recorded; no route here reaches that service.
      if (table.startsWith('notifications.')) continue;
      if (table === 'bookings.idempotency_keys') {
        expect(n).toBeGreaterThan(0);
        continue;
      }
      expect({ table, grew: n }).toEqual({ table, grew: expected[table] });
    }
    for (const [table, n] of Object.entries(expected))
      expect({ table, grew: grew[table] ?? 0 }).toEqual({ table, grew: n });
    // The literal strings were stored as data.
    for (const name of created.cities) {
      const found = await rows<{ name: string }>(`SELECT name FROM ${db('flights')}.cities WHERE name = ?`, [
        name,
      ]);
      expect(found.map((r) => r.name)).toContain(name);
    }
    // Seat counts untouched, the booking untouched and unpaid, the user still a customer.
    expect(await rows(`SELECT id, availableSeats FROM ${db('flights')}.flights ORDER BY id`)).toEqual(
      flightsBefore,
    );
    expect((await gw('GET', `/api/v1/bookings/${booking.body.id}`, { token: user.token })).body.status).toBe(
      'INITIATED',
    );
    const [role] = await rows<{ role: string }>(`SELECT role FROM ${db('gateway')}.users WHERE id = ?`, [
      user.id,
    ]);
    expect(role.role).toBe('customer');
    console.log(
      `sql injection: ${requests} requests with ${SQLI.length} payloads, tables grew ${JSON.stringify(grew)}`,
    );
  }, 120_000);
});

// ---------------------------------------------------------------------------------------------------------

describe('bodies over the 100 kB limit', () => {
  const LIMIT = 100 * 1024;
  const jsonOf = (bytes: number) => {
    const frame = '{"name":""}';
    return `{"name":"${'x'.repeat(bytes - frame.length)}"}`;
  };

  test('are a 413 problem through the gateway, with Content-Length or chunked, and a body at the limit is not', async () => {
    const admin = await adminToken();
    const user = await newUser('big');
    const routes: Array<[string, string, Array<[string, string]>]> = [
      ['POST', '/api/v1/auth/signup', []],
      ['POST', '/api/v1/cities', [['Authorization', `Bearer ${admin}`]]],
      ['PATCH', '/api/v1/flights/1', [['Authorization', `Bearer ${admin}`]]],
      ['POST', '/api/v1/bookings', [['Authorization', `Bearer ${user.token}`]]],
      [
        'POST',
        '/api/v1/payments',
        [
          ['Authorization', `Bearer ${user.token}`],
          ['Idempotency-Key', 'big-body'],
        ],
      ],
    ];
    for (const [method, p, auth] of routes) {
      const headers: Array<[string, string]> = [...auth, ['Content-Type', 'application/json']];
      const over = await rawRequest(stack.gateway, { method, target: p, headers, body: jsonOf(LIMIT + 1) });
      expect({ p, status: over.status }).toEqual({ p, status: 413 });
      expect(contractViolation(over)).toBeUndefined();
      const chunked = await rawRequest(stack.gateway, {
        method,
        target: p,
        headers: [...headers, ['Transfer-Encoding', 'chunked']],
        body: chunk(jsonOf(300 * 1024)),
        contentLength: false,
      });
      expect({ p, chunked: chunked.status }).toEqual({ p, chunked: 413 });
      expect(contractViolation(chunked)).toBeUndefined();
      const atLimit = await rawRequest(stack.gateway, {
        method,
        target: p,
        headers: [...headers, ['Idempotency-Key', `at-limit-${p}`]],
        body: jsonOf(LIMIT),
      });
      expect({ p, atLimitIs413: atLimit.status === 413 }).toEqual({ p, atLimitIs413: false });
      expect(contractViolation(atLimit)).toBeUndefined();
    }
  });

  test('are a 413 problem straight at every service too', async () => {
    const identity: Array<[string, string]> = [
      ['X-Internal-Token', INTERNAL_TOKEN],
      ['X-User-Id', '1'],
      ['X-User-Role', 'admin'],
      ['Content-Type', 'application/json'],
    ];
    for (const [base, p] of [
      [stack.flight, '/api/v1/cities'],
      [stack.flight, '/internal/v1/flights/1/reservations/77'],
      [stack.booking, '/api/v1/bookings'],
      [stack.notification, '/internal/v1/notifications'],
    ]) {
      const res = await rawRequest(base, {
        method: p.includes('reservations') ? 'PUT' : 'POST',
        target: p,
        headers: identity,
        body: jsonOf(LIMIT + 1),
      });
      expect({ p, status: res.status }).toEqual({ p, status: 413 });
      expect(contractViolation(res)).toBeUndefined();
    }
  });
});

function chunk(text: string): string {
  const parts: string[] = [];
  for (let i = 0; i < text.length; i += 16 * 1024) {
    const piece = text.slice(i, i + 16 * 1024);
    parts.push(`${Buffer.byteLength(piece).toString(16)}\r\n${piece}\r\n`);
  }
  return `${parts.join('')}0\r\n\r\n`;
}

// ---------------------------------------------------------------------------------------------------------

/** Opens a socket, writes `head`, then keeps writing `drip` every `everyMs`; resolves when the server closes it. */
function slowClient(base: string, head: string, drip?: { bytes: string; everyMs: number }) {
  const { hostname, port } = new URL(base);
  return new Promise<{ closedAfterMs: number; answer: string }>((resolve, reject) => {
    const started = Date.now();
    const socket = net.connect(Number(port), hostname);
    let answer = '';
    let timer: NodeJS.Timeout | undefined;
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (answer += d));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearInterval(timer);
      resolve({ closedAfterMs: Date.now() - started, answer });
    });
    // The bound of the test itself: a server that never closes fails here, not at jest's timeout.
    socket.setTimeout(30_000, () => {
      clearInterval(timer);
      socket.destroy();
      reject(new Error(`${base} kept a slow client for 30 s`));
    });
    socket.write(head);
    if (drip) timer = setInterval(() => socket.writable && socket.write(drip.bytes), drip.everyMs);
  });
}

describe('slow clients', () => {
  const bounds = () =>
    [
      [stack.gateway, HEADERS_TIMEOUT_MS, REQUEST_TIMEOUT_MS],
      [stack.flight, HEADERS_TIMEOUT_MS, REQUEST_TIMEOUT_MS],
      [stack.booking, HEADERS_TIMEOUT_MS, REQUEST_TIMEOUT_MS],
      [stack.notification, HEADERS_TIMEOUT_MS, REQUEST_TIMEOUT_MS],
    ] as const;
  // Node checks the timeouts once a second (listen() sets connectionsCheckingInterval); slack for a busy machine.
  const SLACK_MS = 1000 + 2500;

  test('a request head sent a byte at a time is cut off after the headers timeout, with a 408 problem', async () => {
    const results = await Promise.all(
      bounds().map(([base]) =>
        slowClient(base, 'GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ', { bytes: 'a', everyMs: 250 }),
      ),
    );
    results.forEach(({ closedAfterMs, answer }, i) => {
      const [base, headersTimeout] = bounds()[i];
      expect({ base, cutOff: closedAfterMs < headersTimeout + SLACK_MS }).toEqual({ base, cutOff: true });
      expect(closedAfterMs).toBeGreaterThanOrEqual(headersTimeout - 100);
      expect(answer).toMatch(/^HTTP\/1\.1 408 /);
      expect(answer).toMatch(/application\/problem\+json/);
    });
  }, 40_000);

  test('a body that never finishes is cut off after the request timeout', async () => {
    // Requests each server reads the body of (the services only after a valid internal token).
    const trusted = `X-Internal-Token: ${INTERNAL_TOKEN}\r\nX-User-Id: 1\r\nX-User-Role: admin\r\n`;
    const heads = [
      'POST /api/v1/auth/signin HTTP/1.1\r\n',
      `POST /api/v1/cities HTTP/1.1\r\n${trusted}`,
      `POST /api/v1/bookings HTTP/1.1\r\n${trusted}`,
    ];
    const results = await Promise.all(
      bounds()
        .slice(0, 3)
        .map(([base], i) =>
          slowClient(
            base,
            `${heads[i]}Host: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"name":`,
            { bytes: ' ', everyMs: 250 },
          ),
        ),
    );
    results.forEach(({ closedAfterMs }, i) => {
      const [base, , requestTimeout] = bounds()[i];
      expect({ base, cutOff: closedAfterMs < requestTimeout + SLACK_MS }).toEqual({ base, cutOff: true });
      expect(closedAfterMs).toBeGreaterThanOrEqual(requestTimeout - 100);
    });
    // And honest clients are still served.
    for (const [base] of bounds()) expect((await call(base, 'GET', '/ready')).status).toBe(200);
  }, 40_000);
});
