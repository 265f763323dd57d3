import { ConfigError } from '@skyway/common';
import { DEV_ADMIN_PASSWORD, DEV_JWT_SECRET, loadConfig } from '../src/config';

const production = {
  NODE_ENV: 'production',
  INTERNAL_TOKEN: 'prod-internal-token-xxxxxxxxxxxxxxxx',
  JWT_SECRET: 'prod-jwt-secret-xxxxxxxxxxxxxxxxxxxxxxxxx',
  ADMIN_PASSWORD: 'prod-admin-password',
};

const failure = (env: NodeJS.ProcessEnv) => {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
};

describe('gateway configuration', () => {
  it('has working local defaults', () => {
    const cfg = loadConfig({});
    expect(cfg).toMatchObject({
      GATEWAY_PORT: 3000,
      JWT_SECRET: DEV_JWT_SECRET,
      JWT_EXPIRES_IN: 3600,
      ADMIN_EMAIL: 'admin@skyway.local',
      ADMIN_PASSWORD: DEV_ADMIN_PASSWORD,
      RATE_LIMIT_MAX: 100,
      RATE_LIMIT_WINDOW_MS: 60000,
      SIGNIN_RATE_LIMIT_MAX: 10,
      SIGNUP_RATE_LIMIT_MAX: 10,
      BEHIND_TLS: false,
      UPSTREAM_TIMEOUT_MS: 10000,
      FLIGHT_SERVICE_URL: ['http://127.0.0.1:3001'],
      BOOKING_SERVICE_URL: ['http://127.0.0.1:3002'],
      NOTIFICATION_SERVICE_URL: ['http://127.0.0.1:3003'],
      CORS_ORIGINS: [],
      TRUST_PROXY: false,
      MIGRATE_ON_START: true,
      dbName: 'gateway',
    });
    expect(cfg.REDIS_URL).toBeUndefined();
  });

  it('parses lists, durations and proxy settings', () => {
    const cfg = loadConfig({
      FLIGHT_SERVICE_URL: 'http://10.0.0.1:3001, http://10.0.0.2:3001/',
      JWT_EXPIRES_IN: '15m',
      CORS_ORIGINS: 'https://app.skyway.test, http://localhost:5173',
      TRUST_PROXY: '10.0.0.0/8,loopback',
      DB_NAME_PREFIX: 'x_',
    });
    expect(cfg.FLIGHT_SERVICE_URL).toEqual(['http://10.0.0.1:3001', 'http://10.0.0.2:3001']);
    expect(cfg.JWT_EXPIRES_IN).toBe(900);
    expect(cfg.CORS_ORIGINS).toEqual(['https://app.skyway.test', 'http://localhost:5173']);
    expect(cfg.TRUST_PROXY).toBe('10.0.0.0/8,loopback');
    expect(cfg.dbName).toBe('x_gateway');
    expect(loadConfig({ TRUST_PROXY: '2' }).TRUST_PROXY).toBe(2);
    expect(loadConfig({ CORS_ORIGINS: '*' }).CORS_ORIGINS).toBe('*');
    expect(loadConfig({ BEHIND_TLS: 'true' }).BEHIND_TLS).toBe(true);
    expect(loadConfig({ BEHIND_TLS: '0' }).BEHIND_TLS).toBe(false);
    expect(loadConfig({ SIGNUP_RATE_LIMIT_MAX: '25' }).SIGNUP_RATE_LIMIT_MAX).toBe(25);
  });

  it.each([
    [{ TRUST_PROXY: 'true' }, 'TRUST_PROXY'],
    [{ TRUST_PROXY: 'nonsense' }, 'TRUST_PROXY'],
    [{ CORS_ORIGINS: 'https://app.skyway.test/path' }, 'CORS_ORIGINS'],
    [{ JWT_EXPIRES_IN: 'forever' }, 'JWT_EXPIRES_IN'],
    [{ JWT_SECRET: 'short' }, 'JWT_SECRET'],
    [{ REDIS_URL: 'http://127.0.0.1:6379' }, 'REDIS_URL'],
    [{ RATE_LIMIT_MAX: '0' }, 'RATE_LIMIT_MAX'],
    [{ SIGNUP_RATE_LIMIT_MAX: '0' }, 'SIGNUP_RATE_LIMIT_MAX'],
    [{ BEHIND_TLS: 'yes-please' }, 'BEHIND_TLS'],
    [{ ADMIN_EMAIL: 'not-an-email' }, 'ADMIN_EMAIL'],
    [{ BOOKING_SERVICE_URL: 'ftp://x' }, 'BOOKING_SERVICE_URL'],
  ])('refuses %p with one line naming %s', (env, name) => {
    const message = failure(env);
    expect(message).toContain(name);
    expect(message).not.toContain('\n');
  });

  it('refuses the development secrets in production', () => {
    expect(() => loadConfig(production)).not.toThrow();
    expect(loadConfig(production).MIGRATE_ON_START).toBe(false);
    for (const name of ['INTERNAL_TOKEN', 'JWT_SECRET', 'ADMIN_PASSWORD'] as const) {
      expect(failure({ ...production, [name]: undefined })).toContain(name);
    }
    expect(failure({ ...production, JWT_SECRET: DEV_JWT_SECRET })).toContain('JWT_SECRET');
    expect(failure({ ...production, ADMIN_PASSWORD: DEV_ADMIN_PASSWORD })).toContain('ADMIN_PASSWORD');
  });
});
