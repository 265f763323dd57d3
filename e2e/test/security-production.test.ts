import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { DEV_INTERNAL_TOKEN } from '@skyway/common';
import {
  gatewayConfig,
  DEV_JWT_SECRET,
  flightConfig,
  bookingConfig,
  notificationConfig,
} from '@skyway/testkit';

/**
 * Production start-up with development secrets: every service's configuration and every real process refuse
 * it. No stack: the processes here are started bare (the attacks on a running system:
 * security-identity.test.ts, security-input.test.ts).
 */
const ROOT = path.resolve(__dirname, '..', '..');

// ---------------------------------------------------------------------------------------------------------

describe('production mode refuses development secrets', () => {
  const prod = (extra: Record<string, string> = {}) => ({ NODE_ENV: 'production', ...extra });
  const loaders: Array<[string, (env: NodeJS.ProcessEnv) => unknown]> = [
    ['api-gateway', gatewayConfig],
    ['flight-service', flightConfig],
    ['booking-service', bookingConfig],
    ['notification-service', notificationConfig],
  ];

  test.each(loaders)('%s: loadConfig throws one line naming the variable', (_name, load) => {
    expect(() => load(prod())).toThrow(/^Invalid configuration: INTERNAL_TOKEN .*NODE_ENV=production$/);
    expect(() => load(prod({ INTERNAL_TOKEN: DEV_INTERNAL_TOKEN }))).toThrow(/INTERNAL_TOKEN/);
    expect(() => load(prod({ INTERNAL_TOKEN: '' }))).toThrow(/INTERNAL_TOKEN/);
  });

  test('the gateway also refuses the development JWT_SECRET and ADMIN_PASSWORD, and starts with real ones', () => {
    const token = { INTERNAL_TOKEN: 'a-real-internal-token' };
    expect(() => gatewayConfig(prod(token))).toThrow(/JWT_SECRET/);
    expect(() => gatewayConfig(prod({ ...token, JWT_SECRET: DEV_JWT_SECRET }))).toThrow(/JWT_SECRET/);
    const jwtSecret = { JWT_SECRET: 'a-real-jwt-secret-of-at-least-32-characters' };
    expect(() => gatewayConfig(prod({ ...token, ...jwtSecret }))).toThrow(/ADMIN_PASSWORD/);
    expect(() =>
      gatewayConfig(prod({ ...token, ...jwtSecret, ADMIN_PASSWORD: 'a-real-admin-password' })),
    ).not.toThrow();
    for (const [, load] of loaders.slice(1)) expect(() => load(prod(token))).not.toThrow();
  });

  test('each real process started with NODE_ENV=production and no secrets exits non-zero with one line naming the variable', async () => {
    const run = (service: string, extra: Record<string, string> = {}) =>
      new Promise<{ code: number | null; stderr: string; stdout: string }>((resolve, reject) => {
        // A bare environment, run from a directory without a .env: nothing but what the test gives.
        const child = spawn(process.execPath, [path.join(ROOT, service, 'dist', 'main.js')], {
          cwd: os.tmpdir(),
          env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production', ...extra },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stderr = '';
        let stdout = '';
        child.stderr.on('data', (d) => (stderr += d));
        child.stdout.on('data', (d) => (stdout += d));
        // Only a hang is killed: five processes start at once, and a loaded 2-core machine may take seconds each.
        const kill = setTimeout(() => child.kill('SIGKILL'), 50_000);
        child.on('error', reject);
        child.on('exit', (code) => {
          clearTimeout(kill);
          resolve({ code, stderr, stdout });
        });
      });
    const results = await Promise.all([
      ...['api-gateway', 'flight-service', 'booking-service', 'notification-service'].map(async (s) => ({
        s,
        expected: 'INTERNAL_TOKEN',
        ...(await run(s)),
      })),
      {
        s: 'api-gateway',
        expected: 'JWT_SECRET',
        ...(await run('api-gateway', { INTERNAL_TOKEN: 'a-real-internal-token' })),
      },
    ]);
    for (const { s, expected, code, stderr, stdout } of results) {
      const lines = stderr.split('\n').filter(Boolean);
      expect({ s, code: code !== 0 && code !== null }).toEqual({ s, code: true });
      expect({ s, lines: lines.length }).toEqual({ s, lines: 1 });
      expect(lines[0]).toContain(expected);
      expect(lines[0]).toContain('production');
      expect(stdout).toBe('');
    }
  }, 60_000);
});
