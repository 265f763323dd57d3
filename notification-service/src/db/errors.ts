const DB_DOWN_NAMES = new Set([
  'SequelizeConnectionError',
  'SequelizeConnectionRefusedError',
  'SequelizeConnectionTimedOutError',
  'SequelizeHostNotReachableError',
  'SequelizeAccessDeniedError',
  'SequelizeConnectionAcquireTimeoutError',
  'ConnectionAcquireTimeoutError',
]);
const DB_DOWN_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'PROTOCOL_CONNECTION_LOST',
  'EPIPE',
]);

/** True when the error says the database could not be reached (as opposed to a bad statement). */
export function isDatabaseDown(err: unknown): boolean {
  const e = err as { name?: string; code?: string; parent?: { code?: string }; original?: { code?: string } };
  if (e?.name && DB_DOWN_NAMES.has(e.name)) return true;
  const code = e?.parent?.code ?? e?.original?.code ?? e?.code;
  return typeof code === 'string' && DB_DOWN_CODES.has(code);
}
