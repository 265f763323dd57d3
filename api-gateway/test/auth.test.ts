import request from 'supertest';
import jwt from 'jsonwebtoken';
import bcrypt from 'bcrypt';
import { Sequelize } from 'sequelize';
import { createSequelize } from '@skyway/common';
import { eventually, testDbServer } from '@skyway/common/testing';
import {
  accountsOn,
  ADMIN,
  bearer,
  dropGatewayDatabase,
  mintToken,
  startEchoUpstream,
  startTestGateway,
  TEST_JWT_SECRET,
  type TestGateway,
  type TestServer,
} from './helpers';

let gateway: TestGateway;
let upstream: TestServer;

beforeAll(async () => {
  upstream = await startEchoUpstream();
  gateway = await startTestGateway({
    JWT_EXPIRES_IN: '15m',
    // This file signs up and in far more often from one address than the default per-IP limits allow.
    SIGNUP_RATE_LIMIT_MAX: '1000',
    SIGNIN_RATE_LIMIT_MAX: '1000',
    RATE_LIMIT_MAX: '10000',
    FLIGHT_SERVICE_URL: upstream.url,
    BOOKING_SERVICE_URL: upstream.url,
    NOTIFICATION_SERVICE_URL: upstream.url,
  });
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
  if (gateway) await dropGatewayDatabase(gateway.prefix);
});

const api = () => request(gateway.url);

async function signIn(email: string, password: string): Promise<string> {
  const res = await api().post('/api/v1/auth/signin').send({ email, password }).expect(200);
  return res.body.token as string;
}

