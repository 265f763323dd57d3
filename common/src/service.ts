import type { Sequelize } from 'sequelize';
import { DEV_INTERNAL_TOKEN, devSecretsInUse, loadDotenv } from './config';
import { bootstrapDatabase, createSequelize, type DbServer } from './db';
import { createLogger, type Logger } from './logger';
import { createServiceMetrics, observePool, type ServiceMetrics } from './metrics';
import { initTracing, shutdownTracing } from './tracing';
import { onShutdown, runMain } from './server';

export interface ServiceStartConfig extends DbServer {
  NODE_ENV: string;
  LOG_LEVEL: string;
  dbName: string;
  MIGRATE_ON_START: boolean;
  DB_POOL_MAX?: number;
  METRICS_ENABLED?: boolean;
  /** `wsrep_sync_wait` on every connection (see `createSequelize`); unset: the server's default. */
  DB_WSREP_SYNC_WAIT?: number;
}

export interface ServiceStartOptions {
  /** Secrets to warn about while they keep their development value (default: INTERNAL_TOKEN). */
  devSecrets?: Record<string, string>;
  multipleStatements?: boolean;
}

/**
 * The first steps of every service: its logger, a warning for each development secret still in use (not under
 * test, where they are the norm), and its database — created and migrated first when MIGRATE_ON_START.
 */
export async function openService(
  name: string,
  config: ServiceStartConfig,
  migrationsDir: string,
  { devSecrets = { INTERNAL_TOKEN: DEV_INTERNAL_TOKEN }, multipleStatements }: ServiceStartOptions = {},
): Promise<{ logger: Logger; sequelize: Sequelize; metrics: ServiceMetrics }> {
  initTracing(name);
  const logger = createLogger(name, config.LOG_LEVEL);
  if (config.NODE_ENV !== 'test') {
    for (const secret of devSecretsInUse(config as unknown as Record<string, unknown>, devSecrets)) {
      logger.warn(`${secret} is the development default; set it before exposing this service`);
    }
  }
  const sequelize = createSequelize(config, config.dbName, {
    poolMax: config.DB_POOL_MAX,
    multipleStatements,
    wsrepSyncWait: config.DB_WSREP_SYNC_WAIT,
  });
  try {
    if (config.MIGRATE_ON_START) await bootstrapDatabase(config, sequelize, migrationsDir, logger);
  } catch (err) {
    await sequelize.close().catch(() => undefined);
    throw err;
  }
  const metrics = createServiceMetrics(name, config.METRICS_ENABLED);
  observePool(metrics, sequelize);
  return { logger, sequelize, metrics };
}

/**
 * The process entry of every service: load `.env`, start, and stop gracefully on SIGTERM/SIGINT; a start-up
 * failure prints one line and exits non-zero.
 */
export function serveMain(
  name: string,
  start: () => Promise<{ close(): Promise<void> }>,
  shutdownTimeoutMs?: number,
): void {
  runMain(name, async () => {
    loadDotenv();
    const running = await start();
    onShutdown(createLogger(name, 'info'), [() => running.close(), shutdownTracing], shutdownTimeoutMs);
  });
}
