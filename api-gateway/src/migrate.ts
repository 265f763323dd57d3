import { bootstrapDatabase, createLogger, createSequelize, loadDotenv, runMain } from '@skyway/common';
import { loadConfig } from './config';
import { MIGRATIONS_DIR } from './main';

/** `npm run migrate -w api-gateway`: create the database if missing and apply migrations. */
runMain('api-gateway migrate', async () => {
  loadDotenv();
  const config = loadConfig();
  const logger = createLogger('api-gateway', 'info');
  const sequelize = createSequelize(config, config.dbName);
  await bootstrapDatabase(config, sequelize, MIGRATIONS_DIR, logger);
  await sequelize.close();
});
