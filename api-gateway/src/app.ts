import { Router, type Express, type RequestHandler } from 'express';
import cors from 'cors';
import helmet from 'helmet';
import type { Sequelize } from 'sequelize';
import {
  createServiceMetrics,
  observability,
  openApiTemplates,
  openapiPathFrom,
  serviceApp,
  setRouteTemplate,
  UNMATCHED_ROUTE,
  type Logger,
  type ServiceMetrics,
} from '@skyway/common';
import type { Accounts } from './app/accounts';
import { readinessProbe } from './clients/service-readiness';
import type { GatewayConfig } from './config';
import { databaseReady } from './db/users-store';
import { authRoutes } from './http/auth';
import { privateNoStore } from './http/caching';
import { serviceHealthRoute } from './http/health';
import { catalogAccess, confirmAdminClaim, readCaller, requireUser } from './http/identity';
import { refusalsAsProblems } from './http/problems';
import { limitProxiedBody, proxyTo, stripForgeableHeaders } from './http/proxy';
import { clientKey, createLimiter, ipKey, type RedisCommander } from './http/rate-limit';
import { gatewayMetrics } from './metrics';

export const OPENAPI_PATH = openapiPathFrom(__dirname);

/** Paths the services serve themselves; matched on whole segments so `/api/v1/flightsX` is not proxied. */
const CATALOG_PATH = /^\/api\/v1\/(cities|airports|airplanes|flights)(\/|$)/;
const BOOKING_PATH = /^\/api\/v1\/(bookings|payments)(\/|$)/;
/** Answers that depend on who asks. */
const PER_USER_PATH = /^\/api\/v1\/(bookings|payments|auth)(\/|$)/;
/** `.`/`..` segments, raw or percent-encoded: never forwarded, so no path can climb into /internal upstream. */
const DOT_SEGMENT = /(^|\/)(\.|%2e){1,2}(\/|$)/i;

const HEALTH_TIMEOUT_MS = 2000;

export type GatewayAppConfig = Pick<
  GatewayConfig,
  | 'INTERNAL_TOKEN'
  | 'RATE_LIMIT_MAX'
  | 'RATE_LIMIT_WINDOW_MS'
  | 'SIGNIN_RATE_LIMIT_MAX'
  | 'SIGNUP_RATE_LIMIT_MAX'
  | 'REDIS_KEY_PREFIX'
  | 'UPSTREAM_TIMEOUT_MS'
  | 'FLIGHT_SERVICE_URL'
  | 'BOOKING_SERVICE_URL'
  | 'NOTIFICATION_SERVICE_URL'
  | 'CORS_ORIGINS'
  | 'TRUST_PROXY'
  | 'BEHIND_TLS'
>;

export interface GatewayAppDeps {
  config: GatewayAppConfig;
  logger: Logger;
  sequelize: Sequelize;
  /** The use cases (see main.ts for how they are put together). */
  accounts: Accounts;
  /** A connected Redis client: the rate-limit counters then live there, shared by every replica. */
  redis?: RedisCommander;
  /** The process's metrics; served on METRICS_PORT by main.ts, never on this (public) app. */
  metrics?: ServiceMetrics;
}

/** The public API's route templates (its OpenAPI paths), to label a proxied request without its raw path. */
const templateOf = openApiTemplates(OPENAPI_PATH);

/** Runs `handlers` only for requests whose path matches, leaving `req.url` whole for the proxy. */
function forPaths(pattern: RegExp, ...handlers: RequestHandler[]): RequestHandler {
  const router = Router();
  router.use(handlers);
  return (req, res, next) => {
    if (!pattern.test(req.path) || DOT_SEGMENT.test(req.originalUrl.split('?')[0])) return next();
    setRouteTemplate(res, templateOf(req.path) ?? UNMATCHED_ROUTE);
    router(req, res, next);
  };
}

