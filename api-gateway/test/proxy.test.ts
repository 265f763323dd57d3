import { randomBytes } from 'node:crypto';
import { createHash } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import request from 'supertest';
import {
  bearer,
  dropGatewayDatabase,
  mintToken,
  refusedUrl,
  startEchoUpstream,
  startHangingUpstream,
  startTestGateway,
  TEST_INTERNAL_TOKEN,
  type Echoed,
  type TestGateway,
  type TestServer,
} from './helpers';

/** The gateway under test fronts a real echo upstream for both services. */
let gateway: TestGateway;
let echo: TestServer;

beforeAll(async () => {
  echo = await startEchoUpstream();
  gateway = await startTestGateway({
    FLIGHT_SERVICE_URL: echo.url,
    BOOKING_SERVICE_URL: echo.url,
    NOTIFICATION_SERVICE_URL: echo.url,
    RATE_LIMIT_MAX: '10000',
  });
});

afterAll(async () => {
  await gateway?.close();
  await echo?.close();
  if (gateway) await dropGatewayDatabase(gateway.prefix);
});

const api = () => request(gateway.url);
const customer = mintToken({ sub: '42', role: 'customer', email: 'real@skyway.test' });

describe('identity headers reaching the upstream', () => {
  it('drops forged X-User-* and X-Internal-Token and sets the verified identity instead', async () => {
    const res = await api()
      .post('/api/v1/bookings')
      .set(bearer(customer))
      .set('X-User-Id', '1')
      .set('X-User-Role', 'admin')
      .set('X-User-Email', 'admin@skyway.local')
      .set('X-User-Impersonate', 'yes')
      .set('X-Internal-Token', 'forged-internal-token')
      .set('X-Request-Id', 'trace-abc.123')
      .send({ flightId: 3, noOfSeats: 2 });
    expect(res.status).toBe(200);
    const seen = res.body as Echoed;
    expect(seen.headers['x-user-id']).toBe('42');
    expect(seen.headers['x-user-role']).toBe('customer');
    expect(seen.headers['x-user-email']).toBe('real@skyway.test');
    expect(seen.headers['x-user-impersonate']).toBeUndefined();
    expect(seen.headers['x-internal-token']).toBe(TEST_INTERNAL_TOKEN);
    expect(seen.headers['x-request-id']).toBe('trace-abc.123');
    expect(seen.headers.authorization).toBeUndefined();
    expect(res.headers['x-request-id']).toBe('trace-abc.123');
  });

  it('forwards no identity at all on an anonymous public GET, even when the client claims one', async () => {
    const res = await api()
      .get('/api/v1/flights?trips=DEL-BOM&sort=price_ASC&note=/../x')
      .set('X-User-Id', '1')
      .set('X-User-Role', 'admin')
      .set('x-internal-token', TEST_INTERNAL_TOKEN.toUpperCase());
    expect(res.status).toBe(200);
    const seen = res.body as Echoed;
    expect(seen.url).toBe('/api/v1/flights?trips=DEL-BOM&sort=price_ASC&note=/../x');
    expect(Object.keys(seen.headers).filter((h) => h.startsWith('x-user-'))).toEqual([]);
    expect(seen.headers['x-internal-token']).toBe(TEST_INTERNAL_TOKEN);
    expect(seen.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('sends the identity of a valid token on a public GET too', async () => {
    const res = await api().get('/api/v1/airports/5').set(bearer(customer)).expect(200);
    expect(res.body.headers['x-user-id']).toBe('42');
  });

  it('a duplicated forged header (raw socket) does not get through either', async () => {
    const port = gateway.port;
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.write(
          'GET /api/v1/cities HTTP/1.1\r\nHost: x\r\nX-User-Id: 1\r\nx-user-id: 2\r\nX-USER-ROLE: admin\r\n' +
            'Connection: close\r\n\r\n',
        );
      });
      let data = '';
      socket.on('data', (c) => (data += c.toString()));
      socket.on('end', () => resolve(data));
      socket.on('error', reject);
    });
    expect(raw).toMatch(/^HTTP\/1.1 200/);
    // The echoed JSON lists the headers the upstream received.
    expect(raw).toContain('"x-internal-token"');
    expect(raw).not.toMatch(/"x-user-/i);
  });
});

