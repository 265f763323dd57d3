import { createHash, randomUUID } from 'node:crypto';
import type { RequestHandler, Response } from 'express';
import { badRequest, conflict, requireIdentity, unprocessable, type Logger } from '@skyway/common';
import { retryInBackground } from '../app/background-retry';
import type { ClaimFence, IdempotencyKeys } from '../app/idempotency';
import type { BookingMetrics } from '../metrics';

export const IDEMPOTENCY_HEADER = 'Idempotency-Key';
/** 1–255 printable ASCII characters (contract). */
const VALID_KEY = /^[\x20-\x7e]{1,255}$/;
/** An RFC 8941 sf-string: printable ASCII in double quotes, `"` and `\` escaped with a backslash. */
const SF_STRING = /^"((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*)"$/;

/**
 * The key a header value names. The Idempotency-Key draft defines the header as an sf-string (`"abc"`);
 * the contract's bare form (`abc`) is accepted too, and both spell the same key. Undefined when invalid.
 */
export function parseIdempotencyKey(header: string): string | undefined {
  const raw = header.trim();
  let key = raw;
  if (raw.startsWith('"')) {
    const quoted = SF_STRING.exec(raw);
    if (!quoted) return undefined;
    key = quoted[1].replace(/\\(["\\])/g, '$1');
  }
  return VALID_KEY.test(key) ? key : undefined;
}

/** The claim a route's request owns, for use cases that fence their own writes with it (res.locals). */
export const claimFenceOf = (res: Response): ClaimFence | undefined =>
  res.locals[FENCE] as ClaimFence | undefined;
const FENCE = 'idempotencyFence';

/** The request's Idempotency-Key as the middleware parsed it (bare or sf-string), once it claimed it. */
export const idempotencyKeyOf = (res: Response): string | undefined => res.locals[KEY] as string | undefined;
const KEY = 'idempotencyKey';

/**
 * No body this service accepts nests deeper than this; a deeper one (JSON.parse takes 100 kB of `[[[…`)
 * would otherwise overflow the stack here, before validation, and answer 500.
 */
const MAX_BODY_DEPTH = 32;

/** JSON with object keys sorted, so the same body written differently has the same fingerprint. */
export function canonicalJson(value: unknown, depth = 0): string {
  if (value === undefined) return 'null';
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (depth >= MAX_BODY_DEPTH) throw badRequest(`The body is nested more than ${MAX_BODY_DEPTH} levels deep`);
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v, depth + 1)).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v, depth + 1)}`).join(',')}}`;
}

export function requestFingerprint(method: string, path: string, body: unknown): string {
  return createHash('sha256')
    .update(`${method} ${path}\n${canonicalJson(body)}`)
    .digest('hex');
}

export interface IdempotencyOptions {
  store: IdempotencyKeys;
  /** Keys are unique per user and scope (one scope per route). */
  scope: string;
  required: boolean;
  logger: Logger;
  /** Counts replays and key conflicts (idempotency_requests_total). */
  metrics?: BookingMetrics;
}

function bodyText(body: unknown): string {
  if (typeof body === 'string') return body;
  if (Buffer.isBuffer(body)) return body.toString('utf8');
  if (body === undefined || body === null) return '';
  return JSON.stringify(body);
}

/**
 * Idempotency-Key handling for one route. Runs before body validation, so a reused key with another body
 * is a 422 whatever that body holds. The claim is stored in MariaDB (shared by replicas); the response the
 * route sends is captured and stored before it leaves, so a retry that arrives right after it is replayed.
 */
