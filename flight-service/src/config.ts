import { z } from 'zod';
import { baseEnvShape, DEFAULT_PORTS, defaultLogLevel, envBool, envInt, parseConfig } from '@skyway/common';

const schema = z.object({
  ...baseEnvShape,
  FLIGHT_SERVICE_PORT: envInt(DEFAULT_PORTS.flight, 0, 65535),
  MIGRATE_ON_START: envBool(true),
  /** Load the demo catalog when the flights table is empty (npm start turns this on). */
  SEED_DEMO_DATA: envBool(false),
  DB_POOL_MAX: envInt(20, 2, 500),
});

export type FlightConfig = Omit<z.infer<typeof schema>, 'LOG_LEVEL'> & { LOG_LEVEL: string; dbName: string };

export function loadConfig(env: NodeJS.ProcessEnv = process.env): FlightConfig {
  const cfg = parseConfig(schema, {
    MIGRATE_ON_START: env.NODE_ENV === 'production' ? 'false' : 'true',
    ...env,
  });
  return { ...cfg, LOG_LEVEL: cfg.LOG_LEVEL ?? defaultLogLevel(env), dbName: `${cfg.DB_NAME_PREFIX}flights` };
}
