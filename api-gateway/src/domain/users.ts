import bcrypt from 'bcrypt';
import { UniqueConstraintError, type ModelStatic } from 'sequelize';
import { conflict, HttpProblem, type Role } from '@skyway/common';
import type { User } from '../db/models';

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

/** Accounts: sign-up, credential checks, roles. Passwords exist only as bcrypt hashes. */
export class UserDirectory {
  /** Compared against when the email is unknown, so both failures cost one bcrypt compare. */
  private readonly dummyHash: Promise<string>;

  constructor(
    private readonly users: ModelStatic<User>,
    private readonly bcryptRounds: number,
  ) {
    this.dummyHash = bcrypt.hash('no-such-user-placeholder', bcryptRounds);
  }

  async signUp(input: NewUser, role: Role = 'customer'): Promise<UserView> {
    const passwordHash = await bcrypt.hash(input.password, this.bcryptRounds);
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
    const matches = await bcrypt.compare(password, user?.passwordHash ?? (await this.dummyHash));
    return user && matches ? view(user) : undefined;
  }

  async find(id: number): Promise<UserView | undefined> {
    const user = await this.users.findByPk(id);
    return user ? view(user) : undefined;
  }

  /** Takes effect in tokens issued from the user's next sign-in. */
  async changeRole(id: number, role: Role): Promise<UserView | undefined> {
    const user = await this.users.findByPk(id);
    if (!user) return undefined;
    if (user.role !== role) await user.update({ role });
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
    return 'promoted';
  }
}
