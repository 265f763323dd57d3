import { checkAfterAll, gw, secrets, stack, useStack } from './use-stack';

/** Short enough that the slow-client tests finish quickly, long enough for any honest request here. */
export const HEADERS_TIMEOUT_MS = 1500;
export const REQUEST_TIMEOUT_MS = 3000;

/** The stack the security tests attack: debug logging (to look for secrets in it) and short HTTP timeouts. */
export function useSecurityStack(): void {
  useStack({
    LOG_LEVEL: 'debug',
    HTTP_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
    HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
    BOOKING_TTL_SECONDS: '600',
  });
  // Every file's debug logs, not only those of the requests 'secrets never reach a log line' makes (that test is
  // in security-identity.test.ts; before the split it read the logs of all these attacks).
  checkAfterAll(() =>
    expect(stack.logs.filter((line) => [...secrets].some((secret) => line.includes(secret)))).toEqual([]),
  );
}

export interface User {
  id: number;
  email: string;
  password: string;
  token: string;
}

let serial = 0;
/** A new customer, signed in; their password and token are added to `secrets`. */
export async function newUser(tag: string): Promise<User> {
  const email = `${tag}.${Date.now()}.${serial++}@example.com`;
  const password = `pw-${tag}-${Math.random().toString(36).slice(2)}-secret`;
  secrets.add(password);
  const signup = await gw('POST', '/api/v1/auth/signup', { body: { email, password, name: tag } });
  expect(signup.status).toBe(201);
  const signin = await gw('POST', '/api/v1/auth/signin', { body: { email, password } });
  expect(signin.status).toBe(200);
  secrets.add(signin.body.token);
  return { id: signup.body.id, email, password, token: signin.body.token };
}

export function expectProblem(
  res: { status: number; headers: Headers; body: unknown },
  status: number,
  what = '',
) {
  expect({ what, status: res.status }).toEqual({ what, status });
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ status, type: expect.any(String), title: expect.any(String) });
}

/** The cheapest demo flight from DEL to BOM with seats for `travellers`. */
export async function aFlight(
  travellers = 1,
): Promise<{ id: number; price: number; availableSeats: number }> {
  const res = await gw('GET', `/api/v1/flights?trips=DEL-BOM&travellers=${travellers}&sort=price_ASC`);
  expect(res.status).toBe(200);
  return res.body.data[0];
}
