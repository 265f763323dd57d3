import request from 'supertest';
import { bearer, echoGateways, mintToken, type TestGateway } from './helpers';

const ORIGIN = 'https://app.skyway.test';

const gateways = echoGateways('gwhd', { CORS_ORIGINS: ORIGIN });
gateways.useIn();
const gatewayWith = (env: NodeJS.ProcessEnv) => gateways.gatewayWith(env);

/** One answer of each kind: health, the gateway's own 201, a proxied answer, a problem. */
async function answersOf(gw: TestGateway, tag: string) {
  const api = () => request(gw.url);
  return [
    await api().get('/health'),
    await api()
      .post('/api/v1/auth/signup')
      .send({ email: `${tag}@example.com`, password: 'password-1' }),
    await api().get('/api/v1/cities'),
    await api().get('/no/such/route'),
  ];
}

describe('Strict-Transport-Security (RFC 6797: only over secure transport)', () => {
  it('is never sent by default (BEHIND_TLS=false): the gateway speaks plain HTTP', async () => {
    const gw = await gatewayWith({});
    const answers = await answersOf(gw, 'hsts-off');
    expect(answers.map((r) => r.status)).toEqual([200, 201, 200, 404]);
    for (const res of answers) expect(res.headers['strict-transport-security']).toBeUndefined();
    // The other helmet headers are still there.
    expect(answers[0].headers['x-content-type-options']).toBe('nosniff');
  });

  it('is sent on every answer with BEHIND_TLS=true (TLS ends in front of the gateway)', async () => {
    const gw = await gatewayWith({ BEHIND_TLS: 'true' });
    const answers = await answersOf(gw, 'hsts-on');
    expect(answers.map((r) => r.status)).toEqual([200, 201, 200, 404]);
    for (const res of answers) {
      expect(res.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
    }
  });
});

describe('Location on the gateway’s own 201', () => {
  it('names /api/v1/auth/me on a sign-up, and CORS exposes it to browsers', async () => {
    const gw = await gatewayWith({});
    const res = await request(gw.url)
      .post('/api/v1/auth/signup')
      .set('Origin', ORIGIN)
      .send({ email: 'cors-location@example.com', password: 'password-1' });
    expect(res.status).toBe(201);
    expect(res.headers.location).toBe('/api/v1/auth/me');
    expect(res.headers['access-control-allow-origin']).toBe(ORIGIN);
    const exposed = String(res.headers['access-control-expose-headers'])
      .split(',')
      .map((h) => h.trim().toLowerCase());
    expect(exposed).toContain('location');
  });

  it('leaves a proxied 201 as the service sent it: its own Location, or none', async () => {
    const gw = await gatewayWith({});
    const book = (extra: Record<string, string>) =>
      request(gw.url)
        .post('/api/v1/bookings')
        .set(bearer(mintToken({ sub: '77' })))
        .set('X-Echo-Status', '201')
        .set(extra)
        .send({ flightId: 1, noOfSeats: 1 });
    const own = await book({ 'X-Echo-Location': '/api/v1/bookings/5' });
    expect(own.status).toBe(201);
    expect(own.headers.location).toBe('/api/v1/bookings/5');
    const none = await book({});
    expect(none.status).toBe(201);
    expect(none.headers.location).toBeUndefined();
  });
});