export function buildApp({
  config,
  logger,
  sequelize,
  accounts,
  redis,
  metrics = createServiceMetrics('api-gateway'),
}: GatewayAppDeps): Express {
  const counters = gatewayMetrics(metrics);
  const limiterBase = {
    windowMs: config.RATE_LIMIT_WINDOW_MS,
    redis,
    redisKeyPrefix: config.REDIS_KEY_PREFIX,
    logger,
    onLimited: counters.rateLimited,
  };
  const upstream = {
    timeoutMs: config.UPSTREAM_TIMEOUT_MS,
    internalToken: config.INTERNAL_TOKEN,
    logger,
    onUpstreamError: counters.upstreamError,
  };

  const corsPolicy = cors({
    origin: config.CORS_ORIGINS,
    allowedHeaders: ['Authorization', 'Content-Type', 'Idempotency-Key', 'X-Request-Id', 'If-None-Match'],
    exposedHeaders: [
      'X-Request-Id',
      'RateLimit',
      'RateLimit-Policy',
      'Retry-After',
      'Idempotent-Replayed',
      'Location',
      'ETag',
    ],
    maxAge: 600,
  });

  // Health and docs come before the limiter: probes must never be throttled.
  const readiness: Record<string, () => Promise<unknown>> = { database: databaseReady(sequelize) };
  if (redis) readiness.redis = () => redis.sendCommand(['PING']);
  const healthTimeoutMs = Math.min(HEALTH_TIMEOUT_MS, config.UPSTREAM_TIMEOUT_MS);
  const probes = (urls: string[]) =>
    urls.map((url) => readinessProbe(url, config.INTERNAL_TOKEN, healthTimeoutMs));

  const signinLimiter = createLimiter({
    ...limiterBase,
    name: 'signin',
    limit: config.SIGNIN_RATE_LIMIT_MAX,
    keyOf: ipKey,
  });
  const signupLimiter = createLimiter({
    ...limiterBase,
    name: 'signup',
    limit: config.SIGNUP_RATE_LIMIT_MAX,
    keyOf: ipKey,
  });
  // A token that claims admin is checked against the stored role before the guards and X-User-Role use it.
  const currentRole = confirmAdminClaim(accounts);

  return serviceApp({
    logger,
    observe: observability(metrics, logger, { serve: false }),
    readiness,
    openapiPath: OPENAPI_PATH,
    trustProxy: config.TRUST_PROXY,
    // HSTS only when clients reach the gateway over TLS (RFC 6797 §7.2: never over plain HTTP).
    first: [stripForgeableHeaders, helmet({ strictTransportSecurity: config.BEHIND_TLS }), corsPolicy],
    probes: [
      serviceHealthRoute({
        'flight-service': probes(config.FLIGHT_SERVICE_URL),
        'booking-service': probes(config.BOOKING_SERVICE_URL),
        'notification-service': probes(config.NOTIFICATION_SERVICE_URL),
      }),
    ],
    routes: [
      // Before the caller is read, so a 401 or 429 on these routes is not stored either.
      (req, res, next) => (PER_USER_PATH.test(req.path) ? privateNoStore(req, res, next) : next()),
      readCaller(accounts),
      createLimiter({ ...limiterBase, name: 'api', limit: config.RATE_LIMIT_MAX, keyOf: clientKey }),
      authRoutes({ accounts, signinLimiter, signupLimiter }),
      forPaths(
        CATALOG_PATH,
        currentRole,
        catalogAccess,
        limitProxiedBody,
        proxyTo({ ...upstream, name: 'flight-service', targets: config.FLIGHT_SERVICE_URL }),
      ),
      forPaths(
        BOOKING_PATH,
        requireUser,
        currentRole,
        limitProxiedBody,
        proxyTo({ ...upstream, name: 'booking-service', targets: config.BOOKING_SERVICE_URL }),
      ),
    ],
    refusals: refusalsAsProblems,
  });
}
