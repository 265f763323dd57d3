import type { Sequelize } from 'sequelize';
import { isCheckConstraintError, withConnection } from '@skyway/common';

/**
 * Every new seat hold is guarded by the database: its UPDATE of the flight row writes −1 when the row is no longer as
 * the hold was decided on (or too few seats are left), and the row's CHECK (availableSeats >= 0) refuses it, rolling
 * the hold back (reservations-store.ts). A server that parses CHECK constraints but does not enforce them (MySQL
 * before 8.0.16, MariaDB before 10.2.1, or MariaDB with `check_constraint_checks` off) would commit that −1 with the
 * hold's seats instead: a negative seat count, and seats held on a map that has since changed. flight-service
 * therefore refuses to start on such a server.
 */
export class CheckConstraintsNotEnforced extends Error {
  override name = 'CheckConstraintsNotEnforced';
}

export type CheckProbe =
  | { enforced: boolean; how: 'probe' }
  /** The probe table could not be created (no CREATE TEMPORARY TABLES privilege): decided from the version. */
  | { enforced: boolean; how: 'version'; version: string; probeError: string };

/** Whether a server of this `SELECT VERSION()` enforces CHECK constraints (by its release notes). */
export function versionEnforcesChecks(version: string): boolean {
  const [major = 0, minor = 0, patch = 0] = (/^(\d+)\.(\d+)\.(\d+)/.exec(version) ?? []).slice(1).map(Number);
  const atLeast = (a: number, b: number, c: number) =>
    major !== a ? major > a : minor !== b ? minor > b : patch >= c;
  return /mariadb/i.test(version) ? atLeast(10, 2, 1) : atLeast(8, 0, 16);
}

const PROBE = 'skyway_check_probe';

/**
 * Asks the server itself, on one connection: a temporary table with a CHECK (n >= 0) and a row that breaks it. The
 * INSERT must fail with the CHECK's own error (MariaDB 4025, MySQL 3819). Temporary tables are private to the
 * connection and never replicated (Galera included).
 */
export async function probeCheckConstraints(sequelize: Sequelize): Promise<CheckProbe> {
  return withConnection(sequelize, async (run) => {
    try {
      await run(`CREATE TEMPORARY TABLE ${PROBE} (n INT NOT NULL, CONSTRAINT ${PROBE}_n CHECK (n >= 0))`);
    } catch (err) {
      const [row] = (await run('SELECT VERSION() AS version')) as Array<{ version: string }>;
      return {
        enforced: versionEnforcesChecks(row.version),
        how: 'version',
        version: row.version,
        probeError: (err as Error).message,
      };
    }
    try {
      await run(`INSERT INTO ${PROBE} (n) VALUES (-1)`);
      return { enforced: false, how: 'probe' };
    } catch (err) {
      if (isCheckConstraintError(err)) return { enforced: true, how: 'probe' };
      throw err;
    } finally {
      await run(`DROP TEMPORARY TABLE IF EXISTS ${PROBE}`);
    }
  });
}

/** Throws CheckConstraintsNotEnforced, naming the fix, unless the server enforces CHECK constraints. */
export async function assertCheckConstraintsEnforced(sequelize: Sequelize): Promise<CheckProbe> {
  const probe = await probeCheckConstraints(sequelize);
  if (!probe.enforced) {
    throw new CheckConstraintsNotEnforced(
      'this database does not enforce CHECK constraints, and every seat hold relies on one (flights.availableSeats >= 0) ' +
        'to refuse a hold decided on a flight row that has changed: use MySQL 8.0.16+ or MariaDB 10.2.1+, with ' +
        '`check_constraint_checks` on (MariaDB)' +
        (probe.how === 'version' ? ` (decided from VERSION() ${probe.version}: ${probe.probeError})` : ''),
    );
  }
  return probe;
}
