import { z } from 'zod';
import {
  baseEnvShape,
  ConfigError,
  envInt,
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
    });
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