export function idempotency(opts: IdempotencyOptions): RequestHandler {
  return async (req, res, next) => {
    const who = requireIdentity(req);
    const header = req.get(IDEMPOTENCY_HEADER);
    if (header === undefined) {
      if (opts.required) {
        throw badRequest('The Idempotency-Key header is required', [
          { path: IDEMPOTENCY_HEADER, message: 'is required' },
        ]);
      }
      return next();
    }
    const key = parseIdempotencyKey(header);
    if (key === undefined) {
      throw badRequest('The Idempotency-Key header is invalid', [
        {
          path: IDEMPOTENCY_HEADER,
          message: 'must be 1–255 printable ASCII characters, bare or as a quoted sf-string ("…")',
        },
      ]);
    }
    // The route's own path, not the raw URL: `/api/v1/payments/` is the same request as `/api/v1/payments`.
    const routePath = (req.route as { path?: unknown } | undefined)?.path;
    const path = typeof routePath === 'string' ? routePath : req.path.replace(/\/+$/, '');
    const fingerprint = requestFingerprint(req.method, path, req.body);
    const token = randomUUID();
    let claim;
    try {
      claim = await opts.store.claim(who.userId, opts.scope, key, fingerprint, token, new Date());
    } catch (err) {
      // The database went away while claiming: the claim may have committed without us hearing of it, and would
      // then answer 409 to every retry until its lock runs out. Undo it once the database is back.
      void retryInBackground(
        'undo an unconfirmed Idempotency-Key claim',
        () => opts.store.abandon(who.userId, opts.scope, key, token),
        opts.logger,
      );
      throw err;
    }
    if (claim.kind !== 'claimed')
      opts.metrics?.idempotency(claim.kind === 'replay' ? 'replayed' : claim.kind);
    if (claim.kind === 'mismatch') {
      throw unprocessable('This Idempotency-Key was already used with a different request');
    }
    if (claim.kind === 'in-flight') {
      res.set('Retry-After', '1');
      throw conflict('A request with this Idempotency-Key is still being processed');
    }
    if (claim.kind === 'replay') {
      res.status(claim.status).set('Content-Type', claim.type).set('Idempotent-Replayed', 'true');
      if (claim.location) res.location(claim.location);
      res.send(claim.body);
      return;
    }
    const fence: ClaimFence = { id: claim.id, token: claim.token };
    res.locals[FENCE] = fence;
    res.locals[KEY] = key;
    captureResponse(res, fence, opts);
    next();
  };
}

const SETTLE_FIRST = 'idempotencySettleFirst';

/**
 * Work the route left running after it failed (putting a booking back to INITIATED while the database is
 * away): the key is released only once that is done, so a retry with the key never finds the booking still
 * mid-payment (which would answer a 409 and store it for the key). Until then a retry gets the middleware's
 * 409 "still being processed", which is the truth.
 */
export function releaseKeyAfter(res: Response, settled: Promise<unknown>): void {
  res.locals[SETTLE_FIRST] = settled;
}

const locationOf = (res: Response): string | null => {
  const location = res.get('Location');
  return typeof location === 'string' ? location : null;
};

function captureResponse(res: Response, fence: ClaimFence, opts: IdempotencyOptions): void {
  const send = res.send.bind(res);
  let captured = false;
  res.send = ((body?: unknown) => {
    if (captured) return send(body);
    captured = true;
    const status = res.statusCode;
    const type = String(res.get('Content-Type') ?? 'application/json');
    const text = bodyText(body);
    // A 5xx, or an answer that asks the client to retry shortly (a payment still running), is no answer for
    // the key to keep: the key is released, so the retry is processed again instead of replaying "in progress".
    const transient = status >= 500 || res.get('Retry-After') !== undefined;
    const what = transient ? 'release an Idempotency-Key' : 'store an idempotent response';
    const store = async () => {
      const mine = transient
        ? await opts.store.release(fence)
        : await opts.store.complete(fence, { status, type, location: locationOf(res), body: text });
      // Taken over after the lock time by a retry (whose answer is the one kept), or, for a 5xx, already answered by
      // a booking that committed before this request failed (that answer stays for the retry to replay).
      if (!mine)
        opts.logger.warn('Idempotency-Key claim not ours to settle; this answer is not stored', { status });
    };
    const settleFirst = res.locals[SETTLE_FIRST] as Promise<unknown> | undefined;
    if (settleFirst) {
      void settleFirst.then(() => retryInBackground(what, store, opts.logger));
      return send(body);
    }
    store()
      .catch((err: unknown) => {
        // The database went away mid-request. Left as is, the claim would answer 409 to every retry until its
        // lock expires (minutes); it is settled as soon as the database is back instead.
        opts.logger.warn(`could not ${what}; retrying in the background`, { err, status });
        void retryInBackground(what, store, opts.logger);
      })
      .finally(() => send(body));
    return res;
  }) as Response['send'];
}
