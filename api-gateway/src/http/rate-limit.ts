import type { Request, RequestHandler, Response } from 'express';
import { ipKeyGenerator, rateLimit, type Store } from 'express-rate-limit';
import { RedisStore, type RedisReply } from 'rate-limit-redis';
import { sendProblem, type Logger } from '@skyway/common';
import { callerOf } from './identity';
import { problemFor } from './problems';

/** The minimal Redis surface the limiter needs (a connected node-redis client provides it). */
export interface RedisCommander {
  sendCommand(args: string[]): Promise<unknown>;
}

export interface LimiterOptions {
  /** Names the policy in the RateLimit headers and keeps the counters of two limiters apart. */
  name: string;
  limit: number;
  windowMs: number;
  keyOf: (req: Request, res: Response) => string;
  redis?: RedisCommander;
  redisKeyPrefix: string;
  logger: Logger;
  /** Counts a refusal (the gateway_rate_limit_rejections_total metric). */
  onLimited?: (policy: string) => void;
}

/** IPv6 clients are counted per /64: one subscriber usually owns the whole /64 and can rotate inside it. */
export const ipKey = (req: Request) => `ip:${ipKeyGenerator(req.ip ?? '', 64)}`;

/** Signed-in callers are counted per user wherever they connect from; anyone else per address. */
export const clientKey = (req: Request, res: Response) => {
  const identity = callerOf(res).identity;
  return identity ? `user:${identity.userId}` : ipKey(req);
};

/** Logs a store outage at most every 10 s instead of once per request. */
function throttledWarn(logger: Logger, intervalMs = 10_000) {
  let last = 0;
  return (message: string, err: unknown) => {
    const now = Date.now();
    if (now - last < intervalMs) return;
    last = now;
    logger.warn(message, { err: err instanceof Error ? err.message : String(err) });
  };
}

/**
 * A fixed-window limiter with draft-8 `RateLimit`/`RateLimit-Policy` headers and a 429 problem with
 * `Retry-After`. With Redis every replica counts in the same keys. When Redis fails the request is let
 * through (fail open, logged): an outage of the counter store should not take the whole API down.
 */
export function createLimiter(opts: LimiterOptions): RequestHandler {
  const store: Store | undefined = opts.redis
    ? new RedisStore({
        prefix: `${opts.redisKeyPrefix}${opts.name}:`,
        sendCommand: (...args: string[]) => opts.redis!.sendCommand(args) as Promise<RedisReply>,
      })
    : undefined;
  const warn = throttledWarn(opts.logger);
  return rateLimit({
    windowMs: opts.windowMs,
    limit: opts.limit,
    identifier: opts.name,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    keyGenerator: opts.keyOf,
    store,
    passOnStoreError: true,
    logger: {
      warn: (err, message) => warn(message ?? 'rate limiter warning', err),
      error: (err, message) => warn(message ?? 'rate limiter error', err),
    },
    handler: (req, res) => {
      opts.onLimited?.(opts.name);
      sendProblem(req, res, problemFor({ code: 'rate-limited' }));
    },
  });
}
