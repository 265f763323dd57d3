import type { RequestHandler, Response } from 'express';
import { forbidden, unauthorized, type HttpProblem, type Identity, type Role } from '@skyway/common';
import { InvalidTokenError, type TokenService } from '../domain/tokens';

/** Where the stored role is read (UserDirectory provides it). */
export interface RoleSource {
  currentRole(userId: number, maxAgeMs?: number): Promise<Role | undefined>;
}

/**
 * How old a stored-role read may be when it decides a proxied request of a token that claims admin. It
 * saves a query per request for an admin at work; a demotion made on another replica or straight in the
 * database reaches those routes within this time (one made through this gateway's role route at once).
 */
export const ADMIN_ROLE_MAX_AGE_MS = 2000;

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

const accountGone = () => unauthorized('The account no longer exists');

/**
 * Admin-only routes of the gateway itself: the token must claim admin (no query otherwise), and the role
 * stored now must still be admin, read fresh from the users table, so a demoted admin's old token is a 403.
 */
export function requireAdmin(roles: RoleSource): RequestHandler {
  return async (_req, res, next) => {
    const identity = signedIn(res);
    if (identity.role !== 'admin') throw forbidden('Only an admin may do this');
    const stored = await roles.currentRole(identity.userId);
    if (!stored) throw accountGone();
    if (stored !== 'admin') throw forbidden('Only an admin may do this; this account is no longer one');
    next();
  };
}

/**
 * For a token that claims admin, replaces the claim with the role stored now (a read at most
 * ADMIN_ROLE_MAX_AGE_MS old) before any guard or the X-User-Role header sees it, so a demoted admin is a
 * customer to the catalog guard and to the services; an account that no longer exists is a 401. Tokens
 * that claim customer pass untouched, without a query (a promotion applies from the next sign-in anyway).
 */
export function confirmAdminClaim(roles: RoleSource, maxAgeMs = ADMIN_ROLE_MAX_AGE_MS): RequestHandler {
  return async (_req, res, next) => {
    const { identity } = callerOf(res);
    if (identity?.role !== 'admin') return next();
    const stored = await roles.currentRole(identity.userId, maxAgeMs);
    if (!stored) throw accountGone();
    if (stored !== identity.role) res.locals.caller = { identity: { ...identity, role: stored } };
    next();
  };
}

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
