import net from 'node:net';
import type { Request } from 'express';
import request from 'supertest';
import { createClient } from 'redis';
import { ipKey } from '../src/http/rate-limit';
import { ADMIN, bearer, echoGateways, mintToken, type TestGateway } from './helpers';

const REDIS_URL = 'redis://127.0.0.1:6379';

const gateways = echoGateways('gwrl');
gateways.useIn();
const prefix = gateways.prefix;
const redisPrefix = `test:${prefix}:`;
const gatewayWith = (env: NodeJS.ProcessEnv) => gateways.gatewayWith(env);

afterAll(async () => {
  const redis = createClient({ url: REDIS_URL });
  await redis.connect();
  try {
    for await (const keys of redis.scanIterator({ MATCH: `${redisPrefix}*`, COUNT: 100 })) {
      if (keys.length) await redis.del(keys);
    }
  } finally {
    redis.destroy();
  }
});

describe('per-client limit', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await gatewayWith({ RATE_LIMIT_MAX: '5', RATE_LIMIT_WINDOW_MS: '60000' });
  });

  it('lets N requests through with RateLimit headers, answers the N+1th with a 429 problem, and leaves another user alone', async () => {
    const alice = bearer(mintToken({ sub: '101' }));
    for (let i = 1; i <= 5; i++) {
      const res = await request(gw.url).get('/api/v1/flights').set(alice);
      expect(res.status).toBe(200);
      expect(res.headers['ratelimit']).toBe(`"api"; r=${5 - i}; t=60`);
      expect(res.headers['ratelimit-policy']).toMatch(/^"api"; q=5; w=60; pk=:[A-Za-z0-9+/=]+:$/);
    }
    const before = gateways.echo.received.length;
    const limited = await request(gw.url).get('/api/v1/flights').set(alice);
    expect(limited.status).toBe(429);
    expect(limited.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(limited.body).toMatchObject({ status: 429, title: 'Too Many Requests' });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect(limited.headers['ratelimit']).toMatch(/^"api"; r=0; t=\d+$/);
    expect(gateways.echo.received.length).toBe(before);

    // Another user, and the same user's other routes, are counted separately per user only.
    const bob = await request(gw.url)
      .get('/api/v1/flights')
      .set(bearer(mintToken({ sub: '102' })));
    expect(bob.status).toBe(200);
    expect(bob.headers['ratelimit']).toBe('"api"; r=4; t=60');
    await request(gw.url).get('/api/v1/bookings').set(alice).expect(429);
  });

  it('counts anonymous callers per IP, and a made-up X-Forwarded-For does not buy a fresh quota', async () => {
    for (let i = 0; i < 5; i++) {
      await request(gw.url).get('/api/v1/cities').set('X-Forwarded-For', `203.0.113.${i}`).expect(200);
    }
    await request(gw.url).get('/api/v1/cities').set('X-Forwarded-For', '198.51.100.7').expect(429);
  });

  it('never limits the health routes', async () => {
    for (let i = 0; i < 8; i++) {
      for (const path of ['/health', '/ready', '/api/v1/health']) {
        const res = await request(gw.url).get(path);
        expect(res.status).toBe(200);
        expect(res.headers['ratelimit']).toBeUndefined();
      }
    }
  });
});

describe('IPv6 clients', () => {
  const key = (ip: string) => ipKey({ ip } as Request);

  it('are counted per /64', () => {
    expect(key('2001:db8:1:2:aaaa::1')).toBe(key('2001:db8:1:2:ffff:ffff:ffff:fffe'));
    expect(key('2001:db8:1:3::1')).not.toBe(key('2001:db8:1:2::1'));
    expect(key('203.0.113.9')).toBe('ip:203.0.113.9');
    expect(key('::ffff:203.0.113.9')).toBe('ip:203.0.113.9');
  });

  it('share one quota per /64 behind a trusted proxy', async () => {
    const gw = await gatewayWith({ RATE_LIMIT_MAX: '3', TRUST_PROXY: 'loopback' });
    const from = (ip: string) => request(gw.url).get('/api/v1/airports').set('X-Forwarded-For', ip);
    await from('2001:db8:aa:1::1').expect(200);
    await from('2001:db8:aa:1::2').expect(200);
    await from('2001:db8:aa:1:ffff::3').expect(200);
    await from('2001:db8:aa:1::4').expect(429);
    await from('2001:db8:aa:2::1').expect(200);
  });
});

describe('sign-in limiter', () => {
  it('allows SIGNIN_RATE_LIMIT_MAX attempts per IP per window, successful or not, then 429', async () => {
    const gw = await gatewayWith({ RATE_LIMIT_MAX: '100', SIGNIN_RATE_LIMIT_MAX: '3', TRUST_PROXY: '1' });
    const signin = (ip: string, password: string) =>
      request(gw.url)
        .post('/api/v1/auth/signin')
        .set('X-Forwarded-For', ip)
        .send({ email: ADMIN.email, password });

    await signin('192.0.2.10', ADMIN.password).expect(200);
    await signin('192.0.2.10', 'wrong-password').expect(401);
    await signin('192.0.2.10', 'wrong-password').expect(401);
    const limited = await signin('192.0.2.10', ADMIN.password);
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toBeDefined();
    expect(limited.headers['ratelimit']).toContain('"signin"; r=0');

    // The general limit is untouched for other routes from that IP, and another IP may still sign in.
    await request(gw.url).get('/api/v1/cities').set('X-Forwarded-For', '192.0.2.10').expect(200);
    await signin('192.0.2.11', ADMIN.password).expect(200);
  });
});

