import net from 'node:net';
import { z } from 'zod';
import {
  baseEnvShape,
  DEV_INTERNAL_TOKEN,
  envBool,
  envInt,
  envPort,
  envServiceUrl,
  envString,
  parseServiceConfig,
  type ServiceConfig,
} from '@skyway/common';

export const DEV_JWT_SECRET = 'dev-jwt-secret-change-me-0123456789abcdef';
export const DEV_ADMIN_PASSWORD = 'skyway-admin-dev';

/** Secrets that must not keep their development value when NODE_ENV=production. */
export const DEV_SECRETS = {
  INTERNAL_TOKEN: DEV_INTERNAL_TOKEN,
  JWT_SECRET: DEV_JWT_SECRET,
  ADMIN_PASSWORD: DEV_ADMIN_PASSWORD,
};

const emptyToUndefined = (v: unknown) => (v === '' ? undefined : v);

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** `3600`, `90s`, `15m`, `1h` or `7d`, as whole seconds. */
const envDurationSeconds = (def: string) =>
  envString(def).pipe(
    z
      .string()
      .regex(/^\d+[smhd]?$/, 'must be a number of seconds or a number followed by s, m, h or d (e.g. 1h)')
      .transform((s) => {
        const unit = /[smhd]$/.test(s) ? s.slice(-1) : 's';
        return Number.parseInt(s, 10) * UNIT_SECONDS[unit];
      })
      .pipe(
        z
          .number()
          .int()
          .min(1, 'must be at least one second')
          .max(30 * 86400, 'must be at most 30 days'),
      ),
  );

const NAMED_PROXY_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);
function isProxyAddress(item: string): boolean {
  if (NAMED_PROXY_RANGES.has(item)) return true;
  const [ip, bits, ...rest] = item.split('/');
  if (rest.length || net.isIP(ip) === 0) return false;
  if (bits === undefined) return true;
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (net.isIPv4(ip) ? 32 : 128);
}

/**
 * Express `trust proxy`. `true` is refused on purpose: it would take the client's own X-Forwarded-For
 * as its address, so anyone could pick a fresh IP per request and never meet the per-IP limits.
 */
const envTrustProxy = z.preprocess(
  emptyToUndefined,
  z
    .string()
    .default('false')
    .transform((s, ctx): false | number | string => {
      const v = s.trim();
      if (v === 'false') return false;
      if (/^\d+$/.test(v)) return Number(v);
      const items = v.split(',').map((i) => i.trim());
      if (v !== 'true' && items.every(isProxyAddress)) return items.join(',');
      ctx.addIssue({
        code: 'custom',
        message:
          'must be false, a number of proxy hops, or a comma-separated list of proxy addresses/subnets ' +
          '(loopback, linklocal, uniquelocal allowed); true is refused because clients could then choose their IP',
      });
      return z.NEVER;
    }),
);

/** `*` (any origin), or a comma-separated list of origins such as `https://app.example.com`. */
const envCorsOrigins = z.preprocess(
  emptyToUndefined,
  z
    .string()
    .default('')
    .transform((s, ctx): '*' | string[] => {
      if (s.trim() === '*') return '*';
      const items = s
        .split(',')
        .map((i) => i.trim().replace(/\/+$/, ''))
        .filter(Boolean);
      for (const item of items) {
        let origin: string | undefined;
        try {
          origin = new URL(item).origin;
        } catch {
          origin = undefined;
        }
        if (origin !== item || !/^https?:/.test(item)) {
          ctx.addIssue({
            code: 'custom',
            message: `"${item}" is not an origin like https://app.example.com`,
          });
          return z.NEVER;
        }
      }
      return items;
    }),
);

const envRedisUrl = z.preprocess(
  emptyToUndefined,
  z.url({ protocol: /^rediss?$/, message: 'must be a redis:// or rediss:// URL' }).optional(),
);

const schema = z.object({
  ...baseEnvShape,
  GATEWAY_PORT: envPort('gateway'),
  MIGRATE_ON_START: envBool(true),
  DB_POOL_MAX: envInt(10, 2, 500),
  JWT_SECRET: envString(DEV_JWT_SECRET).pipe(z.string().min(32, 'must be at least 32 characters')),
  JWT_EXPIRES_IN: envDurationSeconds('1h'),
  ADMIN_EMAIL: envString('admin@skyway.local').pipe(z.email('must be an email address')),
  ADMIN_PASSWORD: envString(DEV_ADMIN_PASSWORD).pipe(
    z
      .string()
      .min(8, 'must be at least 8 characters')
      .refine((p) => Buffer.byteLength(p) <= 72, 'must be at most 72 bytes (bcrypt ignores the rest)'),
  ),
  BCRYPT_ROUNDS: envInt(12, 10, 15),
  /** Sign-ups allowed to wait for their (one-at-a-time) password hash; one more is a 503 with Retry-After. */
  SIGNUP_QUEUE_MAX: envInt(50, 1, 100_000),
  RATE_LIMIT_MAX: envInt(100, 1),
  RATE_LIMIT_WINDOW_MS: envInt(60000, 1000, 24 * 3600 * 1000),
  SIGNIN_RATE_LIMIT_MAX: envInt(10, 1),
  SIGNUP_RATE_LIMIT_MAX: envInt(10, 1),
  REDIS_URL: envRedisUrl,
  REDIS_KEY_PREFIX: envString('skyway:gateway:rl:').pipe(
    z.string().regex(/^[A-Za-z0-9:_.-]{1,100}$/, 'may contain only letters, digits and : _ . -'),
  ),
  /** Default: http://127.0.0.1:<FLIGHT_SERVICE_PORT> (likewise the other two), from this same environment. */
  FLIGHT_SERVICE_URL: envServiceUrl('flight'),
  BOOKING_SERVICE_URL: envServiceUrl('booking'),
  NOTIFICATION_SERVICE_URL: envServiceUrl('notification'),
  CORS_ORIGINS: envCorsOrigins,
  TRUST_PROXY: envTrustProxy,
  /** Clients reach the gateway over TLS (ended in front of it): only then is Strict-Transport-Security sent. */
  BEHIND_TLS: envBool(false),
  /**
   * Prometheus metrics are served here (a second listener), never on the public GATEWAY_PORT. Default 9464; under
   * NODE_ENV=test any free port (0), so gateways started side by side by tests never collide.
   */
  METRICS_PORT: envInt(9464, 0, 65535),
});

export type GatewayConfig = ServiceConfig<typeof schema>;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const withDefaults = env.NODE_ENV === 'test' && !env.METRICS_PORT ? { ...env, METRICS_PORT: '0' } : env;
  return parseServiceConfig(schema, 'gateway', withDefaults, DEV_SECRETS);
}
