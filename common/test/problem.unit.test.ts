import { toProblem } from '../src/problem';

/** A Sequelize error wrapping a mysql2 driver error, as a broken pooled connection raises it. */
function sequelizeError(code: string): Error {
  const err = new Error(`read ${code}`) as Error & { parent: { code: string }; original: { code: string } };
  err.name = 'SequelizeDatabaseError';
  err.parent = { code };
  err.original = { code };
  return err;
}

describe('toProblem: a database that went away mid-query', () => {
  test.each(['ECONNRESET', 'EPIPE', 'ECONNREFUSED', 'ETIMEDOUT', 'PROTOCOL_CONNECTION_LOST'])(
    'a query failing with %s is a 503 the client may retry, not a 500',
    (code) => {
      const p = toProblem(sequelizeError(code));
      expect(p.status).toBe(503);
      expect(p.message).toMatch(/database is unavailable/);
    },
  );

  test('a raw mysql2 error of a broken connection (fatal) is a 503 too', () => {
    const err = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET', fatal: true });
    expect(toProblem(err).status).toBe(503);
    // Not every error with a `code` is the database's: only the driver's fatal ones count.
    expect(toProblem(Object.assign(new Error('x'), { code: 'ECONNRESET' })).status).toBe(500);
  });

  test('a query that is itself wrong stays a 500', () => {
    expect(toProblem(sequelizeError('ER_PARSE_ERROR')).status).toBe(500);
  });
});
