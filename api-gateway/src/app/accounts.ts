import type { Identity, Role } from '@skyway/common';
import { SemaphoreFullError } from '../clients/semaphore';
import type { PasswordHasher } from '../clients/password-hasher';
import type { TokenSigner } from '../clients/token-signer';
import type { UsersStore } from '../db/users-store';
import {
  adminAtStart,
  newAccount,
  normalizeEmail,
  signInOutcome,
  type SignUpInput,
  type User,
} from '../domain/accounts';
import { Refused } from '../domain/refusals';
import {
  changeRole,
  claimNeedsStoredRole,
  requireAdminClaim,
  requireStoredAdmin,
  withStoredRole,
} from '../domain/roles';
import { claimsFor, identityFromClaims, type IssuedToken } from '../domain/tokens';
import { StoredRoles } from './stored-roles';

export type AdminOutcome = 'created' | 'promoted' | 'kept';

export interface AccountsDeps {
  users: UsersStore;
  passwords: PasswordHasher;
  tokens: TokenSigner;
}

/**
 * The gateway's use cases: sign-up, sign-in, the caller's own account, role changes, the admin at
 * start, and who a token's bearer is. Decisions come from domain/, effects from the store and clients;
 * every refusal is thrown as {@link Refused}.
 */
export class Accounts {
  private readonly users: UsersStore;
  private readonly passwords: PasswordHasher;
  private readonly tokens: TokenSigner;
  private readonly roles: StoredRoles;

  constructor({ users, passwords, tokens }: AccountsDeps) {
    this.users = users;
    this.passwords = passwords;
    this.tokens = tokens;
    this.roles = new StoredRoles(users);
  }

  /** Refused `signup-queue-full` before any work when too many sign-ups already wait for their hash. */
  async signUp(input: SignUpInput, role: Role = 'customer'): Promise<User> {
    const account = newAccount(input, role);
    let passwordHash: string;
    try {
      passwordHash = await this.passwords.hash(input.password);
    } catch (err) {
      if (err instanceof SemaphoreFullError) throw new Refused({ code: 'signup-queue-full' });
      throw err;
    }
    const user = await this.users.insert(account, passwordHash);
    if (user === 'email-taken') throw new Refused({ code: 'email-taken' });
    return user;
  }

  /** The user when the email and password match; undefined otherwise (no hint which one was wrong). */
  async authenticate(email: string, password: string): Promise<User | undefined> {
    try {
      return await this.checkCredentials(email, password);
    } catch (err) {
      if (err instanceof Refused) return undefined;
      throw err;
    }
  }

  async signIn(email: string, password: string): Promise<IssuedToken> {
    const user = await this.checkCredentials(email, password);
    const token = this.tokens.sign(claimsFor(user));
    return { token, tokenType: 'Bearer', expiresIn: this.tokens.lifetimeSeconds };
  }

  private async checkCredentials(email: string, password: string): Promise<User> {
    const user = await this.users.findByEmail(normalizeEmail(email));
    // An unknown email still costs one compare (against a dummy hash): timing tells nothing.
    const matches = await this.passwords.matches(password, user?.passwordHash);
    return signInOutcome(user, matches);
  }

  /** The caller's own account as stored now. */
  async me(userId: number): Promise<User> {
    const user = await this.users.findById(userId);
    if (!user) throw new Refused({ code: 'account-gone' });
    return user;
  }

  /** Who a bearer token proves the caller is. */
  identify(token: string): Identity {
    const verified = this.tokens.verify(token);
    if ('failure' in verified) {
      throw new Refused({ code: verified.failure === 'expired' ? 'token-expired' : 'token-invalid' });
    }
    const identity = identityFromClaims(verified.payload);
    if (!identity) throw new Refused({ code: 'token-invalid' });
    return identity;
  }

  /** The gateway's own admin actions: the claim must be admin (no query otherwise), and so the role stored now. */
  async confirmAdmin(caller: Identity): Promise<void> {
    requireAdminClaim(caller);
    requireStoredAdmin(await this.roles.current(caller.userId));
  }

  /**
   * Who a proxied request acts as: a claim of admin is replaced by the role stored now (a read at most
   * `maxAgeMs` old); a claim of customer is taken as it is, without a query.
   */
  async actingAs(caller: Identity, maxAgeMs: number): Promise<Identity> {
    if (!claimNeedsStoredRole(caller)) return caller;
    return withStoredRole(caller, await this.roles.current(caller.userId, maxAgeMs));
  }

  /** A promotion takes effect from the user's next sign-in, a demotion at once (see {@link actingAs}). */
  async changeRole(userId: number, role: Role): Promise<User> {
    const found = await this.users.findById(userId);
    if (!found) throw new Refused({ code: 'user-not-found', userId });
    const { user, changed } = changeRole(found, role);
    if (changed) await this.users.setRole(userId, role);
    this.roles.forget(userId);
    return user;
  }

  /** Makes sure the configured admin exists, with the admin role; its password is set only when created. */
  async ensureAdmin(email: string, password: string): Promise<AdminOutcome> {
    const existing = await this.users.findByEmail(normalizeEmail(email));
    const step = adminAtStart(existing);
    if (step === 'create' || !existing) {
      try {
        await this.signUp({ email, password, name: 'Administrator' }, 'admin');
        return 'created';
      } catch (err) {
        // Another replica created it at the same moment: look again and treat it as existing.
        if (!(err instanceof Refused && err.refusal.code === 'email-taken')) throw err;
        return this.ensureAdmin(email, password);
      }
    }
    if (step === 'keep') return 'kept';
    await this.users.setRole(existing.id, 'admin');
    this.roles.forget(existing.id);
    return 'promoted';
  }
}
