import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { gatewayConfig, bookingConfig, flightConfig, notificationConfig } from '@skyway/testkit';

/** docker-compose.yml is a deliverable we cannot run here (no Docker engine), so it is checked as data. */
const ROOT = path.resolve(__dirname, '..', '..');

/** `.env` style file → map (comments and blank lines skipped). */
function readEnvFile(file: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) out[m[1]] = m[2];
  }
  return out;
}

/** Compose interpolation: ${VAR}, ${VAR:-default}, ${VAR:?error}, and $$ for a literal $. */
function interpolate(value: string, vars: Record<string, string>): string {
  return value
    .replace(/\$\{([A-Z0-9_]+)(?::([-?])([^}]*))?\}/g, (_m, name: string, op?: string, arg?: string) => {
      const v = vars[name];
      if (v !== undefined && v !== '') return v;
      if (op === '?') throw new Error(`${name} is required: ${arg}`);
      return op === '-' ? (arg ?? '') : '';
    })
    .replace(/\$\$/g, '$');
}

const compose = YAML.parse(fs.readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true });
const example = readEnvFile(path.join(ROOT, '.env.example'));

function serviceEnv(name: string, vars: Record<string, string>): Record<string, string> {
  const env = compose.services[name].environment as Record<string, string>;
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, interpolate(String(v), vars)]));
}

const APPS = {
  'api-gateway': gatewayConfig,
  'flight-service': flightConfig,
  'booking-service': bookingConfig,
  'notification-service': notificationConfig,
} as const;

describe('docker-compose.yml', () => {
  test('has MySQL 8, RabbitMQ with the management UI, and the four services', () => {
    expect(Object.keys(compose.services).sort()).toEqual(
      [
        'api-gateway',
        'booking-service',
        'flight-service',
        'mysql',
        'notification-service',
        'rabbitmq',
        'redis',
      ].sort(),
    );
    expect(compose.services.mysql.image).toMatch(/^mysql:8/);
    expect(compose.services.rabbitmq.image).toMatch(/^rabbitmq:.*management/);
  });

  test('every container has a healthcheck and waits for healthy dependencies', () => {
    for (const [name, svc] of Object.entries<Record<string, unknown>>(compose.services)) {
      expect([name, (svc.healthcheck as { test?: unknown })?.test]).toEqual([name, expect.anything()]);
      for (const dep of Object.values((svc.depends_on ?? {}) as Record<string, { condition: string }>)) {
        expect(dep.condition).toBe('service_healthy');
      }
    }
    expect(Object.keys(compose.services['api-gateway'].depends_on).sort()).toEqual(
      ['booking-service', 'flight-service', 'mysql', 'notification-service'].sort(),
    );
  });

  test.each(Object.keys(APPS))(
    '%s: its environment passes the service’s own production config validation',
    (name) => {
      const env = serviceEnv(name, example);
      expect(env.NODE_ENV).toBe('production');
      expect(() => APPS[name as keyof typeof APPS](env)).not.toThrow();
    },
  );

  test('flight-service caches searches in the redis service and waits for it', () => {
    expect(compose.services.redis.image).toMatch(/^redis:/);
    const env = serviceEnv('flight-service', example);
    expect(env.REDIS_URL).toBe('redis://redis:6379');
    const config = flightConfig(env);
    expect([config.REDIS_URL, config.REDIS_KEY_PREFIX, config.SEARCH_CACHE_TTL_MS]).toEqual([
      'redis://redis:6379',
      'skyway:flights:',
      1000,
    ]);
    expect(compose.services['flight-service'].depends_on.redis).toEqual({ condition: 'service_healthy' });
    // A cache, not a store: nothing persisted.
    expect(compose.services.redis.command.join(' ')).toMatch(/--save\s+--appendonly no/);
  });

  test('without the secrets in .env, compose refuses to start (no silent dev defaults)', () => {
    for (const secret of [
      'JWT_SECRET',
      'INTERNAL_TOKEN',
      'ADMIN_PASSWORD',
      'MYSQL_ROOT_PASSWORD',
      'RABBITMQ_PASSWORD',
    ]) {
      const vars = { ...example, [secret]: '' };
      const names = [...Object.keys(APPS), 'mysql', 'rabbitmq'];
      expect(() => names.forEach((n) => serviceEnv(n, vars))).toThrow(new RegExp(secret));
    }
  });

  test('.env.example documents every variable docker-compose reads', () => {
    const text = fs.readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8');
    const used = new Set([...text.matchAll(/\$\{([A-Z0-9_]+)/g)].map((m) => m[1]));
    const documented = fs.readFileSync(path.join(ROOT, '.env.example'), 'utf8');
    expect(used).toContain('JWT_SECRET');
    for (const name of used) expect([name, documented.includes(`${name}=`)]).toEqual([name, true]);
  });
});
