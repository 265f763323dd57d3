import { z } from 'zod';
import {
  baseEnvShape,
  envBool,
  envInt,
  envPort,
  envString,
  parseServiceConfig,
  type ServiceConfig,
} from '@skyway/common';

const schema = z.object({
  ...baseEnvShape,
  FLIGHT_SERVICE_PORT: envPort('flight'),
  MIGRATE_ON_START: envBool(true),
  /** Load the demo catalog when the flights table is empty (npm start turns this on). */
  SEED_DEMO_DATA: envBool(false),
  DB_POOL_MAX: envInt(20, 2, 500),
  /** Set: search results and flight reads are cached there (cache-aside). Unset: every read goes to MySQL. */
  REDIS_URL: z.preprocess(
    (v) => (v === '' ? undefined : v),
    z.url({ protocol: /^rediss?$/, message: 'must be a redis:// or rediss:// URL' }).optional(),
  ),
  REDIS_KEY_PREFIX: envString('skyway:flights:').pipe(
    z.string().regex(/^[A-Za-z0-9:_.-]{1,100}$/, 'may contain only letters, digits and : _ . -'),
  ),
  /** How long a cached search or flight read lives: how far `availableSeats` may lag behind bookings. */
  SEARCH_CACHE_TTL_MS: envInt(1000, 1, 24 * 3600 * 1000),
});

export type FlightConfig = ServiceConfig<typeof schema>;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): FlightConfig {
  return parseServiceConfig(schema, 'flights', env);
}
