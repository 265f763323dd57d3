import { performance } from 'node:perf_hooks';
import bcrypt from 'bcrypt';
import express, { type RequestHandler } from 'express';
import request from 'supertest';
import { createLogger, createSequelize, errorHandler, requestId } from '@skyway/common';
import { testDbServer } from '@skyway/common/testing';
import { Accounts } from '../src/app/accounts';
import type { PasswordHasher } from '../src/clients/password-hasher';
import { Semaphore, SemaphoreFullError } from '../src/clients/semaphore';
import type { TokenSigner } from '../src/clients/token-signer';
import type { UsersStore } from '../src/db/users-store';
import { authRoutes } from '../src/http/auth';
import { accountsOn, dropGatewayDatabase, startTestGateway, type TestGateway } from './helpers';

/**
 * bcrypt runs on libuv's small thread pool (4 threads). Unbounded, a burst of sign-ups fills it and every
 * sign-in compare waits behind the queued hashes: sign-in went from 165 ms to 4–5 s during 60 sign-ups.
 */
let gateway: TestGateway;

beforeAll(async () => {
  gateway = await startTestGateway({
    // Each sign-up of the burst comes from its own address (X-Forwarded-For, trusted from loopback only).
    TRUST_PROXY: 'loopback',
    RATE_LIMIT_MAX: '100000',
    SIGNIN_RATE_LIMIT_MAX: '100000',
  });
});

afterAll(async () => {
  await gateway?.close();
  if (gateway) await dropGatewayDatabase(gateway.prefix);
});

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};

type Tracked = { now: number; max: number; done: number };

/** Wraps bcrypt.hash / bcrypt.compare to see how many run at once. */
function track(name: 'hash' | 'compare'): { stats: Tracked; restore(): void } {
  const real = bcrypt[name] as unknown as (a: string, b: string | number) => Promise<unknown>;
  const stats: Tracked = { now: 0, max: 0, done: 0 };
  const spy = jest.spyOn(bcrypt, name).mockImplementation((async (a: string, b: string | number) => {
    stats.now++;
    stats.max = Math.max(stats.max, stats.now);
    try {
      return await real.call(bcrypt, a, b);
    } finally {
      stats.now--;
      stats.done++;
    }
  }) as never);
  return { stats, restore: () => spy.mockRestore() };
}