describe('sign-up limiter', () => {
  it('allows SIGNUP_RATE_LIMIT_MAX sign-ups per IP per window, accepted or not, then a 429 problem', async () => {
    const gw = await gatewayWith({ RATE_LIMIT_MAX: '100', SIGNUP_RATE_LIMIT_MAX: '3', TRUST_PROXY: '1' });
    const signup = (ip: string, email: string, password = 'password-1') =>
      request(gw.url).post('/api/v1/auth/signup').set('X-Forwarded-For', ip).send({ email, password });

    const first = await signup('192.0.2.20', 'limited-1@example.com');
    expect(first.status).toBe(201);
    // The general limit's policy comes first, as on sign-in.
    expect(first.headers['ratelimit']).toBe('"api"; r=99; t=60, "signup"; r=2; t=60');
    expect(first.headers['ratelimit-policy']).toMatch(/, "signup"; q=3; w=60; pk=:[A-Za-z0-9+/=]+:$/);
    await signup('192.0.2.20', 'limited-1@example.com').expect(409);
    await signup('192.0.2.20', 'limited-2@example.com', 'short').expect(400);
    const limited = await signup('192.0.2.20', 'limited-3@example.com');
    expect(limited.status).toBe(429);
    expect(limited.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(limited.body).toMatchObject({ type: 'about:blank', status: 429, title: 'Too Many Requests' });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect(limited.headers['ratelimit']).toMatch(/, "signup"; r=0; t=\d+$/);

    // Sign-in and the other routes from that IP are not affected, and another IP may still sign up.
    await request(gw.url)
      .post('/api/v1/auth/signin')
      .set('X-Forwarded-For', '192.0.2.20')
      .send({ email: 'limited-1@example.com', password: 'password-1' })
      .expect(200);
    await request(gw.url).get('/api/v1/cities').set('X-Forwarded-For', '192.0.2.20').expect(200);
    await signup('192.0.2.21', 'limited-3@example.com').expect(201);
  });

  it('counts per IP by default (SIGNUP_RATE_LIMIT_MAX=10): the 11th sign-up from one address is refused', async () => {
    const gw = await gatewayWith({ RATE_LIMIT_MAX: '100' });
    for (let i = 0; i < 10; i++) {
      await request(gw.url)
        .post('/api/v1/auth/signup')
        .send({ email: `default-limit-${i}@example.com`, password: 'password-1' })
        .expect(201);
    }
    await request(gw.url)
      .post('/api/v1/auth/signup')
      .send({ email: 'default-limit-10@example.com', password: 'password-1' })
      .expect(429);
  });
});

describe('replicas sharing Redis', () => {
  it('enforce one combined limit across two gateway instances', async () => {
    const env = { RATE_LIMIT_MAX: '6', REDIS_URL, REDIS_KEY_PREFIX: redisPrefix };
    const [one, two] = await Promise.all([gatewayWith(env), gatewayWith(env)]);
    const carol = bearer(mintToken({ sub: '303' }));
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      const gw = i % 2 === 0 ? one : two;
      statuses.push((await request(gw.url).get('/api/v1/flights').set(carol)).status);
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 429, 429]);
    // Another user still has the full quota on both.
    const dave = bearer(mintToken({ sub: '304' }));
    const res = await request(two.url).get('/api/v1/flights').set(dave).expect(200);
    expect(res.headers['ratelimit']).toBe('"api"; r=5; t=60');
    await request(one.url)
      .get('/ready')
      .expect(200, /"redis":"ok"/);
  });

  it('fails open (requests pass, /ready says 503) while Redis is unreachable, and limits again once it is back', async () => {
    const relay = await startRelay(6379);
    const gw = await gatewayWith({
      RATE_LIMIT_MAX: '3',
      REDIS_URL: `redis://127.0.0.1:${relay.port}`,
      REDIS_KEY_PREFIX: redisPrefix,
    });
    const erin = bearer(mintToken({ sub: '505' }));
    await request(gw.url).get('/api/v1/cities').set(erin).expect(200);

    relay.cut();
    for (let i = 0; i < 5; i++) {
      const started = Date.now();
      const res = await request(gw.url).get('/api/v1/cities').set(erin);
      expect(res.status).toBe(200);
      expect(Date.now() - started).toBeLessThan(2000);
    }
    await request(gw.url).get('/ready').expect(503);

    relay.restore();
    const deadline = Date.now() + 15_000;
    let status = 200;
    while (status !== 429 && Date.now() < deadline) {
      status = (await request(gw.url).get('/api/v1/cities').set(erin)).status;
      if (status !== 429) await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(429);
    await relay.close();
  });
});

/** A TCP relay to a local port that can cut every connection and refuse new ones, then come back. */
async function startRelay(targetPort: number) {
  const sockets = new Set<net.Socket>();
  let open = true;
  const server = net.createServer((client) => {
    if (!open) {
      client.destroy();
      return;
    }
    const upstream = net.connect(targetPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    client.pipe(upstream).pipe(client);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    cut() {
      open = false;
      for (const s of sockets) s.destroy();
    },
    restore() {
      open = true;
    },
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
