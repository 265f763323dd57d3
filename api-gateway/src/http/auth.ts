import express, { Router, type RequestHandler } from 'express';
import { notFound, unauthorized, validate } from '@skyway/common';
import type { TokenService } from '../domain/tokens';
import type { UserDirectory } from '../domain/users';
import { requireAdmin, signedIn } from './identity';
import { roleBody, signInBody, signUpBody, userIdParam } from './schemas';
import { BODY_LIMIT_BYTES } from './proxy';

export interface AuthRouteDeps {
  users: UserDirectory;
  tokens: TokenService;
  /** The stricter per-IP limit on sign-in attempts. */
  signinLimiter: RequestHandler;
}

/** Identity routes. Only these parse JSON bodies: everything else streams through the proxy untouched. */
export function authRoutes({ users, tokens, signinLimiter }: AuthRouteDeps): Router {
  const router = Router();
  router.use('/api/v1/auth', express.json({ limit: BODY_LIMIT_BYTES }));

  router.post('/api/v1/auth/signup', async (req, res) => {
    const body = validate(signUpBody, req.body ?? {}, 'body');
    res.status(201).json(await users.signUp(body));
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

  router.patch('/api/v1/auth/users/:id/role', requireAdmin, async (req, res) => {
    const { id } = validate(userIdParam, req.params, 'path');
    const { role } = validate(roleBody, req.body ?? {}, 'body');
    const user = await users.changeRole(id, role);
    if (!user) throw notFound(`User ${id} does not exist`);
    res.json(user);
  });

  return router;
}