describe('bodies through the proxy', () => {
  it('delivers a JSON body byte for byte, with its content type', async () => {
    const json = '{"flightId":7,"noOfSeats":2,"note":"ünïcödé ✈","nested":{"a":[1,2,3]}}';
    const res = await api()
      .post('/api/v1/bookings')
      .set(bearer(customer))
      .set('Content-Type', 'application/json')
      .set('Idempotency-Key', 'key-1')
      .send(json)
      .expect(200);
    expect(res.body.body).toBe(json);
    expect(res.body.headers['content-type']).toBe('application/json');
    expect(res.body.headers['idempotency-key']).toBe('key-1');
    expect(res.body.method).toBe('POST');
  });

  it('delivers a ~90 kB body intact (Content-Length and chunked)', async () => {
    const big = JSON.stringify({ blob: randomBytes(44 * 1024).toString('hex') });
    expect(big.length).toBeGreaterThan(88 * 1024);
    expect(big.length).toBeLessThan(100 * 1024);
    const sha = createHash('sha256').update(big).digest('hex');

    const sized = await api()
      .post('/api/v1/payments')
      .set(bearer(customer))
      .set('Content-Type', 'application/json')
      .send(big)
      .expect(200);
    expect(sized.body).toMatchObject({ bytes: big.length, sha256: sha });

    const chunked = await rawPost('/api/v1/payments', chunksOf(Buffer.from(big), 8 * 1024), bearer(customer));
    expect(chunked.status).toBe(200);
    expect(JSON.parse(chunked.body)).toMatchObject({ bytes: big.length, sha256: sha });
  });

  it('answers 413 for a body over 100 kB and never forwards it (Content-Length or chunked)', async () => {
    const before = echo.received.length;
    const tooBig = 'x'.repeat(100 * 1024 + 1);
    const sized = await api()
      .post('/api/v1/flights')
      .set(bearer(mintToken({ sub: '1', role: 'admin' })))
      .set('Content-Type', 'application/json')
      .send(tooBig);
    expect(sized.status).toBe(413);
    expect(sized.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(echo.received.length).toBe(before);

    const chunked = await rawPost(
      '/api/v1/bookings',
      chunksOf(Buffer.alloc(150 * 1024, 'y'), 16 * 1024),
      bearer(customer),
    );
    expect(chunked.status).toBe(413);
    expect(JSON.parse(chunked.body)).toMatchObject({ status: 413 });
    // The upstream may have seen the start of that request, but never a complete one.
    expect(echo.received.slice(before).filter((r) => r.bytes > 100 * 1024)).toEqual([]);

    // The gateway is fine afterwards.
    await api().get('/api/v1/cities').expect(200);
  });
});

describe('what is never proxied', () => {
  it.each([
    '/internal/v1/flights/1/reservations/2',
    '/api/v1/flights/../../internal/v1/flights/1/reservations/2',
    '/api/v1/flights/%2e%2e/%2e%2e/internal/v1/flights/1',
    '/api/v1/flightsX',
    '/api/v1/notifications',
  ])('%s → 404 problem', async (path) => {
    const before = echo.received.length;
    const res = await rawRequest('PUT', path, bearer(mintToken({ sub: '1', role: 'admin' })));
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(echo.received.length).toBe(before);
  });
});

describe('upstream failures', () => {
  let hanging: TestServer;
  let slowGateway: TestGateway;

  beforeAll(async () => {
    hanging = await startHangingUpstream();
    slowGateway = await startTestGateway({
      DB_NAME_PREFIX: gateway.prefix,
      MIGRATE_ON_START: 'false',
      FLIGHT_SERVICE_URL: await refusedUrl(),
      BOOKING_SERVICE_URL: hanging.url,
      NOTIFICATION_SERVICE_URL: echo.url,
      UPSTREAM_TIMEOUT_MS: '700',
    });
  });

  afterAll(async () => {
    await slowGateway?.close();
    await hanging?.close();
  });

  it('answers 502 problem in under 2 s when the service refuses connections', async () => {
    const started = Date.now();
    const res = await request(slowGateway.url).get('/api/v1/flights').set('X-Request-Id', 'down-1');
    expect(Date.now() - started).toBeLessThan(2000);
    expect(res.status).toBe(502);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 502, requestId: 'down-1', instance: '/api/v1/flights' });
    expect(res.body.detail).toContain('flight-service');
  });

  it('answers 504 problem at the configured timeout when the service never answers', async () => {
    const started = Date.now();
    const res = await request(slowGateway.url)
      .post('/api/v1/bookings')
      .set(bearer(customer))
      .set('X-Request-Id', 'slow-1')
      .send({ flightId: 1, noOfSeats: 1 });
    const took = Date.now() - started;
    expect(res.status).toBe(504);
    expect(res.body).toMatchObject({ status: 504, requestId: 'slow-1' });
    expect(took).toBeGreaterThanOrEqual(650);
    expect(took).toBeLessThan(5000);
    expect(hanging.received.at(-1)).toMatchObject({ method: 'POST', url: '/api/v1/bookings' });
  });

  it('reports each service in /api/v1/health: 503 while one is down, 200 when all are ready', async () => {
    const degraded = await request(slowGateway.url).get('/api/v1/health');
    expect(degraded.status).toBe(503);
    expect(degraded.body.status).toBe('degraded');
    expect(degraded.body.services['flight-service']).toMatchObject({ status: 'down' });
    expect(degraded.body.services['booking-service']).toMatchObject({ status: 'down' });
    expect(degraded.body.services['notification-service']).toMatchObject({ status: 'ok' });

    const healthy = await api().get('/api/v1/health').expect(200);
    expect(healthy.body).toEqual({
      status: 'ok',
      services: {
        'flight-service': { status: 'ok', checks: { database: 'ok' } },
        'booking-service': { status: 'ok', checks: { database: 'ok' } },
        'notification-service': { status: 'ok', checks: { database: 'ok' } },
      },
    });
  });
});

