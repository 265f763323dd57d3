import { migrateMain } from '@skyway/common';
import { loadConfig } from './config';
import { MIGRATIONS_DIR } from './main';

/** `npm run migrate -w flight-service`: create the database if missing and apply migrations. */
migrateMain('flight-service', () => loadConfig(), MIGRATIONS_DIR);
