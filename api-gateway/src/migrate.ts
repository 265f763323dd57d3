import { migrateMain } from '@skyway/common';
import { loadConfig } from './config';
import { MIGRATIONS_DIR } from './main';

/** `npm run migrate -w api-gateway`: create the database if missing and apply migrations. */
migrateMain('api-gateway', () => loadConfig(), MIGRATIONS_DIR);
