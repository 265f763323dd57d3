import fs from 'node:fs';
import path from 'node:path';
import express, { type ErrorRequestHandler, type Express, type RequestHandler } from 'express';
import { apiDocsRoutes } from './api-docs';
import { requireInternalToken } from './auth';
import { loadDotenv } from './config';
import { bootstrapDatabase, createSequelize } from './db';
import { healthRoutes, type ReadinessCheck } from './health';
import { createLogger, type Logger } from './logger';
import { errorHandler, notFoundHandler } from './problem';
import { requestId } from './request-id';
import { runMain } from './server';
import type { ServiceStartConfig } from './service';

/**
 * A service's OpenAPI document, `src/http/openapi.yaml`, found from `src/` (ts-jest) and from `dist/` (node)
 * alike: tsc does not copy the YAML.
 */
export function openapiPathFrom(dirname: string): string {
  const candidates = [
    path.join(dirname, 'http', 'openapi.yaml'),
    path.join(dirname, '..', 'src', 'http', 'openapi.yaml'),
  ];
  const found = candidates.find((p) => fs.existsSync(p));
  if (!found) throw new Error(`no OpenAPI document beside ${dirname} (looked in ${candidates.join(', ')})`);
  return found;
}

/** Contract: request bodies over 100 kB are refused, by every service and by the gateway for what it proxies. */
export const BODY_LIMIT_BYTES = 100 * 1024;

export interface ServiceAppOptions {
  logger: Logger;
  /** Runs right after the request id: the access log, request metrics and the trace context (observability). */
  observe?: RequestHandler | RequestHandler[];
  /** What `/ready` checks. */
  readiness: Record<string, ReadinessCheck>;
  openapiPath: string;
  /** Runs before health and docs: the gateway's header hygiene, helmet and CORS. */
  first?: RequestHandler[];
  /** More probe routes beside `/health` and `/ready`, answered before any guard (the gateway's service health). */
  probes?: RequestHandler[];
  /**
   * An internal service: every route after health and docs needs this `X-Internal-Token`, and JSON bodies
   * (100 kB at most) are parsed only after the token was checked.
   */
  internalToken?: string;
  /** Express's `trust proxy` (the gateway behind a load balancer). */
  trustProxy?: boolean | number | string;
  /** The service's own routes, in order. */
  routes: RequestHandler[];
  /** The service's refusal → problem table (`http/problems.ts`), before the catch-all error handler. */
  refusals?: ErrorRequestHandler;
}

/**
 * Every service's Express app in one order: request id → `observe` → `first` → health and readiness → `probes` → API docs →
 * internal token and JSON bodies (internal services) → routes → 404 problem → refusals → error handler.
 * ETags are off (Express's weak ETag over every body costs a hash per answer; a route that wants one sets it),
 * and the query parser is Express 5's `simple` everywhere (no nested objects from `a[b]=1`).
 */
export function serviceApp(o: ServiceAppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  if (o.trustProxy !== undefined) app.set('trust proxy', o.trustProxy);
  app.use(requestId);
  if (o.observe) app.use(o.observe);
  for (const handler of o.first ?? []) app.use(handler);
  app.use(healthRoutes(o.readiness));
  for (const handler of o.probes ?? []) app.use(handler);
  app.use(apiDocsRoutes(o.openapiPath));
  if (o.internalToken !== undefined) {
    app.use(requireInternalToken(o.internalToken));
    app.use(express.json({ limit: BODY_LIMIT_BYTES }));
    app.use(readUnparsedBody);
  }
  for (const handler of o.routes) app.use(handler);
  app.use(notFoundHandler);
  if (o.refusals) app.use(o.refusals);
  app.use(errorHandler(o.logger));
  return app;
}

/**
 * A body express.json left alone (not JSON: no or another Content-Type) is read to its end and dropped before any
 * route answers. Answering while the caller is still sending raced with the caller's write on a kept-alive
 * connection: now and then the gateway's proxy got EPIPE mid-body and answered 502 for what is a plain 400.
 */
const readUnparsedBody: express.RequestHandler = (req, _res, next) => {
  const parsed = (req as { _body?: boolean })._body === true;
  const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length']) > 0;
  if (parsed || !hasBody || req.readableEnded) return next();
  let seen = 0;
  const done = (err?: unknown) => {
    req.off('data', onData);
    req.off('end', onEnd);
    req.off('error', done);
    next(err);
  };
  const onData = (chunk: Buffer) => {
    seen += chunk.length;
    if (seen > BODY_LIMIT_BYTES)
      done(Object.assign(new Error('request entity too large'), { type: 'entity.too.large' }));
  };
  const onEnd = () => done();
  req.on('data', onData);
  req.once('end', onEnd);
  req.once('error', done);
  req.resume();
};

/**
 * What a service has started, to be stopped in reverse: each start step registers its closer right after it
 * succeeded. `close()` runs them newest first, once however often it is called (a second call gets the first
 * call's promise), and goes on past a closer that fails (then rejects with its error once all have run).
 * `start()` closes whatever had started when a step fails, and rethrows that step's error.
 */
export class Lifecycle {
  private readonly closers: Array<{ what: string; close: () => unknown }> = [];
  private closing?: Promise<void>;

  constructor(private readonly logger?: Logger) {}

  add(what: string, close: () => unknown): void {
    if (this.closing) throw new Error(`cannot add "${what}": already closing`);
    this.closers.push({ what, close });
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      const failures: unknown[] = [];
      for (const { what, close } of [...this.closers].reverse()) {
        try {
          await close();
        } catch (err) {
          this.logger?.warn('a close step failed', { what, err });
          failures.push(err);
        }
      }
      if (failures.length === 1) throw failures[0];
      if (failures.length > 1) throw new AggregateError(failures, `${failures.length} close steps failed`);
    })();
    return this.closing;
  }

  /** Runs the start steps; if one throws, closes what they had registered and rethrows the error. */
  async start<T>(steps: (lifecycle: Lifecycle) => Promise<T>): Promise<T> {
    try {
      return await steps(this);
    } catch (err) {
      await this.close().catch(() => undefined); // the start failure is the error worth reporting
      throw err;
    }
  }
}

/**
 * Every service's `npm run migrate`: load `.env`, create the database if missing, apply the migrations in
 * `migrationsDir`, close the pool.
 */
export function migrateMain(name: string, loadConfig: () => ServiceStartConfig, migrationsDir: string): void {
  runMain(`${name} migrate`, async () => {
    loadDotenv();
    const config = loadConfig();
    const logger = createLogger(name, 'info');
    const sequelize = createSequelize(config, config.dbName);
    try {
      await bootstrapDatabase(config, sequelize, migrationsDir, logger);
    } finally {
      await sequelize.close();
    }
  });
}
