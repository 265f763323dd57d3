import bcrypt from 'bcrypt';
import { UniqueConstraintError, type ModelStatic } from 'sequelize';
import { conflict, HttpProblem, type Role } from '@skyway/common';
import type { User } from '../db/models';
import { Semaphore } from './semaphore';

export interface UserView {
  id: number;
  email: string;
  name: string | null;
  role: Role;
}

export interface NewUser {
  email: string;
  password: string;
  name?: string;
}

export type AdminOutcome = 'created' | 'promoted' | 'kept';

export const normalizeEmail = (email: string) => email.trim().toLowerCase();

const view = (u: User): UserView => ({ id: u.id, email: u.email, name: u.name, role: u.role });

/**
 * How much bcrypt work runs at once. bcrypt runs on libuv's thread pool (4 threads unless
 * UV_THREADPOOL_SIZE says otherwise), which serves its queue first come, first served: unbounded, a burst
 * of sign-ups filled it and every sign-in compare waited behind the queued hashes (165 ms became 4–5 s).
 * Sign-ups hash one at a time and sign-ins compare two at a time, each in a budget of its own: together
 * they stay below the pool's size, so a sign-in never waits for a sign-up's hash, only for other sign-ins.
 */
export interface BcryptBudget {
  /** Sign-up (and admin creation) hashes at once. */
  hashConcurrency: number;
  /** Sign-up hashes allowed to wait for a slot; one more is refused (SemaphoreFullError → 503). */
  hashMaxWaiting: number;
  /** Sign-in compares at once (sign-ins wait in line without a bound, as they always did). */
  compareConcurrency: number;
}

export const DEFAULT_BCRYPT_BUDGET: BcryptBudget = {
  hashConcurrency: 1,
  hashMaxWaiting: 50,
  compareConcurrency: 2,
};

/** Roles read for tokens that claim admin, with when they were read (see {@link UserDirectory.currentRole}). */
interface RoleRead {
  at: number;
  role: Promise<Role | undefined>;
}

/** A bound on the role memo; admins are few, and reaching it only clears the memo (it saves queries, no more). */
const MAX_REMEMBERED_ROLES = 1000;

/** Accounts: sign-up, credential checks, roles. Passwords exist only as bcrypt hashes. */
export class UserDirectory {
  /** Compared against when the email is unknown, so both failures cost one bcrypt compare. */
  private readonly dummyHash: Promise<string>;
  private readonly hashing: Semaphore;
  private readonly comparing: Semaphore;
  private readonly roles = new Map<number, RoleRead>();

  constructor(
    private readonly users: ModelStatic<User>,
    private readonly bcryptRounds: number,
    budget: BcryptBudget = DEFAULT_BCRYPT_BUDGET,
  ) {
    this.hashing = new Semaphore(budget.hashConcurrency, budget.hashMaxWaiting);
    this.comparing = new Semaphore(budget.compareConcurrency);
    this.dummyHash = this.hash('no-such-user-placeholder');
  }

  private hash(password: string): Promise<string> {
    return this.hashing.run(() => bcrypt.hash(password, this.bcryptRounds));
  }

  /** Throws SemaphoreFullError, before any work, when too many sign-ups already wait to be hashed. */
  async signUp(input: NewUser, role: Role = 'customer'): Promise<UserView> {
    const passwordHash = await this.hash(input.password);
    try {
      const user = await this.users.create({
        email: normalizeEmail(input.email),
        name: input.name ?? null,
        passwordHash,
        role,
      });
      return view(user);
    } catch (err) {
      if (err instanceof UniqueConstraintError) throw conflict('An account with this email already exists');
      throw err;
    }
  }

  /** The user when the email and password match; undefined otherwise (no hint which one was wrong). */
  async authenticate(email: string, password: string): Promise<UserView | undefined> {
    const user = await this.users.findOne({ where: { email: normalizeEmail(email) } });
    const hash = user?.passwordHash ?? (await this.dummyHash);
    const matches = await this.comparing.run(() => bcrypt.compare(password, hash));
    return user && matches ? view(user) : undefined;
  }

  async find(id: number): Promise<UserView | undefined> {
    const user = await this.users.findByPk(id);
    return user ? view(user) : undefined;
  }

  /**
   * The role stored for the user now (undefined when the account no longer exists). With `maxAgeMs`, a
   * read at most that old may answer instead (concurrent callers share one query); 0 always reads the table.
   * A role changed through {@link changeRole} is forgotten at once; a change made elsewhere (another
   * replica, straight in the database) is seen after at most `maxAgeMs`.
   */
  async currentRole(id: number, maxAgeMs = 0): Promise<Role | undefined> {
    const now = Date.now();
    const known = this.roles.get(id);
    if (maxAgeMs > 0 && known && now - known.at <= maxAgeMs) return known.role;
    const read: RoleRead = {
      at: now,
      role: this.users.findByPk(id, { attributes: ['id', 'role'] }).then((u) => u?.role ?? undefined),
    };
    if (this.roles.size >= MAX_REMEMBERED_ROLES) this.roles.clear();
    this.roles.set(id, read);
    // A failed read is not remembered: the next caller tries again.
    read.role.catch(() => {
      if (this.roles.get(id) === read) this.roles.delete(id);
    });
    return read.role;
  }

  /**
   * Tokens carry the role they were issued with; a promotion takes effect from the user's next sign-in,
   * a demotion at once wherever the gateway checks the stored role of a token that claims admin.
   */
  async changeRole(id: number, role: Role): Promise<UserView | undefined> {
    const user = await this.users.findByPk(id);
    if (!user) return undefined;
    if (user.role !== role) await user.update({ role });
    this.roles.delete(id);
    return view(user);
  }

  /**
   * Makes sure the configured admin exists. An existing account keeps its password (a restart or a
   * replica with other settings must never change credentials) but is given the admin role back.
   */
  async ensureAdmin(email: string, password: string): Promise<AdminOutcome> {
    const existing = await this.users.findOne({ where: { email: normalizeEmail(email) } });
    if (!existing) {
      try {
        await this.signUp({ email, password, name: 'Administrator' }, 'admin');
        return 'created';
      } catch (err) {
        // Another replica created it at the same moment: fall through and treat it as existing.
        if (!(err instanceof HttpProblem && err.status === 409)) throw err;
        return this.ensureAdmin(email, password);
      }
    }
    if (existing.role === 'admin') return 'kept';
    await existing.update({ role: 'admin' });
    this.roles.delete(existing.id);
    return 'promoted';
  }
}
