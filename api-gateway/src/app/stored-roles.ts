import type { Role } from '@skyway/common';
import type { UsersStore } from '../db/users-store';

interface RoleRead {
  at: number;
  role: Promise<Role | undefined>;
}

/** A bound on the memo; admins are few, and reaching it only clears the memo (it saves queries, no more). */
const MAX_REMEMBERED_ROLES = 1000;

/**
 * Stored roles read for tokens that claim admin, remembered with when they were read so that an admin at
 * work costs a query per `maxAgeMs`, not per request. Concurrent callers share one query.
 */
export class StoredRoles {
  private readonly roles = new Map<number, RoleRead>();

  constructor(private readonly users: Pick<UsersStore, 'roleOf'>) {}

  /**
   * The role stored for the user now (undefined when the account no longer exists). With `maxAgeMs`, a
   * read at most that old may answer instead; 0 always reads the table. A role changed through this
   * gateway is forgotten at once; a change made elsewhere is seen after at most `maxAgeMs`.
   */
  current(id: number, maxAgeMs = 0): Promise<Role | undefined> {
    const now = Date.now();
    const known = this.roles.get(id);
    if (maxAgeMs > 0 && known && now - known.at <= maxAgeMs) return known.role;
    const read: RoleRead = { at: now, role: this.users.roleOf(id) };
    if (this.roles.size >= MAX_REMEMBERED_ROLES) this.roles.clear();
    this.roles.set(id, read);
    // A failed read is not remembered: the next caller tries again.
    read.role.catch(() => {
      if (this.roles.get(id) === read) this.roles.delete(id);
    });
    return read.role;
  }

  forget(id: number): void {
    this.roles.delete(id);
  }
}
