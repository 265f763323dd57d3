import type { RequestHandler, Response } from 'express';
import type { Identity } from '@skyway/common';
import type { Accounts } from '../app/accounts';
import { checkCatalogAccess } from '../domain/catalog';
import { Refused, type Refusal } from '../domain/refusals';
import { problemFor } from './problems';

/**
 * How old a stored-role read may be when it decides a proxied request of a token that claims admin. It
 * saves a query per request for an admin at work; a demotion made on another replica or straight in the
 * database reaches those routes within this time (one made through this gateway's role route at once).
 */
export const ADMIN_ROLE_MAX_AGE_MS = 2000;

/** What the Authorization header proved: nothing, an identity, or why it was refused. */
export interface Caller {
  identity?: Identity;
  refused?: Refusal;
}

const BEARER = /^Bearer\s+([A-Za-z0-9._~+/=-]+)\s*$/i;

/**
 * Reads the bearer token once, before the rate limiter (which keys on the user id), without failing:
 * whether a refused token matters is up to the route's guard.
 */
export function readCaller(accounts: Pick<Accounts, 'identify'>): RequestHandler {
  return (req, res, next) => {
    const header = req.get('authorization');
    let caller: Caller = {};
    if (header !== undefined) {
      const match = BEARER.exec(header);
      if (!match) {
        caller = { refused: { code: 'bad-authorization-header' } };
      } else {
        try {
          caller = { identity: accounts.identify(match[1]) };
        } catch (err) {
          if (!(err instanceof Refused)) throw err;
          caller = { refused: err.refusal };
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
  if (refused) throw problemFor(refused);
  if (!identity) throw problemFor({ code: 'not-signed-in' });
  return identity;
}

export const requireUser: RequestHandler = (_req, res, next) => {
  signedIn(res);
  next();
};

/**
 * Admin-only routes of the gateway itself: the token must claim admin (no query otherwise), and the role
 * stored now must still be admin, read fresh from the users table, so a demoted admin's old token is a 403.
 */
export function requireAdmin(accounts: Pick<Accounts, 'confirmAdmin'>): RequestHandler {
  return async (_req, res, next) => {
    await accounts.confirmAdmin(signedIn(res));
    next();
  };
}

/**
 * For a token that claims admin, replaces the claim with the role stored now (a read at most
 * ADMIN_ROLE_MAX_AGE_MS old) before any guard or the X-User-Role header sees it, so a demoted admin is a
 * customer to the catalog guard and to the services; an account that no longer exists is a 401.
 */
export function confirmAdminClaim(
  accounts: Pick<Accounts, 'actingAs'>,
  maxAgeMs = ADMIN_ROLE_MAX_AGE_MS,
): RequestHandler {
  return async (_req, res, next) => {
    const { identity } = callerOf(res);
    if (!identity) return next();
    const acting = await accounts.actingAs(identity, maxAgeMs);
    if (acting !== identity) res.locals.caller = { identity: acting };
    next();
  };
}

/** Catalog reads are public (a token, when sent, must still be valid); every other method is admin only. */
export const catalogAccess: RequestHandler = (req, res, next) => {
  const { identity, refused } = callerOf(res);
  if (refused) throw problemFor(refused);
  checkCatalogAccess(req.method, identity);
  next();
};
