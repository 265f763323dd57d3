import { z } from 'zod';
import dotenv from 'dotenv';

/** Thrown when the environment is invalid; `message` is one line that names the variable. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

let dotenvLoaded = false;
/** Loads `.env` from the working directory once (never overriding real environment variables). */
export function loadDotenv(): void {
  if (dotenvLoaded) return;
  dotenvLoaded = true;
  dotenv.config({ quiet: true });
}

export const DEV_INTERNAL_TOKEN = 'dev-internal-token-change-me';

const emptyToUndefined = (v: unknown) => (v === '' ? undefined : v);

/** An integer environment variable within bounds, with a default. */
export const envInt = (def: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z.preprocess(
    emptyToUndefined,
    z
      .string()
      .regex(/^\d+$/, 'must be a non-negative integer')
      .transform(Number)
      .pipe(z.number().int().min(min).max(max))
      .default(def),
  );

export const envBool = (def: boolean) =>
  z.preprocess(
    emptyToUndefined,
    z
      .enum(['true', 'false', '1', '0'], { message: 'must be true or false' })
      .transform((v) => v === 'true' || v === '1')
      .default(def),
  );

export const envString = (def: string) => z.preprocess(emptyToUndefined, z.string().default(def));

/** A comma-separated list of http(s) base URLs (replicas of one service). */
export const envUrlList = (def: string) =>
  z.preprocess(
    emptyToUndefined,
    z
      .string()
      .default(def)
      .transform((s) =>
        s
          .split(',')
          .map((u) => u.trim().replace(/\/+$/, ''))
          .filter(Boolean),
      )
      .pipe(
        z
          .array(z.url({ protocol: /^https?$/, message: 'must be a comma-separated list of http(s) URLs' }))
          .min(1),
      ),
  );

/** Settings every process shares. */
export const baseEnvShape = {
  NODE_ENV: envString('development'),
  LOG_LEVEL: z.preprocess(
    emptyToUndefined,
    z.enum(['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly']).optional(),
  ),
  DB_HOST: envString('127.0.0.1'),
  DB_PORT: envInt(3306, 1, 65535),
  DB_USER: envString('root'),
  DB_PASSWORD: envString(''),
  DB_NAME_PREFIX: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .regex(/^[A-Za-z0-9_]*$/, 'may contain only letters, digits and _')
      .max(40)
      .default(''),
  ),
  INTERNAL_TOKEN: envString(DEV_INTERNAL_TOKEN),
  UPSTREAM_TIMEOUT_MS: envInt(10000, 1, 600000),
  /** Slow clients: the most a request head, and a whole request, may take to arrive (see listen()). */
  HTTP_HEADERS_TIMEOUT_MS: envInt(10000, 100, 600000),
  HTTP_REQUEST_TIMEOUT_MS: envInt(30000, 100, 3600000),
  /** `false`: no /metrics and nothing counted (README "Operating Skyway"; the benchmark's off switch). */
  METRICS_ENABLED: envBool(true),
  /**
   * `wsrep_sync_wait` of every database connection. On a Galera cluster 1 makes each read wait until this node has
   * applied what the cluster committed before it: a user, flight or booking written through one replica is found at
   * once through a replica on another node. 0 turns it off; a server without Galera ignores it.
   */
  DB_WSREP_SYNC_WAIT: envInt(1, 0, 15),
};

export type BaseEnv = z.infer<z.ZodObject<typeof baseEnvShape>>;

/**
 * Parses the environment with `schema`. Throws ConfigError with one line naming the first bad variable.
 * Derived defaults (`envServiceUrl`) are read from the same environment first. In production, variables listed in
 * `devSecrets` must not keep their development default.
 */
export function parseConfig<S extends z.ZodType<Record<string, unknown>>>(
  schema: S,
  env: NodeJS.ProcessEnv = process.env,
  devSecrets: Record<string, string> = { INTERNAL_TOKEN: DEV_INTERNAL_TOKEN },
): z.infer<S> {
  const result = schema.safeParse(withDerivedDefaults(schema, env));
  if (!result.success) {
    const issue = result.error.issues[0];
    const name = issue.path.map(String).join('.') || '(environment)';
    const got = issue.path.length === 1 ? env[String(issue.path[0])] : undefined;
    const shown = got === undefined ? '' : ` (got "${String(got).slice(0, 40)}")`;
    throw new ConfigError(`Invalid configuration: ${name} ${issue.message}${shown}`);
  }
  const cfg = result.data as Record<string, unknown>;
  const production = env.NODE_ENV === 'production';
  for (const [key, devValue] of Object.entries(devSecrets)) {
    if (production && (cfg[key] === devValue || env[key] === undefined || env[key] === '')) {
      throw new ConfigError(
        `Invalid configuration: ${key} must be set to a non-default secret when NODE_ENV=production`,
      );
    }
  }
  return result.data;
}

