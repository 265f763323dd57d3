import type { Identity, Role } from '@skyway/common';
import { Refused } from './refusals';

/**
 * Tokens carry the role they were issued with. Only a claim of admin is ever checked against the stored
 * role (claims of customer cost no query): a promotion applies from the next sign-in, a demotion at once.
 */
export const claimNeedsStoredRole = (identity: Identity) => identity.role === 'admin';

/** Whether the token's claim alone already rules out an admin action (checked before any query). */
export function requireAdminClaim(identity: Identity): void {
  if (identity.role !== 'admin') throw new Refused({ code: 'not-admin' });
}

/** An admin action of the gateway itself: the role stored now must still be admin. */
export function requireStoredAdmin(stored: Role | undefined): void {
  if (!stored) throw new Refused({ code: 'account-gone' });
  if (stored !== 'admin') throw new Refused({ code: 'no-longer-admin' });
}

/** The identity a proxied request acts as: the claim replaced by the stored role (a demoted admin is a customer). */
export function withStoredRole(identity: Identity, stored: Role | undefined): Identity {
  if (!stored) throw new Refused({ code: 'account-gone' });
  return stored === identity.role ? identity : { ...identity, role: stored };
}

/** A role change: the user as it is afterwards, and whether anything must be written. */
export function changeRole<U extends { role: Role }>(user: U, role: Role): { user: U; changed: boolean } {
  return { user: { ...user, role }, changed: user.role !== role };
}
