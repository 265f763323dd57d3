import type { ErrorRequestHandler, Response } from 'express';
import { HttpProblem } from '@skyway/common';
import { Refused, type Refusal } from '../domain/refusals';

/** Refusals of the HTTP edge itself (limits and upstreams), beside the use cases' own. */
export type EdgeRefusal =
  | { code: 'rate-limited' }
  | { code: 'body-too-large' }
  | { code: 'upstream-unavailable'; service: string }
  | { code: 'upstream-timeout'; service: string; timeoutMs: number };

export type AnyRefusal = Refusal | EdgeRefusal;
type Code = AnyRefusal['code'];

interface ProblemRow<R> {
  status: number;
  /** RFC 9457 problem type; `about:blank` means the status says it all. */
  type: string;
  detail: (refusal: R) => string;
  /** Response headers that belong to the answer (e.g. when to retry). */
  headers?: Record<string, string>;
}

const BLANK = 'about:blank';

/** Seconds a client is told to wait when too many sign-ups already wait for their password hash. */
export const SIGNUP_BUSY_RETRY_AFTER_S = 5;

/** THE table: every refusal the gateway answers, with its status, problem type and detail. */
const PROBLEMS: { [C in Code]: ProblemRow<Extract<AnyRefusal, { code: C }>> } = {
  'email-taken': { status: 409, type: BLANK, detail: () => 'An account with this email already exists' },
  'bad-credentials': { status: 401, type: BLANK, detail: () => 'The email or password is wrong' },
  'signup-queue-full': {
    status: 503,
    type: BLANK,
    detail: () => 'Too many sign-ups at once; retry after the number of seconds in Retry-After',
    headers: { 'Retry-After': String(SIGNUP_BUSY_RETRY_AFTER_S) },
  },
  'account-gone': { status: 401, type: BLANK, detail: () => 'The account no longer exists' },
  'user-not-found': { status: 404, type: BLANK, detail: (r) => `User ${r.userId} does not exist` },
  'not-signed-in': { status: 401, type: BLANK, detail: () => 'A signed-in user is required' },
  'bad-authorization-header': {
    status: 401,
    type: BLANK,
    detail: () => 'The Authorization header must be "Bearer <token>"',
  },
  'token-expired': { status: 401, type: BLANK, detail: () => 'The token has expired' },
  'token-invalid': { status: 401, type: BLANK, detail: () => 'The token is invalid' },
  'not-admin': { status: 403, type: BLANK, detail: () => 'Only an admin may do this' },
  'no-longer-admin': {
    status: 403,
    type: BLANK,
    detail: () => 'Only an admin may do this; this account is no longer one',
  },
  'catalog-write-anonymous': { status: 401, type: BLANK, detail: () => 'A signed-in admin is required' },
  'catalog-write-not-admin': {
    status: 403,
    type: BLANK,
    detail: () => 'Only an admin may change the catalog',
  },
  'rate-limited': {
    status: 429,
    type: BLANK,
    detail: () => 'Too many requests; retry after the number of seconds in Retry-After',
  },
  'body-too-large': { status: 413, type: BLANK, detail: () => 'The body is larger than the 100 kB limit' },
  'upstream-unavailable': {
    status: 502,
    type: BLANK,
    detail: (r) => `${r.service} is unavailable; try again shortly`,
  },
  'upstream-timeout': {
    status: 504,
    type: BLANK,
    detail: (r) => `${r.service} did not answer within ${r.timeoutMs} ms`,
  },
};

/** The problem that answers `refusal`; with `res`, the row's headers are set on it too. */
export function problemFor(refusal: AnyRefusal, res?: Response): HttpProblem {
  const row = PROBLEMS[refusal.code] as ProblemRow<AnyRefusal>;
  if (res && row.headers && !res.headersSent) res.set(row.headers);
  return new HttpProblem(row.status, row.detail(refusal), undefined, row.type);
}

/** Turns a use case's {@link Refused} into its problem; anything else goes on to the error handler. */
export const refusalsAsProblems: ErrorRequestHandler = (err, _req, res, next) => {
  next(err instanceof Refused ? problemFor(err.refusal, res) : err);
};