describe('gateway basics', () => {
  it('spreads calls over the replicas of a comma-separated service URL list', async () => {
    const second = await startEchoUpstream();
    const spread = await startTestGateway({
      DB_NAME_PREFIX: gateway.prefix,
      MIGRATE_ON_START: 'false',
      FLIGHT_SERVICE_URL: `${echo.url},${second.url}`,
    });
    try {
      const before = echo.received.length;
      for (let i = 0; i < 4; i++)
        await request(spread.url)
          .get(`/api/v1/cities/${i + 1}`)
          .expect(200);
      expect(echo.received.length - before).toBe(2);
      expect(second.received.map((r) => r.url)).toHaveLength(2);
    } finally {
      await spread.close();
      await second.close();
    }
  });

  it('serves its own /health and /ready, and the OpenAPI document for the whole API', async () => {
    await api().get('/health').expect(200, { status: 'ok' });
    const ready = await api().get('/ready').expect(200);
    expect(ready.body.checks).toEqual({ database: 'ok' });
    const doc = await api().get('/api-docs/openapi.json').expect(200);
    expect(doc.body.openapi).toMatch(/^3\.1/);
    for (const path of [
      '/api/v1/auth/signup',
      '/api/v1/auth/signin',
      '/api/v1/auth/me',
      '/api/v1/auth/users/{id}/role',
      '/api/v1/cities',
      '/api/v1/airports/{id}',
      '/api/v1/airplanes',
      '/api/v1/flights',
      '/api/v1/flights/{id}',
      '/api/v1/bookings',
      '/api/v1/bookings/{id}/cancel',
      '/api/v1/payments',
      '/api/v1/health',
    ]) {
      expect(doc.body.paths[path]).toBeDefined();
    }
  });

  it('sets helmet headers and answers CORS only for configured origins', async () => {
    const res = await api().get('/api/v1/cities').set('Origin', 'https://evil.example');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['access-control-allow-origin']).toBeUndefined();

    const corsGateway = await startTestGateway({
      DB_NAME_PREFIX: gateway.prefix,
      MIGRATE_ON_START: 'false',
      FLIGHT_SERVICE_URL: echo.url,
      CORS_ORIGINS: 'https://app.skyway.test',
    });
    try {
      const pre = await request(corsGateway.url)
        .options('/api/v1/bookings')
        .set('Origin', 'https://app.skyway.test')
        .set('Access-Control-Request-Method', 'POST')
        .set('Access-Control-Request-Headers', 'authorization,content-type,idempotency-key');
      expect(pre.status).toBe(204);
      expect(pre.headers['access-control-allow-origin']).toBe('https://app.skyway.test');
      expect(pre.headers['access-control-allow-headers']).toMatch(/Idempotency-Key/);
      const other = await request(corsGateway.url)
        .get('/api/v1/cities')
        .set('Origin', 'https://evil.example');
      expect(other.headers['access-control-allow-origin']).toBeUndefined();
    } finally {
      await corsGateway.close();
    }
  });
});

function chunksOf(buf: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) out.push(buf.subarray(i, i + size));
  return out;
}

interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A request written exactly as given (no path normalisation), with an optional chunked body. */
function rawRequest(
  method: string,
  path: string,
  headers: Record<string, string> = {},
  chunks?: Buffer[],
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: gateway.port,
        method,
        path,
        headers: { 'content-type': 'application/json', ...headers },
      },
      (res) => {
        let body = '';
        res.on('data', (c) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    for (const c of chunks ?? []) req.write(c);
    req.end();
  });
}

const rawPost = (path: string, chunks: Buffer[], headers: Record<string, string>) =>
  rawRequest('POST', path, headers, chunks);
