import { bootstrapDatabase, createLogger, createSequelize, loadDotenv, runMain } from '@skyway/common';
import { loadConfig } from './config';
import { MIGRATIONS_DIR } from './main';

/** `npm run migrate -w notification-service`: create the database if missing and apply migrations. */
runMain('notification-service migrate', async () => {
  loadDotenv();
  const config = loadConfig();
  const logger = createLogger('notification-service', 'info');
  const sequelize = createSequelize(config, config.dbName);
  await bootstrapDatabase(config, sequelize, MIGRATIONS_DIR, logger);
  await sequelize.close();
});
