import { migrateMain } from '@skyway/common';
import { loadConfig } from './config';
import { MIGRATIONS_DIR } from './main';

/** `npm run migrate -w notification-service`: create the database if missing and apply migrations. */
migrateMain('notification-service', () => loadConfig(), MIGRATIONS_DIR);
