import { migrateMain } from '@skyway/common';
import { loadConfig } from './config';
import { MIGRATIONS_DIR } from './main';

/** `npm run migrate -w booking-service`: create the database if missing and apply migrations. */
migrateMain('booking-service', () => loadConfig(), MIGRATIONS_DIR);
