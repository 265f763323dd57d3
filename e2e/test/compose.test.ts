import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import YAML from 'yaml';
import { gatewayConfig, bookingConfig, flightConfig, notificationConfig } from '@skyway/testkit';
import { dashboardExpressions, metricNamesIn } from './support/metrics';

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
    const always = Object.keys(compose.services).filter((n) => !compose.services[n].profiles);
    expect(always.sort()).toEqual(
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

/** The `observability` profile: Prometheus scraping the four services and Grafana with the Skyway dashboard. */
describe('docker-compose.yml, observability profile', () => {
  const inProfile = Object.entries<Record<string, unknown>>(compose.services)
    .filter(([, svc]) => (svc.profiles as string[] | undefined)?.includes('observability'))
    .map(([name]) => name);
  /** `./host/path:/container/path[:ro]` bind mounts of a service, as [host path, container path]. */
  const binds = (name: string) =>
    (compose.services[name].volumes as string[])
      .filter((v) => v.startsWith('./'))
      .map((v) => v.split(':').slice(0, 2) as [string, string]);
  const hostPath = (p: string) => path.join(ROOT, p);

  test('adds Prometheus and Grafana, and only them; every bind mount points at a file in the repository', () => {
    expect(inProfile.sort()).toEqual(['grafana', 'prometheus']);
    for (const name of inProfile) {
      const mounts = binds(name);
      expect(mounts.length).toBeGreaterThan(0);
      for (const [host] of mounts)
        expect([name, host, fs.existsSync(hostPath(host))]).toEqual([name, host, true]);
    }
    expect(compose.services.grafana.depends_on).toEqual({ prometheus: { condition: 'service_healthy' } });
    // Neither is reachable from outside the host, and the gateway's metrics port is not published at all.
    for (const name of inProfile)
      for (const p of compose.services[name].ports as string[]) expect(p).toMatch(/^127\.0\.0\.1:/);
    expect(compose.services['api-gateway'].ports).toEqual(['3000:3000']);
  });

  const promConfig = YAML.parse(fs.readFileSync(hostPath('deploy/prometheus/prometheus.yml'), 'utf8'));

  test('Prometheus scrapes the four services where they serve /metrics', () => {
    const gatewayEnv = serviceEnv('api-gateway', example);
    const targets = Object.fromEntries(
      (
        promConfig.scrape_configs as Array<{ job_name: string; static_configs: Array<{ targets: string[] }> }>
      ).map((j) => [j.job_name, j.static_configs.flatMap((c) => c.targets)]),
    );
    expect(targets).toEqual({
      'api-gateway': [`api-gateway:${gatewayEnv.METRICS_PORT}`],
      'flight-service': [`flight-service:${serviceEnv('flight-service', example).FLIGHT_SERVICE_PORT}`],
      'booking-service': [`booking-service:${serviceEnv('booking-service', example).BOOKING_SERVICE_PORT}`],
      'notification-service': [
        `notification-service:${serviceEnv('notification-service', example).NOTIFICATION_SERVICE_PORT}`,
      ],
    });
    expect(gatewayEnv.METRICS_PORT).not.toBe(gatewayEnv.GATEWAY_PORT);
    // The rule files it names are mounted next to it.
    const mounted = binds('prometheus').map(([, c]) => c);
    for (const rules of promConfig.rule_files as string[])
      expect(mounted).toContain(`/etc/prometheus/${rules}`);
  });

  const promtool = (() => {
    try {
      execFileSync('promtool', ['--version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();
  (promtool ? test : test.skip)('promtool accepts the scrape config and the alerting rules', () => {
    execFileSync('promtool', ['check', 'config', hostPath('deploy/prometheus/prometheus.yml')], {
      stdio: 'pipe',
    });
  });

  const datasources = YAML.parse(
    fs.readFileSync(hostPath('deploy/grafana/provisioning/datasources/prometheus.yml'), 'utf8'),
  ).datasources as Array<{ uid: string; type: string; url: string }>;
  const providers = YAML.parse(
    fs.readFileSync(hostPath('deploy/grafana/provisioning/dashboards/skyway.yml'), 'utf8'),
  ).providers as Array<{ type: string; options: { path: string } }>;
  const dashboard = JSON.parse(fs.readFileSync(hostPath('deploy/grafana/dashboards/skyway.json'), 'utf8'));

  test('Grafana: the datasource is the profile’s Prometheus; the provider loads the mounted dashboards', () => {
    expect(datasources).toEqual([
      expect.objectContaining({
        type: 'prometheus',
        uid: 'skyway-prometheus',
        url: 'http://prometheus:9090',
      }),
    ]);
    const dashboardsMount = binds('grafana').find(([host]) => host === './deploy/grafana/dashboards');
    expect(providers).toEqual([
      expect.objectContaining({ type: 'file', options: { path: dashboardsMount?.[1] } }),
    ]);
  });

  test('the dashboard is valid Grafana JSON: uid, title, schemaVersion, panels with type, targets, gridPos', () => {
    expect(dashboard).toEqual(
      expect.objectContaining({
        uid: expect.any(String),
        title: 'Skyway',
        schemaVersion: expect.any(Number),
      }),
    );
    expect(dashboard.uid).toMatch(/^[A-Za-z0-9_-]{1,40}$/);
    const ids = new Set<number>();
    for (const panel of dashboard.panels) {
      expect(panel).toEqual(
        expect.objectContaining({ id: expect.any(Number), type: 'timeseries', title: expect.any(String) }),
      );
      ids.add(panel.id);
      const { h, w, x, y } = panel.gridPos;
      for (const n of [h, w, x, y]) expect(Number.isInteger(n) && n >= 0).toBe(true);
      expect(x + w).toBeLessThanOrEqual(24);
      expect(panel.targets.length).toBeGreaterThan(0);
      for (const t of [panel, ...panel.targets])
        expect(t.datasource).toEqual({ type: 'prometheus', uid: datasources[0].uid });
      for (const t of panel.targets)
        expect(t).toEqual(expect.objectContaining({ refId: expect.any(String), expr: expect.any(String) }));
    }
    expect(ids.size).toBe(dashboard.panels.length);
    const titles = dashboard.panels.map((p: { title: string }) => p.title).join(' | ');
    for (const needed of [
      /bookings\/s by outcome/i,
      /p50/,
      /p99/,
      /outbox backlog/i,
      /dead-letter/i,
      /seat conflicts/i,
      /event-loop lag/i,
    ])
      expect(titles).toMatch(needed);
  });

  test('every metric the dashboard and the alerts query is one a service declares', () => {
    const declared = new Set(
      metricNamesDeclared().flatMap((n) => [n, `${n}_bucket`, `${n}_sum`, `${n}_count`]),
    );
    // prom-client's default process metrics, and Prometheus' own `up`.
    for (const n of ['nodejs_eventloop_lag_p99_seconds', 'up']) declared.add(n);
    const used = new Set(dashboardExpressions().flatMap(metricNamesIn));
    expect(used.size).toBeGreaterThan(10);
    for (const name of used) expect([name, declared.has(name)]).toEqual([name, true]);
  });
});

/** Names of the metrics the services' sources declare (`name: '…'` next to a prom-client metric). */
function metricNamesDeclared(): string[] {
  const files = [
    'common/src/metrics.ts',
    'api-gateway/src/metrics.ts',
    'booking-service/src/metrics.ts',
    'notification-service/src/metrics.ts',
  ];
  const names = files.flatMap((f) =>
    [...fs.readFileSync(path.join(ROOT, f), 'utf8').matchAll(/name: '([a-z_:]+)'/g)].map((m) => m[1]),
  );
  // observePool's gauges are named through a helper: gauge('db_pool_…', …).
  const pool = [
    ...fs.readFileSync(path.join(ROOT, 'common/src/metrics.ts'), 'utf8').matchAll(/gauge\('([a-z_]+)'/g),
  ];
  return [...names, ...pool.map((m) => m[1])];
}
