import { createSequelize, dropDatabase, ensureDatabase, withConnection } from '@skyway/common';
import { testDbServer, uniquePrefix } from '@skyway/common/testing';
import {
  assertCheckConstraintsEnforced,
  CheckConstraintsNotEnforced,
  probeCheckConstraints,
  versionEnforcesChecks,
} from '../src/db/check-constraints';

/**
 * flight-service refuses to start on a server that does not enforce CHECK constraints: every seat hold's guard is
 * one (a failed guard writes availableSeats = −1, which the CHECK must refuse). MariaDB can be told not to enforce
 * them per session (`check_constraint_checks = 0`), which stands in here for MySQL 5.7 and MariaDB 10.1.
 */
describe('CHECK constraints enforced, or flight-service does not start', () => {
  const dbName = `${uniquePrefix('chk')}flights`;
  beforeAll(() => ensureDatabase(testDbServer(), dbName));
  afterAll(() => dropDatabase(testDbServer(), dbName));
  test('on this MariaDB the probe row is refused by its CHECK', async () => {
    const db = createSequelize(testDbServer(), dbName, { poolMax: 1 });
    try {
      expect(await probeCheckConstraints(db)).toEqual({ enforced: true, how: 'probe' });
      await expect(assertCheckConstraintsEnforced(db)).resolves.toEqual({ enforced: true, how: 'probe' });
      // The probe leaves nothing behind on the pooled connection: it can run again.
      expect(await probeCheckConstraints(db)).toEqual({ enforced: true, how: 'probe' });
    } finally {
      await db.close();
    }
  });

  test('a server that accepts a row its CHECK forbids is refused, with the fix named', async () => {
    const db = createSequelize(testDbServer(), dbName, { poolMax: 1 });
    try {
      // One pooled connection: the probe runs on the session that no longer enforces CHECKs.
      await withConnection(db, (run) => run('SET SESSION check_constraint_checks = 0'));
      expect(await probeCheckConstraints(db)).toEqual({ enforced: false, how: 'probe' });
      const refused = assertCheckConstraintsEnforced(db);
      await expect(refused).rejects.toBeInstanceOf(CheckConstraintsNotEnforced);
      await expect(assertCheckConstraintsEnforced(db)).rejects.toThrow(
        /does not enforce CHECK constraints.*MySQL 8\.0\.16\+ or MariaDB 10\.2\.1\+/,
      );
    } finally {
      await db.close();
    }
  });

  test('without the privilege for the probe table, the version decides (and says so)', async () => {
    // No one may create tables in information_schema: the probe cannot, and falls back on VERSION().
    const db = createSequelize(testDbServer(), 'information_schema', { poolMax: 1 });
    try {
      expect(await probeCheckConstraints(db)).toEqual({
        enforced: true,
        how: 'version',
        version: expect.stringMatching(/MariaDB/),
        probeError: expect.stringMatching(/denied/),
      });
    } finally {
      await db.close();
    }
  });

  test('the versions that enforce CHECK constraints', () => {
    expect(versionEnforcesChecks('10.11.6-MariaDB-0+deb12u1')).toBe(true);
    expect(versionEnforcesChecks('10.2.1-MariaDB')).toBe(true);
    expect(versionEnforcesChecks('10.2.0-MariaDB')).toBe(false);
    expect(versionEnforcesChecks('10.1.48-MariaDB')).toBe(false);
    expect(versionEnforcesChecks('8.0.16')).toBe(true);
    expect(versionEnforcesChecks('8.4.3')).toBe(true);
    expect(versionEnforcesChecks('8.0.15')).toBe(false);
    expect(versionEnforcesChecks('5.7.44-log')).toBe(false);
    expect(versionEnforcesChecks('not a version')).toBe(false);
  });
});