/** What every service's configuration adds to its variables: the resolved log level and its database name. */
export type ServiceConfig<S extends z.ZodType<Record<string, unknown>>> = Omit<z.infer<S>, 'LOG_LEVEL'> & {
  LOG_LEVEL: string;
  dbName: string;
};

/**
 * A service's configuration: `parseConfig`, with MIGRATE_ON_START defaulting to false in production (migrations
 * are then a deploy step, `npm run migrate`), the log level defaulted, and the database named
 * `<DB_NAME_PREFIX><database>`.
 */
export function parseServiceConfig<S extends z.ZodType<Record<string, unknown>>>(
  schema: S,
  database: string,
  env: NodeJS.ProcessEnv = process.env,
  devSecrets?: Record<string, string>,
): ServiceConfig<S> {
  const cfg = parseConfig(
    schema,
    { MIGRATE_ON_START: env.NODE_ENV === 'production' ? 'false' : 'true', ...env },
    devSecrets,
  ) as Record<string, unknown>;
  return {
    ...cfg,
    LOG_LEVEL: (cfg.LOG_LEVEL as string | undefined) ?? defaultLogLevel(env),
    dbName: `${cfg.DB_NAME_PREFIX as string}${database}`,
  } as ServiceConfig<S>;
}

/** Names of the secrets still on their development default (to warn about at start). */
export function devSecretsInUse(cfg: Record<string, unknown>, devSecrets: Record<string, string>): string[] {
  return Object.entries(devSecrets)
    .filter(([k, v]) => cfg[k] === v)
    .map(([k]) => k);
}

/** Default log level: `warn` under test, else `info`. */
export function defaultLogLevel(env: NodeJS.ProcessEnv = process.env): string {
  return env.NODE_ENV === 'test' ? 'warn' : 'info';
}

/** Default base URL of a service on this machine. */
export const localUrl = (port: number) => `http://127.0.0.1:${port}`;

/** The four default ports, from the contract. */
export const DEFAULT_PORTS = { gateway: 3000, flight: 3001, booking: 3002, notification: 3003 } as const;

export type ProcessName = keyof typeof DEFAULT_PORTS;

/** The variable each process takes its port from. */
export const PORT_VARIABLES: Record<ProcessName, string> = {
  gateway: 'GATEWAY_PORT',
  flight: 'FLIGHT_SERVICE_PORT',
  booking: 'BOOKING_SERVICE_PORT',
  notification: 'NOTIFICATION_SERVICE_PORT',
};

/** A process's port variable (`0`: any free port), its contract port by default. */
export const envPort = (service: ProcessName) => envInt(DEFAULT_PORTS[service], 0, 65535);

/** The port `service` is configured to listen on in `env`, parsed exactly as that process parses it. */
export function configuredPort(service: ProcessName, env: NodeJS.ProcessEnv = process.env): number {
  const name = PORT_VARIABLES[service];
  const parsed = envPort(service).safeParse(env[name]);
  if (!parsed.success) {
    throw new ConfigError(
      `Invalid configuration: ${name} ${parsed.error.issues[0].message} (got "${String(env[name]).slice(0, 40)}")`,
    );
  }
  return parsed.data;
}

/** Variables whose default follows another variable of the same environment: schema → the port it follows. */
const derivedUrls = new WeakMap<z.ZodType, ProcessName>();

/**
 * Where callers reach a service: a comma-separated list of base URLs (replicas), by default
 * `http://127.0.0.1:<that service's configured port>` — its `*_PORT` read from the same environment, so moving
 * only `FLIGHT_SERVICE_PORT` moves the flight service and every caller's default URL for it (contract v1.1).
 * `parseConfig` fills the default in; the static one here only serves a schema parsed on its own.
 */
export function envServiceUrl(service: ProcessName) {
  const schema = envUrlList(localUrl(DEFAULT_PORTS[service]));
  derivedUrls.set(schema, service);
  return schema;
}

/**
 * `env` with every derived default filled in where the variable is unset or empty (a service URL from the port
 * it follows). A port of `0` (any free port) cannot be a default URL: then the URL must be set.
 */
export function withDerivedDefaults(schema: z.ZodType, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  if (!(schema instanceof z.ZodObject)) return env;
  let out = env;
  for (const [key, field] of Object.entries(schema.shape as Record<string, z.ZodType>)) {
    const service = derivedUrls.get(field);
    if (service === undefined || (env[key] !== undefined && env[key] !== '')) continue;
    const port = configuredPort(service, env);
    if (port === 0) {
      throw new ConfigError(
        `Invalid configuration: ${key} must be set when ${PORT_VARIABLES[service]} is 0 (a port chosen at start ` +
          'cannot be its default)',
      );
    }
    out = { ...out, [key]: localUrl(port) };
  }
  return out;
}
