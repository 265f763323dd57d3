import { z } from 'zod';
import {
  baseEnvShape,
  envBool,
  envInt,
  envPort,
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
});

export type FlightConfig = ServiceConfig<typeof schema>;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): FlightConfig {
  return parseServiceConfig(schema, 'flights', env);
}
