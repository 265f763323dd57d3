import path from 'node:path';
import {
  bootstrapDatabase,
  closeServer,
  createLogger,
  createSequelize,
  devSecretsInUse,
  DEV_INTERNAL_TOKEN,
  listen,
  listeningPort,
  loadDotenv,
  onShutdown,
  runMain,
  type RunningService,
} from '@skyway/common';
import { buildApp } from './app';
import { loadConfig } from './config';
import { initModels } from './db/models';
import { seedDemoData } from './db/seeders/demo';

export const MIGRATIONS_DIR = path.join(__dirname, 'db', 'migrations');

/** Starts flight-service: config, database bootstrap, HTTP. Used by `main` and by tests of other services. */
export async function startFlightService(env: NodeJS.ProcessEnv = process.env): Promise<RunningService> {
  const config = loadConfig(env);
  const logger = createLogger('flight-service', config.LOG_LEVEL);
  for (const name of devSecretsInUse(config, { INTERNAL_TOKEN: DEV_INTERNAL_TOKEN })) {
    logger.warn(`${name} is the development default; set it before exposing this service`);
  }
  // Multiple statements let a seat reservation hold the flight row for a single round trip.
  const sequelize = createSequelize(config, config.dbName, {
    poolMax: config.DB_POOL_MAX,
    multipleStatements: true,
  });
  if (config.MIGRATE_ON_START) await bootstrapDatabase(config, sequelize, MIGRATIONS_DIR, logger);
  const models = initModels(sequelize);
  if (config.SEED_DEMO_DATA) {
    const seeded = await seedDemoData(models);
    if (seeded) logger.info('demo catalog loaded', seeded);
  }
  const app = buildApp({ config, logger, sequelize, models });
  const server = await listen(app, config.FLIGHT_SERVICE_PORT, config);
  const port = listeningPort(server);
  logger.info('flight-service listening', { port });
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    server,
    async close() {
      await closeServer(server);
      await sequelize.close();
    },
  };
}

if (require.main === module) {
  runMain('flight-service', async () => {
    loadDotenv();
    const running = await startFlightService();
    onShutdown(createLogger('flight-service', 'info'), [() => running.close()]);
  });
}