describe('bcrypt under a sign-up burst', () => {
  it('hashes for sign-ups one at a time and compares for sign-ins in a budget of their own, never behind the hashes', async () => {
    const sequelize = createSequelize(testDbServer(), `${gateway.prefix}gateway`);
    const users = accountsOn(sequelize, 10);
    try {
      await users.signUp({ email: 'budget-signin@example.com', password: 'password-1' });
      const hashes = track('hash');
      const compares = track('compare');
      try {
        const signUps = Array.from({ length: 12 }, (_, i) =>
          users.signUp({ email: `budget-${i}@example.com`, password: 'password-1' }),
        );
        let hashesDoneWhenSignedIn = -1;
        const signIns = Promise.all(
          Array.from({ length: 4 }, () => users.authenticate('budget-signin@example.com', 'password-1')),
        ).then((r) => {
          hashesDoneWhenSignedIn = hashes.stats.done;
          return r;
        });
        const [created, signedIn] = await Promise.all([Promise.all(signUps), signIns]);
        expect(created).toHaveLength(12);
        expect(signedIn.every((u) => u?.email === 'budget-signin@example.com')).toBe(true);
        expect(hashes.stats.max).toBe(1);
        expect(compares.stats.max).toBeLessThanOrEqual(2);
        // The sign-ins did not wait for the dozen hashes queued before them.
        expect(hashesDoneWhenSignedIn).toBeLessThanOrEqual(6);
      } finally {
        hashes.restore();
        compares.restore();
      }
    } finally {
      await sequelize.close();
    }
  });

  it('keeps sign-in latency within 2× of idle while many addresses sign up at once', async () => {
    const api = () => request(gateway.url);
    const credentials = { email: 'latency@example.com', password: 'password-1' };
    await api().post('/api/v1/auth/signup').send(credentials).expect(201);
    const signIn = async () => {
      const started = performance.now();
      await api()
        .post('/api/v1/auth/signin')
        .set('X-Forwarded-For', '198.51.100.1')
        .send(credentials)
        .expect(200);
      return performance.now() - started;
    };
    const samples = async (n: number) => {
      const out: number[] = [];
      for (let i = 0; i < n; i++) out.push(await signIn());
      return out;
    };

    await samples(2); // warm-up
    const idleBefore = await samples(7);

    // The burst: 16 clients, each signing fresh users up from a fresh address, back to back.
    let stop = false;
    let accepted = 0;
    let seq = 0;
    const worker = async (w: number) => {
      while (!stop) {
        const n = seq++;
        const res = await api()
          .post('/api/v1/auth/signup')
          .set('X-Forwarded-For', `198.18.${w}.${n % 250}`)
          .send({ email: `burst-${n}@example.com`, password: 'password-1' });
        if (res.status === 201) accepted++;
      }
    };
    const workers = Array.from({ length: 16 }, (_, w) => worker(w));
    await new Promise((r) => setTimeout(r, 300));
    const acceptedBefore = accepted;
    const duringBurst = await samples(7);
    const acceptedDuring = accepted - acceptedBefore;
    stop = true;
    await Promise.all(workers);

    const idleAfter = await samples(5);
    const idle = median([...idleBefore, ...idleAfter]);
    const burst = median(duringBurst);
    // Visible when the test fails: what the two medians were.
    const report = { idleMs: Math.round(idle), burstMs: Math.round(burst), acceptedDuring };
    expect(acceptedDuring).toBeGreaterThanOrEqual(3); // the burst really ran meanwhile
    expect({ ...report, withinBudget: burst <= 2 * idle + 40 }).toEqual({ ...report, withinBudget: true });
  });
});

describe('the sign-up waiting line', () => {
  it('runs tasks first come, first served within the limit, and refuses one more than maxWaiting', async () => {
    const line = new Semaphore(1, 2);
    const order: string[] = [];
    let release!: () => void;
    const first = line.run(
      () =>
        new Promise<void>((resolve) => {
          order.push('first');
          release = resolve;
        }),
    );
    const second = line.run(async () => void order.push('second'));
    const third = line.run(async () => {
      order.push('third');
      throw new Error('task failed');
    });
    await expect(line.run(async () => order.push('fourth'))).rejects.toBeInstanceOf(SemaphoreFullError);
    release();
    await first;
    await second;
    await expect(third).rejects.toThrow('task failed');
    // A failed task gives its slot back like any other.
    await line.run(async () => void order.push('fifth'));
    expect(order).toEqual(['first', 'second', 'third', 'fifth']);
  });

  it('answers a sign-up that finds the line full with a 503 problem and Retry-After, not a 500', async () => {
    // Real use cases over a hasher whose line is full: the sign-up must fail before touching the store.
    const busy = new Accounts({
      users: {} as UsersStore,
      passwords: {
        hash: () => Promise.reject(new SemaphoreFullError('too many tasks waiting')),
      } as unknown as PasswordHasher,
      tokens: {} as TokenSigner,
    });
    const pass: RequestHandler = (_req, _res, next) => next();
    const app = express();
    app.use(requestId);
    app.use(
      authRoutes({
        accounts: busy,
        signinLimiter: pass,
        signupLimiter: pass,
      }),
    );
    app.use(errorHandler(createLogger('api-gateway-test', 'error')));
    const res = await request(app)
      .post('/api/v1/auth/signup')
      .send({ email: 'busy@example.com', password: 'password-1' });
    expect(res.status).toBe(503);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.headers['retry-after']).toBe('5');
    expect(res.body).toMatchObject({ type: 'about:blank', status: 503, title: 'Service Unavailable' });
  });
});
