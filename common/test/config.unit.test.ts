import { z } from 'zod';
import {
  baseEnvShape,
  ConfigError,
  configuredPort,
  envInt,
  envPort,
  envServiceUrl,
  envUrlList,
  parseConfig,
  DEV_INTERNAL_TOKEN,
} from '../src/config';

const schema = z.object({
  ...baseEnvShape,
  PORT: envInt(3000, 0, 65535),
  URLS: envUrlList('http://127.0.0.1:1'),
});

describe('configuration', () => {
  test('defaults apply when nothing is set', () => {
    const cfg = parseConfig(schema, {});
    expect(cfg).toMatchObject({
      DB_HOST: '127.0.0.1',
      DB_PORT: 3306,
      PORT: 3000,
      URLS: ['http://127.0.0.1:1'],
      // Every service waits for causality on Galera unless told not to (read-your-writes across replicas).
      DB_WSREP_SYNC_WAIT: 1,
    });
    expect(parseConfig(schema, { DB_WSREP_SYNC_WAIT: '0' }).DB_WSREP_SYNC_WAIT).toBe(0);
    expect(() => parseConfig(schema, { DB_WSREP_SYNC_WAIT: '16' })).toThrow(/DB_WSREP_SYNC_WAIT/);
  });

  test('a bad value fails with one line naming the variable and the value', () => {
    expect(() => parseConfig(schema, { DB_PORT: 'abc' })).toThrow(ConfigError);
    expect(() => parseConfig(schema, { DB_PORT: 'abc' })).toThrow(
      /^Invalid configuration: DB_PORT must be a non-negative integer \(got "abc"\)$/,
    );
    expect(() => parseConfig(schema, { PORT: '70000' })).toThrow(/PORT/);
    expect(() => parseConfig(schema, { DB_NAME_PREFIX: 'x-y' })).toThrow(/DB_NAME_PREFIX/);
    expect(() => parseConfig(schema, { URLS: 'ftp://x' })).toThrow(/URLS/);
  });

  test('a comma-separated URL list is split and trimmed', () => {
    expect(parseConfig(schema, { URLS: 'http://a:1/, http://b:2' }).URLS).toEqual([
      'http://a:1',
      'http://b:2',
    ]);
  });

  test('production refuses development secrets, and missing ones', () => {
    expect(() => parseConfig(schema, { NODE_ENV: 'production' })).toThrow(/INTERNAL_TOKEN must be set/);
    expect(() => parseConfig(schema, { NODE_ENV: 'production', INTERNAL_TOKEN: DEV_INTERNAL_TOKEN })).toThrow(
      /INTERNAL_TOKEN/,
    );
    expect(
      parseConfig(schema, { NODE_ENV: 'production', INTERNAL_TOKEN: 's3cret-value' }).INTERNAL_TOKEN,
    ).toBe('s3cret-value');
  });
});

describe('derived defaults: service URLs follow the ports (contract v1.1)', () => {
  // A caller of two services, as the gateway and booking-service declare theirs.
  const caller = z.object({
    ...baseEnvShape,
    BOOKING_SERVICE_PORT: envPort('booking'),
    FLIGHT_SERVICE_URL: envServiceUrl('flight'),
    NOTIFICATION_SERVICE_URL: envServiceUrl('notification'),
  });

  test("unset, each URL is http://127.0.0.1:<that service's port from the contract>", () => {
    expect(parseConfig(caller, {})).toMatchObject({
      BOOKING_SERVICE_PORT: 3002,
      FLIGHT_SERVICE_URL: ['http://127.0.0.1:3001'],
      NOTIFICATION_SERVICE_URL: ['http://127.0.0.1:3003'],
    });
  });

  test('a moved port moves the default URL of that service only, read from the same environment', () => {
    expect(parseConfig(caller, { FLIGHT_SERVICE_PORT: '4101' })).toMatchObject({
      FLIGHT_SERVICE_URL: ['http://127.0.0.1:4101'],
      NOTIFICATION_SERVICE_URL: ['http://127.0.0.1:3003'],
    });
    // The caller's own port is its own business: it moves no URL.
    expect(parseConfig(caller, { BOOKING_SERVICE_PORT: '4102' }).FLIGHT_SERVICE_URL).toEqual([
      'http://127.0.0.1:3001',
    ]);
  });

  test('a URL that is set wins over the port; an empty one is unset', () => {
    const env = {
      FLIGHT_SERVICE_PORT: '4101',
      FLIGHT_SERVICE_URL: 'http://a:1, http://b:2',
      NOTIFICATION_SERVICE_URL: '',
    };
    expect(parseConfig(caller, { ...env, NOTIFICATION_SERVICE_PORT: '4103' })).toMatchObject({
      FLIGHT_SERVICE_URL: ['http://a:1', 'http://b:2'],
      NOTIFICATION_SERVICE_URL: ['http://127.0.0.1:4103'],
    });
  });

  test('the environment given is the one read, not process.env', () => {
    const saved = process.env.FLIGHT_SERVICE_PORT;
    process.env.FLIGHT_SERVICE_PORT = '4999';
    try {
      expect(parseConfig(caller, {}).FLIGHT_SERVICE_URL).toEqual(['http://127.0.0.1:3001']);
    } finally {
      if (saved === undefined) delete process.env.FLIGHT_SERVICE_PORT;
      else process.env.FLIGHT_SERVICE_PORT = saved;
    }
  });

  test('a port the URL cannot follow fails in one line naming the variable to fix', () => {
    expect(() => parseConfig(caller, { FLIGHT_SERVICE_PORT: 'abc' })).toThrow(ConfigError);
    expect(() => parseConfig(caller, { FLIGHT_SERVICE_PORT: 'abc' })).toThrow(
      /^Invalid configuration: FLIGHT_SERVICE_PORT must be a non-negative integer \(got "abc"\)$/,
    );
    expect(() => parseConfig(caller, { NOTIFICATION_SERVICE_PORT: '65536' })).toThrow(
      /^Invalid configuration: NOTIFICATION_SERVICE_PORT /,
    );
    expect(() => parseConfig(caller, { FLIGHT_SERVICE_PORT: '0' })).toThrow(
      /^Invalid configuration: FLIGHT_SERVICE_URL must be set when FLIGHT_SERVICE_PORT is 0/,
    );
    // With the URL given, the port it would have followed does not matter.
    expect(
      parseConfig(caller, { FLIGHT_SERVICE_PORT: 'abc', FLIGHT_SERVICE_URL: 'http://f:1' })
        .FLIGHT_SERVICE_URL,
    ).toEqual(['http://f:1']);
  });

  test('configuredPort reads a port exactly as its process does', () => {
    expect(configuredPort('gateway', {})).toBe(3000);
    expect(configuredPort('gateway', { GATEWAY_PORT: '' })).toBe(3000);
    expect(configuredPort('booking', { BOOKING_SERVICE_PORT: '4102' })).toBe(4102);
    expect(() => configuredPort('flight', { FLIGHT_SERVICE_PORT: '-1' })).toThrow(/FLIGHT_SERVICE_PORT/);
  });
});
