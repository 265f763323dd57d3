import type { Role } from '@skyway/common';
import { Refused } from './refusals';

/** An account as the API shows it: never its password hash. */
export interface User {
  id: number;
  email: string;
  name: string | null;
  role: Role;
}

/** An account with what sign-in checks against. */
export interface StoredUser extends User {
  passwordHash: string;
}

export interface SignUpInput {
  email: string;
  password: string;
  name?: string;
}

/** What a sign-up stores, password aside (it exists only as its hash). */
export type NewAccount = Omit<User, 'id'>;

export const normalizeEmail = (email: string) => email.trim().toLowerCase();

export const PASSWORD_MIN_CHARS = 8;
/** bcrypt reads only the first 72 bytes: a longer password is refused rather than silently shortened. */
export const PASSWORD_MAX_BYTES = 72;
export const passwordFitsHash = (password: string) => Buffer.byteLength(password) <= PASSWORD_MAX_BYTES;

/** The account a sign-up creates: emails are compared in their normalised form. */
export function newAccount(input: SignUpInput, role: Role = 'customer'): NewAccount {
  return { email: normalizeEmail(input.email), name: input.name ?? null, role };
}

/** Unknown email and wrong password are one and the same refusal, so neither tells which emails exist. */
export function signInOutcome(user: StoredUser | undefined, passwordMatches: boolean): User {
  if (!user || !passwordMatches) throw new Refused({ code: 'bad-credentials' });
  return accountView(user);
}

export const accountView = (u: User): User => ({ id: u.id, email: u.email, name: u.name, role: u.role });

export type AdminStep = 'create' | 'promote' | 'keep';

/**
 * The configured admin at start: created when missing; an existing account keeps its password (a restart
 * or a replica with other settings must never change credentials) but is given the admin role back.
 */
export function adminAtStart(existing: User | undefined): AdminStep {
  if (!existing) return 'create';
  return existing.role === 'admin' ? 'keep' : 'promote';
}
