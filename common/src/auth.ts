import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import { unauthorized } from './problem';

export const INTERNAL_TOKEN_HEADER = 'x-internal-token';
export type Role = 'customer' | 'admin';

export interface Identity {
  userId: number;
  role: Role;
  email: string;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Constant-time comparison of two secrets of any length. */
export function secretsEqual(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

/**
 * Every route mounted after this answers 401 unless the request carries the shared internal token.
 * Services never trust identity headers that did not come with it.
 */
export function requireInternalToken(token: string): RequestHandler {
  return (req, _res, next) => {
    const sent = req.get(INTERNAL_TOKEN_HEADER);
    if (!sent || !secretsEqual(sent, token)) return next(unauthorized('A valid internal token is required'));
    next();
  };
}

/** Identity set by the gateway in X-User-* headers (only meaningful behind requireInternalToken). */
export function identityOf(req: Request): Identity | undefined {
  const id = req.get('x-user-id');
  const role = req.get('x-user-role');
  if (!id || !/^[1-9]\d{0,15}$/.test(id) || (role !== 'customer' && role !== 'admin')) return undefined;
  return { userId: Number(id), role, email: req.get('x-user-email') ?? '' };
}

/** The caller's identity, or a 401 problem. */
export function requireIdentity(req: Request): Identity {
  const who = identityOf(req);
  if (!who) throw unauthorized('A signed-in user is required');
  return who;
}
