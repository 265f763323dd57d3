import path from 'node:path';
import {
  closeServer,
  Lifecycle,
  listen,
  listeningPort,
  type RunningService,
  openService,
  serveMain,
} from '@skyway/common';
import { buildApp } from './app';
import { noSearchCache, redisSearchCache } from './clients/search-cache';
import { loadConfig } from './config';
import { assertCheckConstraintsEnforced } from './db/check-constraints';
import { initModels } from './db/models';
import { seedDemoData } from './db/seeders/demo';

export const MIGRATIONS_DIR = path.join(__dirname, 'db', 'migrations');

/** Starts flight-service: config, database bootstrap, HTTP. Used by `main` and by tests of other services. */
export async function startFlightService(env: NodeJS.ProcessEnv = process.env): Promise<RunningService> {
  const config = loadConfig(env);
  const lifecycle = new Lifecycle();
  return lifecycle.start(async () => {
    // Multiple statements let a seat reservation hold the flight row for a single round trip.
    const { logger, sequelize, metrics } = await openService('flight-service', config, MIGRATIONS_DIR, {
      multipleStatements: true,
    });
    lifecycle.add('database pool', () => sequelize.close());
    // Refuses a server that would let a failed hold guard commit (see check-constraints.ts).
    const checks = await assertCheckConstraintsEnforced(sequelize);
    if (checks.how === 'version')
      logger.warn('CHECK enforcement decided from the server version (no temporary-table privilege)', checks);
    const models = initModels(sequelize);
    if (config.SEED_DEMO_DATA) {
      const seeded = await seedDemoData(models);
      if (seeded) logger.info('demo catalog loaded', seeded);
    }
    // Redis is optional at start and later: the cache connects in the background and MySQL answers meanwhile.
    const cache = config.REDIS_URL
      ? redisSearchCache({
          url: config.REDIS_URL,
          // Keyed by database too: two deployments (or npm start and a test run) sharing one Redis never mix.
          prefix: `${config.REDIS_KEY_PREFIX}${config.dbName}:`,
          ttlMs: config.SEARCH_CACHE_TTL_MS,
          logger,
        })
      : noSearchCache();
    lifecycle.add('search cache', () => cache.close());
    const app = buildApp({ config, logger, sequelize, models, cache, metrics });
    const server = await listen(app, config.FLIGHT_SERVICE_PORT, config);
    lifecycle.add('HTTP server', () => closeServer(server));
    const port = listeningPort(server);
    logger.info('flight-service listening', { port, searchCache: config.REDIS_URL ? 'redis' : 'off' });
    return { port, url: `http://127.0.0.1:${port}`, server, close: () => lifecycle.close() };
  });
}

if (require.main === module) serveMain('flight-service', () => startFlightService());
