import type { RequestHandler, Response } from 'express';
import { forbidden, unauthorized, type HttpProblem, type Identity } from '@skyway/common';
import { InvalidTokenError, type TokenService } from '../domain/tokens';

/** What the Authorization header proved: nothing, an identity, or why it was refused. */
export interface Caller {
  identity?: Identity;
  refused?: HttpProblem;
}

const BEARER = /^Bearer\s+([A-Za-z0-9._~+/=-]+)\s*$/i;

/**
 * Reads the bearer token once, before the rate limiter (which keys on the user id), without failing:
 * whether a refused token matters is up to the route's guard.
 */
export function readCaller(tokens: TokenService): RequestHandler {
  return (req, res, next) => {
    const header = req.get('authorization');
    let caller: Caller = {};
    if (header !== undefined) {
      const match = BEARER.exec(header);
      if (!match) {
        caller = { refused: unauthorized('The Authorization header must be "Bearer <token>"') };
      } else {
        try {
          caller = { identity: tokens.verify(match[1]) };
        } catch (err) {
          if (!(err instanceof InvalidTokenError)) throw err;
          caller = { refused: unauthorized(err.message) };
        }
      }
    }
    res.locals.caller = caller;
    next();
  };
}

export const callerOf = (res: Response): Caller => (res.locals.caller as Caller | undefined) ?? {};

/** The verified identity, or a 401 problem (missing or refused token). */
export function signedIn(res: Response): Identity {
  const { identity, refused } = callerOf(res);
  if (refused) throw refused;
  if (!identity) throw unauthorized('A signed-in user is required');
  return identity;
}

export const requireUser: RequestHandler = (_req, res, next) => {
  signedIn(res);
  next();
};

export const requireAdmin: RequestHandler = (_req, res, next) => {
  if (signedIn(res).role !== 'admin') throw forbidden('Only an admin may do this');
  next();
};

const READS = new Set(['GET', 'HEAD']);

/** Catalog reads are public (a token, when sent, must still be valid); every other method is admin only. */
export const catalogAccess: RequestHandler = (req, res, next) => {
  const { identity, refused } = callerOf(res);
  if (refused) throw refused;
  if (!READS.has(req.method)) {
    if (!identity) throw unauthorized('A signed-in admin is required');
    if (identity.role !== 'admin') throw forbidden('Only an admin may change the catalog');
  }
  next();
};
