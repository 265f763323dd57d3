import fs from 'node:fs';
import YAML from 'yaml';
import type { Request, RequestHandler, Response } from 'express';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Sequelize } from 'sequelize';
import { currentRequestId, type Logger } from './logger';
import { currentTraceIds, traceRequests } from './tracing';

/**
 * One process's metrics: its own registry (several services share a process under test, so nothing goes to
 * prom-client's global one) with the default process metrics (CPU, memory, event-loop lag, GC) in it.
 */
export interface ServiceMetrics {
  registry: Registry;
  /** False with METRICS_ENABLED=false: nothing is counted and /metrics is not served. */
  enabled: boolean;
}

/** `METRICS_ENABLED=false` switches metrics off (for the overhead benchmark); on by default. */
export function metricsEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return !/^(false|0)$/i.test(env.METRICS_ENABLED ?? '');
}

type MetricOf<C> = C extends new (config: infer _) => infer M ? M : never;

/** The metric `config.name` of `registry`, created on first use (an app built twice reuses its metrics). */
export function metric<C extends typeof Counter | typeof Gauge | typeof Histogram>(
  registry: Registry,
  Kind: C,
  config: ConstructorParameters<C>[0],
): MetricOf<C> {
  const existing = registry.getSingleMetric(config.name);
  if (existing) return existing as MetricOf<C>;
  return new (Kind as new (c: unknown) => unknown)({ ...config, registers: [registry] }) as MetricOf<C>;
}

export function createServiceMetrics(service: string, enabled = metricsEnabled()): ServiceMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  if (enabled) collectDefaultMetrics({ register: registry });
  return { registry, enabled };
}

/** Methods counted by name; anything else (fuzzers send odd ones) is `other`, so the label stays bounded. */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
export const UNMATCHED_ROUTE = 'unmatched';
const LOCALS_ROUTE = 'routeTemplate';

/** Names the route template of a request no express route matched (the gateway's proxied paths). */
export function setRouteTemplate(res: Response, template: string): void {
  res.locals[LOCALS_ROUTE] = template;
}

/**
 * The route TEMPLATE a request matched (`/api/v1/bookings/:id`), never its raw path: a template set by
 * `setRouteTemplate`, else express's matched route, else `unmatched`.
 */
export function routeTemplateOf(req: Request, res: Response): string {
  const set = res.locals[LOCALS_ROUTE] as unknown;
  if (typeof set === 'string') return set;
  const path = (req.route as { path?: unknown } | undefined)?.path;
  if (typeof path === 'string') return `${req.baseUrl ?? ''}${path}`;
  return UNMATCHED_ROUTE;
}

/** Routes that are neither access-logged (probes and scrapes would drown the log) nor traced. */
const QUIET_ROUTES = new Set(['/health', '/ready', '/metrics', '/api/v1/health']);

/** Turns an OpenAPI path list (`/api/v1/bookings/{id}`) into a matcher from a raw path to its template. */
export function templateMatcher(paths: string[]): (path: string) => string | undefined {
  const compiled = paths
    .map((p) => ({
      template: p.replace(/\{([^}]+)\}/g, ':$1'),
      // Literal segments first, so `/flights/search` beats `/flights/{id}`.
      literals: p.split('/').filter((s) => s && !s.startsWith('{')).length,
      re: new RegExp(
        `^${p
          .split('/')
          .map((s) => (s.startsWith('{') ? '[^/]+' : s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
          .join('/')}/?$`,
      ),
    }))
    .sort((a, b) => b.literals - a.literals);
  return (path) => compiled.find((c) => c.re.test(path))?.template;
}

/** `templateMatcher` over the `paths` of an OpenAPI YAML document. */
export function openApiTemplates(yamlPath: string): (path: string) => string | undefined {
  const doc = YAML.parse(fs.readFileSync(yamlPath, 'utf8')) as { paths?: Record<string, unknown> };
  return templateMatcher(Object.keys(doc.paths ?? {}));
}

/**
 * RED metrics and the access log for every request: `http_requests_total` and `http_request_duration_seconds` by
 * method, route template and status, and one `info` line per request served (health and metrics left out).
 */
export function observeRequests(metrics: ServiceMetrics, logger: Logger): RequestHandler {
  const requests = metric(metrics.registry, Counter, {
    name: 'http_requests_total',
    help: 'HTTP requests served, by method, route template and status',
    labelNames: ['method', 'route', 'status'],
  });
  const duration = metric(metrics.registry, Histogram, {
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration in seconds, by method, route template and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  });
  // winston formats a line before its transports drop it by level: below info, skip the access line entirely.
  const accessLog = logger.isLevelEnabled('info');
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    // Read now: 'finish' may fire outside the request's async context.
    const ids = { requestId: currentRequestId(), ...currentTraceIds() };
    let done = false;
    const end = () => {
      if (done) return;
      done = true;
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = routeTemplateOf(req, res);
      const method = METHODS.has(req.method) ? req.method : 'other';
      // A client that went away before the answer: 499, as proxies count it.
      const status = res.writableFinished ? String(res.statusCode) : '499';
      if (metrics.enabled) {
        const labels = { method, route, status };
        requests.inc(labels);
        duration.observe(labels, seconds);
      }
      if (!accessLog || QUIET_ROUTES.has(route)) return;
      logger.info('request', {
        method,
        route,
        status: Number(status),
        durationMs: Math.round(seconds * 10_000) / 10,
        ...ids,
      });
    };
    res.once('finish', end);
    res.once('close', end);
    next();
  };
}

/** `GET /metrics` in Prometheus' text exposition format. */
export function metricsRoute(metrics: ServiceMetrics): RequestHandler {
  return (req, res, next) => {
    if (!metrics.enabled || req.path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      return next();
    }
    setRouteTemplate(res, '/metrics');
    metrics.registry
      .metrics()
      .then((text) => res.type(metrics.registry.contentType).send(text))
      .catch(next);
  };
}

interface PoolLike {
  size: number;
  available: number;
  using: number;
  waiting: number;
  maxSize: number;
}

/** Sequelize's connection pool (sequelize-pool), when it has been created. */
function poolOf(sequelize: Sequelize): PoolLike | undefined {
  const pool = (sequelize.connectionManager as unknown as { pool?: PoolLike & { write?: PoolLike } }).pool;
  return pool?.write ?? pool;
}

/** DB pool gauges, read at scrape time: connections in use, idle, and requests waiting for one. */
export function observePool(metrics: ServiceMetrics, sequelize: Sequelize): void {
  const gauge = (name: string, help: string, read: (p: PoolLike) => number) =>
    metric(metrics.registry, Gauge, {
      name,
      help,
      collect() {
        const pool = poolOf(sequelize);
        this.set(pool ? read(pool) : 0);
      },
    });
  gauge('db_pool_connections_in_use', 'Database connections lent out of the pool', (p) => p.using);
  gauge('db_pool_connections_idle', 'Open database connections idle in the pool', (p) => p.available);
  gauge('db_pool_waiting_requests', 'Requests waiting for a database connection', (p) => p.waiting);
  gauge('db_pool_connections_max', 'Largest size the pool may grow to', (p) => p.maxSize);
}

/**
 * What every service's app mounts right after `requestId`: the server span (trace context), RED metrics with the
 * access log, and — unless `serve` is false (the gateway serves them on METRICS_PORT) — `GET /metrics`.
 */
export function observability(
  metrics: ServiceMetrics,
  logger: Logger,
  { serve = true }: { serve?: boolean } = {},
): RequestHandler[] {
  return [traceRequests(), observeRequests(metrics, logger), ...(serve ? [metricsRoute(metrics)] : [])];
}
