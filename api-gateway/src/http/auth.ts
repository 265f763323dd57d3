import express, { Router, type RequestHandler } from 'express';
import { notFound, serviceUnavailable, unauthorized, validate } from '@skyway/common';
import { SemaphoreFullError } from '../domain/semaphore';
import type { TokenService } from '../domain/tokens';
import type { UserDirectory, UserView } from '../domain/users';
import { requireAdmin, signedIn } from './identity';
import { roleBody, signInBody, signUpBody, userIdParam } from './schemas';
import { BODY_LIMIT_BYTES } from './proxy';

export interface AuthRouteDeps {
  users: UserDirectory;
  tokens: TokenService;
  /** The stricter per-IP limit on sign-in attempts. */
  signinLimiter: RequestHandler;
  /** The per-IP limit on sign-up attempts. */
  signupLimiter: RequestHandler;
}

/**
 * Where a new account can be read: the API has no per-id user resource, only the signed-in user's own
 * (`GET /api/v1/auth/me`, after signing in), so that is what a sign-up's Location names.
 */
export const OWN_ACCOUNT_PATH = '/api/v1/auth/me';

/** Seconds a client is told to wait when too many sign-ups already wait for their password hash. */
const SIGNUP_BUSY_RETRY_AFTER_S = 5;

/** Identity routes. Only these parse JSON bodies: everything else streams through the proxy untouched. */
export function authRoutes({ users, tokens, signinLimiter, signupLimiter }: AuthRouteDeps): Router {
  const router = Router();
  router.use('/api/v1/auth', express.json({ limit: BODY_LIMIT_BYTES }));

  router.post('/api/v1/auth/signup', signupLimiter, async (req, res) => {
    const body = validate(signUpBody, req.body ?? {}, 'body');
    let user: UserView;
    try {
      user = await users.signUp(body);
    } catch (err) {
      if (!(err instanceof SemaphoreFullError)) throw err;
      res.set('Retry-After', String(SIGNUP_BUSY_RETRY_AFTER_S));
      throw serviceUnavailable('Too many sign-ups at once; retry after the number of seconds in Retry-After');
    }
    res.status(201).location(OWN_ACCOUNT_PATH).json(user);
  });

  router.post('/api/v1/auth/signin', signinLimiter, async (req, res) => {
    const body = validate(signInBody, req.body ?? {}, 'body');
    const user = await users.authenticate(body.email, body.password);
    if (!user) throw unauthorized('The email or password is wrong');
    res.json(tokens.issue(user));
  });

  router.get('/api/v1/auth/me', async (_req, res) => {
    const user = await users.find(signedIn(res).userId);
    if (!user) throw unauthorized('The account no longer exists');
    res.json(user);
  });

  router.patch('/api/v1/auth/users/:id/role', requireAdmin(users), async (req, res) => {
    const { id } = validate(userIdParam, req.params, 'path');
    const { role } = validate(roleBody, req.body ?? {}, 'body');
    const user = await users.changeRole(id, role);
    if (!user) throw notFound(`User ${id} does not exist`);
    res.json(user);
  });

  return router;
}
