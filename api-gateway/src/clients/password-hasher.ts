import bcrypt from 'bcrypt';
import { Semaphore } from './semaphore';

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
  /** Sign-up hashes allowed to wait for a slot; one more is refused (SemaphoreFullError). */
  hashMaxWaiting: number;
  /** Sign-in compares at once (sign-ins wait in line without a bound, as they always did). */
  compareConcurrency: number;
}

export const DEFAULT_BCRYPT_BUDGET: BcryptBudget = {
  hashConcurrency: 1,
  hashMaxWaiting: 50,
  compareConcurrency: 2,
};

/** bcrypt hashing and comparing, each within its budget. */
export class PasswordHasher {
  /** Compared against when there is no stored hash, so every sign-in costs one bcrypt compare. */
  private readonly dummyHash: Promise<string>;
  private readonly hashing: Semaphore;
  private readonly comparing: Semaphore;

  constructor(
    private readonly rounds: number,
    budget: BcryptBudget = DEFAULT_BCRYPT_BUDGET,
  ) {
    this.hashing = new Semaphore(budget.hashConcurrency, budget.hashMaxWaiting);
    this.comparing = new Semaphore(budget.compareConcurrency);
    this.dummyHash = this.hash('no-such-user-placeholder');
  }

  /** Throws SemaphoreFullError, before any work, when too many hashes already wait for their turn. */
  hash(password: string): Promise<string> {
    return this.hashing.run(() => bcrypt.hash(password, this.rounds));
  }

  /** Whether `password` matches `hash`; without a hash it compares against a dummy one and says no. */
  async matches(password: string, hash: string | undefined): Promise<boolean> {
    const against = hash ?? (await this.dummyHash);
    const matches = await this.comparing.run(() => bcrypt.compare(password, against));
    return hash !== undefined && matches;
  }
}
