import { ADMIN, INTERNAL_TOKEN, JWT_SECRET, call, startStack, type Stack, type StackOptions } from './stack';

/**
 * One stack per test file, and the helpers every file that drives it through the gateway shares. Jest gives
 * each test file its own copy of this module, so `stack` is the stack of the file that called `useStack`.
 */
export let stack: Stack;

const finalChecks: Array<() => unknown> = [];

/** Starts the stack before the file's tests (with these variables on top of the defaults), stops it after. */
export function useStack(extraEnv: Partial<Record<string, string>> = {}, options: StackOptions = {}): void {
  beforeAll(async () => {
    stack = await startStack(extraEnv, options);
  }, 120_000);
  afterAll(async () => {
    try {
      if (stack) for (const check of finalChecks) await check();
    } finally {
      await stack?.stop();
    }
  });
}

/** Runs `check` after the file's last test, while the stack still runs; a failure fails the file. */
export function checkAfterAll(check: () => unknown): void {
  finalChecks.push(check);
}

export type CallOptions = Parameters<typeof call>[3];
export type CallResult = Awaited<ReturnType<typeof call>>;
type ResponseObserver = (method: string, path: string, res: CallResult) => void;
const observers: ResponseObserver[] = [];

/** Has `observer` see every response `gw` gets (e.g. to check it against the OpenAPI document). */
export function onGatewayResponse(observer: ResponseObserver): void {
  observers.push(observer);
}

/** `call` against this file's gateway. */
export const gw = async (method: string, path: string, opts: CallOptions = {}): Promise<CallResult> => {
  const res = await call(stack.gateway, method, path, opts);
  for (const observe of observers) observe(method, path, res);
  return res;
};

/** Every genuine secret the helpers handle (tests add their own); none may ever appear in a log line. */
export const secrets = new Set<string>([JWT_SECRET, INTERNAL_TOKEN, ADMIN.password]);

export async function adminToken(): Promise<string> {
  const res = await gw('POST', '/api/v1/auth/signin', { body: ADMIN });
  expect(res.status).toBe(200);
  secrets.add(res.body.token);
  return res.body.token;
}

/** A query on MariaDB (no default database: name tables as `${db('flights')}.flights`). */
export async function rows<T>(sql: string, params: unknown[] = []): Promise<T[]> {
  const [result] = await stack.db.query(sql, params);
  return result as T[];
}

/** A service's database, quoted: `db('bookings')`. */
export const db = (name: string) => `\`${stack.prefix}${name}\``;
