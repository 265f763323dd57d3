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
import { loadConfig } from './config';
import { initModels } from './db/models';
import { seedDemoData } from './db/seeders/demo';

export const MIGRATIONS_DIR = path.join(__dirname, 'db', 'migrations');

/** Starts flight-service: config, database bootstrap, HTTP. Used by `main` and by tests of other services. */
export async function startFlightService(env: NodeJS.ProcessEnv = process.env): Promise<RunningService> {
  const config = loadConfig(env);
  const lifecycle = new Lifecycle();
  return lifecycle.start(async () => {
    // Multiple statements let a seat reservation hold the flight row for a single round trip.
    const { logger, sequelize } = await openService('flight-service', config, MIGRATIONS_DIR, {
      multipleStatements: true,
    });
    lifecycle.add('database pool', () => sequelize.close());
    const models = initModels(sequelize);
    if (config.SEED_DEMO_DATA) {
      const seeded = await seedDemoData(models);
      if (seeded) logger.info('demo catalog loaded', seeded);
    }
    const app = buildApp({ config, logger, sequelize, models });
    const server = await listen(app, config.FLIGHT_SERVICE_PORT, config);
    lifecycle.add('HTTP server', () => closeServer(server));
    const port = listeningPort(server);
    logger.info('flight-service listening', { port });
    return { port, url: `http://127.0.0.1:${port}`, server, close: () => lifecycle.close() };
  });
}

if (require.main === module) serveMain('flight-service', () => startFlightService());