describe('signup, signin, me', () => {
  it('creates a customer, signs it in and shows it back; the password is stored only as a bcrypt hash', async () => {
    const signup = await api()
      .post('/api/v1/auth/signup')
      .send({ email: 'Asha@Example.com', password: 'correct horse', name: 'Asha', role: 'admin' })
      .expect(201);
    expect(signup.body).toEqual({
      id: expect.any(Number),
      email: 'asha@example.com',
      name: 'Asha',
      role: 'customer',
    });

    const signin = await api()
      .post('/api/v1/auth/signin')
      .send({ email: 'asha@example.com', password: 'correct horse' });
    expect(signin.status).toBe(200);
    expect(signin.body).toEqual({ token: expect.any(String), tokenType: 'Bearer', expiresIn: 900 });
    const claims = jwt.verify(signin.body.token, TEST_JWT_SECRET, {
      algorithms: ['HS256'],
    }) as jwt.JwtPayload;
    expect(claims).toMatchObject({
      sub: String(signup.body.id),
      role: 'customer',
      email: 'asha@example.com',
    });
    expect(claims.exp! - claims.iat!).toBe(900);
    expect(claims.iss).toBe('skyway-api-gateway');
    expect(claims.aud).toBe('skyway-api');

    const me = await api().get('/api/v1/auth/me').set(bearer(signin.body.token)).expect(200);
    expect(me.body).toEqual(signup.body);

    const sequelize = createSequelize(testDbServer(), `${gateway.prefix}gateway`);
    try {
      const [rows] = (await sequelize.query('SELECT passwordHash FROM users WHERE email = ?', {
        replacements: ['asha@example.com'],
      })) as [Array<{ passwordHash: string }>, unknown];
      expect(rows[0].passwordHash).toMatch(/^\$2[aby]\$1\d\$/);
      expect(rows[0].passwordHash).not.toContain('correct horse');
    } finally {
      await sequelize.close();
    }
  });

  it('answers the 201 of a sign-up with Location: /api/v1/auth/me, where the new user reads its account', async () => {
    const signup = await api()
      .post('/api/v1/auth/signup')
      .send({ email: 'located@example.com', password: 'password-1' })
      .expect(201);
    expect(signup.headers.location).toBe('/api/v1/auth/me');
    const token = await signIn('located@example.com', 'password-1');
    const me = await api().get(signup.headers.location).set(bearer(token)).expect(200);
    expect(me.body).toEqual(signup.body);
  });

  it('answers 409 for an email already taken, whatever its case', async () => {
    await api()
      .post('/api/v1/auth/signup')
      .send({ email: 'dup@example.com', password: 'password-1' })
      .expect(201);
    const again = await api()
      .post('/api/v1/auth/signup')
      .send({ email: 'DUP@example.com', password: 'password-2' });
    expect(again.status).toBe(409);
    expect(again.headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  it('names every bad field of a signup with 400', async () => {
    const res = await api().post('/api/v1/auth/signup').send({ email: 'not-an-email', password: 'short' });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['email', 'password']);
    const long = await api()
      .post('/api/v1/auth/signup')
      .send({ email: 'long@example.com', password: 'é'.repeat(40) });
    expect(long.status).toBe(400);
    expect(long.body.errors[0].path).toBe('password');
  });

  it('gives the same 401 for an unknown email and a wrong password', async () => {
    await api()
      .post('/api/v1/auth/signup')
      .send({ email: 'known@example.com', password: 'the-password' })
      .expect(201);
    const unknown = await api()
      .post('/api/v1/auth/signin')
      .send({ email: 'nobody@example.com', password: 'the-password' });
    const wrong = await api()
      .post('/api/v1/auth/signin')
      .send({ email: 'known@example.com', password: 'not-the-password' });
    expect(unknown.status).toBe(401);
    expect(wrong.status).toBe(401);
    const strip = (b: Record<string, unknown>) => ({ ...b, requestId: undefined, instance: undefined });
    expect(strip(unknown.body)).toEqual(strip(wrong.body));
  });

  it('spends one bcrypt compare on an unknown email too, so timing does not tell which emails exist', async () => {
    const sequelize = createSequelize(testDbServer(), `${gateway.prefix}gateway`);
    const compare = jest.spyOn(bcrypt, 'compare');
    try {
      const users = accountsOn(sequelize, 10);
      await users.signUp({ email: 'timing@example.com', password: 'password-1' });
      compare.mockClear();
      expect(await users.authenticate('nobody-at-all@example.com', 'password-1')).toBeUndefined();
      expect(compare).toHaveBeenCalledTimes(1);
      compare.mockClear();
      expect(await users.authenticate('timing@example.com', 'wrong-password')).toBeUndefined();
      expect(compare).toHaveBeenCalledTimes(1);
      compare.mockClear();
      expect(await users.authenticate('TIMING@example.com', 'password-1')).toMatchObject({
        email: 'timing@example.com',
      });
      expect(compare).toHaveBeenCalledTimes(1);
    } finally {
      compare.mockRestore();
      await sequelize.close();
    }
  });

  it('answers 400 (not 500) for a body that is not JSON, and 413 for an auth body over 100 kB', async () => {
    const bad = await api()
      .post('/api/v1/auth/signin')
      .set('Content-Type', 'application/json')
      .send('{"email":');
    expect(bad.status).toBe(400);
    const big = await api()
      .post('/api/v1/auth/signup')
      .send({ email: 'big@example.com', password: 'password-1', name: 'x'.repeat(110 * 1024) });
    expect(big.status).toBe(413);
    expect(big.headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  it('ensured the configured admin at start', async () => {
    const token = await signIn(ADMIN.email, ADMIN.password);
    const me = await api().get('/api/v1/auth/me').set(bearer(token)).expect(200);
    expect(me.body).toMatchObject({ email: ADMIN.email, role: 'admin' });
  });
});

describe('the admin ensured at start', () => {
  it('keeps an existing admin password on restart, and gives a demoted admin the role back', async () => {
    const adminToken = await signIn(ADMIN.email, ADMIN.password);
    const me = await api().get('/api/v1/auth/me').set(bearer(adminToken)).expect(200);
    const sequelize = createSequelize(testDbServer(), `${gateway.prefix}gateway`);
    try {
      await sequelize.query("UPDATE users SET role = 'customer' WHERE id = ?", {
        replacements: [me.body.id],
      });
      const restarted = await startTestGateway({
        DB_NAME_PREFIX: gateway.prefix,
        ADMIN_PASSWORD: 'a-different-password',
      });
      try {
        const again = request(restarted.url);
        await again
          .post('/api/v1/auth/signin')
          .send({ email: ADMIN.email, password: 'a-different-password' })
          .expect(401);
        const token = (await again.post('/api/v1/auth/signin').send(ADMIN).expect(200)).body.token as string;
        await again
          .get('/api/v1/auth/me')
          .set(bearer(token))
          .expect(200, { ...me.body, role: 'admin' });
      } finally {
        await restarted.close();
      }
    } finally {
      await sequelize.close();
    }
  });
});

describe('role changes', () => {
  it('lets an admin promote a customer, effective from the next sign-in', async () => {
    const user = await api()
      .post('/api/v1/auth/signup')
      .send({ email: 'promote@example.com', password: 'password-1' });
    const oldToken = await signIn('promote@example.com', 'password-1');
    const adminToken = await signIn(ADMIN.email, ADMIN.password);

    const changed = await api()
      .patch(`/api/v1/auth/users/${user.body.id}/role`)
      .set(bearer(adminToken))
      .send({ role: 'admin' });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ id: user.body.id, role: 'admin' });

    // The old token still carries the old role.
    await api().post('/api/v1/cities').set(bearer(oldToken)).send({ name: 'Pune' }).expect(403);
    const newToken = await signIn('promote@example.com', 'password-1');
    await api().post('/api/v1/cities').set(bearer(newToken)).send({ name: 'Pune' }).expect(200);
  });

  it('refuses customers (403), anonymous callers (401), unknown roles (400) and unknown users (404)', async () => {
    const user = await api()
      .post('/api/v1/auth/signup')
      .send({ email: 'plain@example.com', password: 'password-1' });
    const customer = await signIn('plain@example.com', 'password-1');
    const adminToken = await signIn(ADMIN.email, ADMIN.password);
    const path = `/api/v1/auth/users/${user.body.id}/role`;

    await api().patch(path).set(bearer(customer)).send({ role: 'admin' }).expect(403);
    await api().patch(path).send({ role: 'admin' }).expect(401);
    const badRole = await api().patch(path).set(bearer(adminToken)).send({ role: 'pilot' });
    expect(badRole.status).toBe(400);
    expect(badRole.body.errors).toEqual([{ path: 'role', message: expect.any(String) }]);
    await api()
      .patch('/api/v1/auth/users/999999/role')
      .set(bearer(adminToken))
      .send({ role: 'admin' })
      .expect(404);
    const me = await api().get('/api/v1/auth/me').set(bearer(customer)).expect(200);
    expect(me.body.role).toBe('customer');
  });
});

describe('a demoted admin', () => {
  /** Signs a fresh user up, promotes it (admin token), and returns its id and an admin token of its own. */
  async function promotedUser(email: string) {
    const id = (await api().post('/api/v1/auth/signup').send({ email, password: 'password-1' }).expect(201))
      .body.id as number;
    const root = await signIn(ADMIN.email, ADMIN.password);
    await api().patch(`/api/v1/auth/users/${id}/role`).set(bearer(root)).send({ role: 'admin' }).expect(200);
    const token = await signIn(email, 'password-1');
    return { id, token, root };
  }

  async function demoteInDatabase(id: number) {
    const sequelize = createSequelize(testDbServer(), `${gateway.prefix}gateway`);
    try {
      await sequelize.query("UPDATE users SET role = 'customer' WHERE id = ?", { replacements: [id] });
    } finally {
      await sequelize.close();
    }
  }

  it('cannot promote itself back with its old admin token: 403 problem, the stored role stays customer', async () => {
    const { id, token, root } = await promotedUser('demoted-self@example.com');
    await api()
      .patch(`/api/v1/auth/users/${id}/role`)
      .set(bearer(root))
      .send({ role: 'customer' })
      .expect(200);

    const again = await api()
      .patch(`/api/v1/auth/users/${id}/role`)
      .set(bearer(token))
      .send({ role: 'admin' });
    expect(again.status).toBe(403);
    expect(again.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(again.body).toMatchObject({ type: 'about:blank', status: 403, title: 'Forbidden' });
    const me = await api().get('/api/v1/auth/me').set(bearer(token)).expect(200);
    expect(me.body.role).toBe('customer');
  });

  it('is refused at once on role changes even when demoted behind the gateway’s back (straight in the database)', async () => {
    const { id, token } = await promotedUser('demoted-sql@example.com');
    const other = (
      await api()
        .post('/api/v1/auth/signup')
        .send({ email: 'bystander@example.com', password: 'password-1' })
        .expect(201)
    ).body.id as number;
    await demoteInDatabase(id);
    for (const target of [id, other]) {
      await api()
        .patch(`/api/v1/auth/users/${target}/role`)
        .set(bearer(token))
        .send({ role: 'admin' })
        .expect(403);
    }
  });

  it('can no longer write the catalog, nor reach the booking-service as an admin, with its old token', async () => {
    const { id, token, root } = await promotedUser('demoted-proxy@example.com');
    // While it is an admin, its token works as one.
    const before = await api().post('/api/v1/cities').set(bearer(token)).send({ name: 'Goa' }).expect(200);
    expect(before.body.headers['x-user-role']).toBe('admin');
    await api()
      .patch(`/api/v1/auth/users/${id}/role`)
      .set(bearer(root))
      .send({ role: 'customer' })
      .expect(200);

    const seen = upstream.received.length;
    const write = await api().post('/api/v1/cities').set(bearer(token)).send({ name: 'Goa' });
    expect(write.status).toBe(403);
    expect(write.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(upstream.received.length).toBe(seen);
    // Bookings still work for it, as the customer it now is (so it no longer sees everyone's bookings).
    const list = await api().get('/api/v1/bookings').set(bearer(token)).expect(200);
    expect(list.body.headers).toMatchObject({ 'x-user-id': String(id), 'x-user-role': 'customer' });
  });

  it('loses its admin rights on proxied routes within a few seconds when demoted straight in the database', async () => {
    const { id, token } = await promotedUser('demoted-proxy-sql@example.com');
    await api().delete('/api/v1/airports/9').set(bearer(token)).expect(200);
    await demoteInDatabase(id);
    const demotedAt = Date.now();
    await eventually(
      async () => (await api().delete('/api/v1/airports/9').set(bearer(token))).status === 403,
      5000,
      'a 403 for the demoted admin',
    );
    expect(Date.now() - demotedAt).toBeLessThan(3000);
    const list = await api().get('/api/v1/bookings').set(bearer(token)).expect(200);
    expect(list.body.headers['x-user-role']).toBe('customer');
  });

  it('answers 401 for an admin token whose account no longer exists', async () => {
    const ghost = bearer(mintToken({ sub: '999998', role: 'admin' }));
    const seen = upstream.received.length;
    for (const res of [
      await api().post('/api/v1/flights').set(ghost).send({}),
      await api().get('/api/v1/bookings').set(ghost),
      await api().patch('/api/v1/auth/users/1/role').set(ghost).send({ role: 'admin' }),
    ]) {
      expect(res.status).toBe(401);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    }
    expect(upstream.received.length).toBe(seen);
  });

  it('looks the stored role up only for tokens that claim admin: customer tokens cost no database query', async () => {
    const lookups = jest.spyOn(Sequelize.prototype, 'query');
    try {
      const customer = bearer(mintToken({ sub: '12', role: 'customer' }));
      await api().get('/api/v1/flights').set(customer).expect(200);
      await api().get('/api/v1/bookings').set(customer).expect(200);
      await api().post('/api/v1/cities').set(customer).send({}).expect(403);
      await api().patch('/api/v1/auth/users/1/role').set(customer).send({ role: 'admin' }).expect(403);
      expect(lookups).not.toHaveBeenCalled();
      await api()
        .get('/api/v1/flights')
        .set(bearer(mintToken({ sub: '1', role: 'admin' })))
        .expect(200);
      expect(lookups).toHaveBeenCalled();
    } finally {
      lookups.mockRestore();
    }
  });
});

describe('token attacks', () => {
  const header = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const realUserToken = () => mintToken({ sub: '7', role: 'customer' });

  const attacks: Array<[string, () => Record<string, string>]> = [
    ['no token', () => ({})],
    ['a malformed token', () => bearer('not.a.jwt')],
    ['a non-Bearer scheme', () => ({ Authorization: `Basic ${Buffer.from('a:b').toString('base64')}` })],
    ['an expired token', () => bearer(mintToken({ exp: Math.floor(Date.now() / 1000) - 10 }))],
    [
      'a token signed with another secret',
      () => bearer(mintToken({}, { secret: 'another-secret-that-is-long-enough-000' })),
    ],
    [
      'an alg:none token',
      () => {
        const payload = jwt.decode(realUserToken()) as object;
        return bearer(`${header({ alg: 'none', typ: 'JWT' })}.${header({ ...payload, role: 'admin' })}.`);
      },
    ],
    [
      'an HS512 token with the right secret',
      () =>
        bearer(
          jwt.sign({ role: 'admin', email: 'x@y.z' }, TEST_JWT_SECRET, {
            algorithm: 'HS512',
            subject: '7',
            expiresIn: 600,
            issuer: 'skyway-api-gateway',
            audience: 'skyway-api',
          }),
        ),
    ],
    ['a token of another issuer', () => bearer(mintToken({}, { issuer: 'someone-else' }))],
    ['a token for another audience', () => bearer(mintToken({}, { audience: 'another-api' }))],
    [
      'a tampered payload (role raised to admin)',
      () => {
        const [h, , s] = realUserToken().split('.');
        const payload = jwt.decode(realUserToken()) as object;
        return bearer(`${h}.${header({ ...payload, role: 'admin' })}.${s}`);
      },
    ],
    [
      'a token without exp',
      () =>
        bearer(
          jwt.sign(
            { role: 'admin', email: 'a@b.c', sub: '7', iss: 'skyway-api-gateway', aud: 'skyway-api' },
            TEST_JWT_SECRET,
          ),
        ),
    ],
  ];

  it.each(attacks)(
    'refuses %s with 401 on /me, on bookings and on catalog writes',
    async (_name, headers) => {
      const h = headers();
      const before = upstream.received.length;
      for (const res of [
        await api().get('/api/v1/auth/me').set(h),
        await api().get('/api/v1/bookings').set(h),
        await api().post('/api/v1/flights').set(h).send({ flightNumber: 'AI101' }),
      ]) {
        expect(res.status).toBe(401);
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      }
      expect(upstream.received.length).toBe(before);
    },
  );

  it.each(attacks.slice(1))('refuses %s with 401 even on a public catalog GET', async (_name, headers) => {
    const res = await api().get('/api/v1/flights').set(headers());
    expect(res.status).toBe(401);
  });

  it('accepts a good token and the same catalog GET without any token', async () => {
    await api()
      .get('/api/v1/auth/me')
      .set(bearer(mintToken({ sub: '999999' })))
      .expect(401); // deleted user
    await api().get('/api/v1/bookings').set(bearer(realUserToken())).expect(200);
    await api().get('/api/v1/flights').expect(200);
  });
});

describe('role checks on flight-service resources', () => {
  const customer = () => bearer(mintToken({ sub: '12', role: 'customer' }));
  const admin = () => bearer(mintToken({ sub: '1', role: 'admin' }));

  it.each(['cities', 'airports', 'airplanes', 'flights'])(
    '%s: reads are public, writes are admin only',
    async (name) => {
      await api().get(`/api/v1/${name}`).expect(200);
      await api().get(`/api/v1/${name}/1`).set(customer()).expect(200);
      for (const method of ['post', 'patch', 'put', 'delete'] as const) {
        const path = method === 'post' ? `/api/v1/${name}` : `/api/v1/${name}/1`;
        await api()[method](path).send({}).expect(401);
        await api()[method](path).set(customer()).send({}).expect(403);
        const ok = await api()[method](path).set(admin()).send({});
        expect(ok.status).toBe(200);
        expect(ok.body).toMatchObject({ method: method.toUpperCase(), url: path });
        expect(ok.body.headers['x-user-role']).toBe('admin');
      }
    },
  );

  it('bookings and payments need a signed-in user, any role', async () => {
    await api().get('/api/v1/bookings').expect(401);
    await api().post('/api/v1/payments').send({}).expect(401);
    const res = await api().post('/api/v1/payments').set(customer()).send({ bookingId: 1, amount: 100 });
    expect(res.status).toBe(200);
    expect(res.body.headers['x-user-id']).toBe('12');
  });
});
