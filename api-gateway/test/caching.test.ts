import http from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { ADMIN, bearer, dropGatewayDatabase, mintToken, startTestGateway, type TestGateway } from './helpers';

/**
 * HTTP caching through the gateway, in front of an upstream that marks every answer public with an ETag and
 * answers 304 to a matching If-None-Match: public reads pass all of that through; per-user routes come out
 * `private, no-store` with no validator, whatever the upstream said, and never as a 304.
 */
const TAG = '"v1-abc"';
let upstream: http.Server;
const seen: http.IncomingHttpHeaders[] = [];
let gw: TestGateway;

beforeAll(async () => {
  upstream = http.createServer((req, res) => {
    seen.push(req.headers);
    if (req.url === '/ready') return void res.writeHead(200).end('{}');
    const headers = { 'cache-control': 'public, max-age=60', etag: TAG, 'content-type': 'application/json' };
    if (req.headers['if-none-match'] === TAG) return void res.writeHead(304, headers).end();
    res.writeHead(200, headers).end(JSON.stringify({ url: req.url }));
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  gw = await startTestGateway({
    FLIGHT_SERVICE_URL: url,
    BOOKING_SERVICE_URL: url,
    NOTIFICATION_SERVICE_URL: url,
  });
});
afterAll(async () => {
  await gw.close();
  await new Promise((r) => upstream.close(r));
  await dropGatewayDatabase(gw.prefix);
});

test('public reads: ETag, Cache-Control and a 304 pass through unchanged', async () => {
  for (const path of [
    '/api/v1/flights?trips=DEL-BOM',
    '/api/v1/flights/1',
    '/api/v1/airports',
    '/api/v1/flights/1/seats',
  ]) {
    const res = await request(gw.url).get(path).expect(200);
    expect([path, res.headers.etag, res.headers['cache-control']]).toEqual([path, TAG, 'public, max-age=60']);
    const again = await request(gw.url).get(path).set('If-None-Match', TAG).expect(304);
    expect([path, again.text ?? '', again.headers.etag]).toEqual([path, '', TAG]);
    expect(seen.at(-1)?.['if-none-match']).toBe(TAG);
  }
});

test('per-user routes: private, no-store and no validator over whatever the upstream said; never a 304', async () => {
  const token = mintToken({ sub: '41' });
  for (const path of ['/api/v1/bookings', '/api/v1/bookings/5', '/api/v1/payments']) {
    const res = await request(gw.url).get(path).set(bearer(token)).set('If-None-Match', TAG).expect(200);
    expect([path, res.headers['cache-control'], res.headers.etag]).toEqual([
      path,
      'private, no-store',
      undefined,
    ]);
    expect(seen.at(-1)?.['if-none-match']).toBeUndefined();
  }
  // The gateway's own answers on these routes, refusals included.
  const me = await request(gw.url).get('/api/v1/bookings').expect(401);
  expect(me.headers['cache-control']).toBe('private, no-store');
  const signin = await request(gw.url).post('/api/v1/auth/signin').send(ADMIN).expect(200);
  expect(signin.headers['cache-control']).toBe('private, no-store');
  const whoami = await request(gw.url).get('/api/v1/auth/me').set(bearer(signin.body.token)).expect(200);
  expect([whoami.headers['cache-control'], whoami.headers.etag]).toEqual(['private, no-store', undefined]);
  const signup = await request(gw.url).post('/api/v1/auth/signup').send({ email: 'x' }).expect(400);
  expect(signup.headers['cache-control']).toBe('private, no-store');
});
