import express, { Router, type RequestHandler } from 'express';
import { BODY_LIMIT_BYTES, validate } from '@skyway/common';
import type { Accounts } from '../app/accounts';
import { requireAdmin, signedIn } from './identity';
import { refusalsAsProblems } from './problems';
import { roleBody, signInBody, signUpBody, userIdParam } from './schemas';

export interface AuthRouteDeps {
  accounts: Pick<Accounts, 'signUp' | 'signIn' | 'me' | 'confirmAdmin' | 'changeRole'>;
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

/** Identity routes. Only these parse JSON bodies: everything else streams through the proxy untouched. */
export function authRoutes({ accounts, signinLimiter, signupLimiter }: AuthRouteDeps): Router {
  const router = Router();
  router.use('/api/v1/auth', express.json({ limit: BODY_LIMIT_BYTES }));

  router.post('/api/v1/auth/signup', signupLimiter, async (req, res) => {
    const body = validate(signUpBody, req.body ?? {}, 'body');
    const user = await accounts.signUp(body);
    res.status(201).location(OWN_ACCOUNT_PATH).json(user);
  });

  router.post('/api/v1/auth/signin', signinLimiter, async (req, res) => {
    const body = validate(signInBody, req.body ?? {}, 'body');
    res.json(await accounts.signIn(body.email, body.password));
  });

  router.get('/api/v1/auth/me', async (_req, res) => {
    res.json(await accounts.me(signedIn(res).userId));
  });

  router.patch('/api/v1/auth/users/:id/role', requireAdmin(accounts), async (req, res) => {
    const { id } = validate(userIdParam, req.params, 'path');
    const { role } = validate(roleBody, req.body ?? {}, 'body');
    res.json(await accounts.changeRole(id, role));
  });

  router.use(refusalsAsProblems);
  return router;
}
