import path from 'node:path';
import express from 'express';
import { createClient } from 'redis';
import {
  closeServer,
  Lifecycle,
  listen,
  listeningPort,
  metricsRoute,
  notFoundHandler,
  type Logger,
  type RunningService,
  openService,
  serveMain,
  type ServiceMetrics,
} from '@skyway/common';
import { buildApp } from './app';
import { Accounts } from './app/accounts';
import { DEFAULT_BCRYPT_BUDGET, PasswordHasher } from './clients/password-hasher';
import { TokenSigner } from './clients/token-signer';
import { DEV_ADMIN_PASSWORD, DEV_SECRETS, loadConfig } from './config';
import { UsersStore } from './db/users-store';
import { TOKEN_AUDIENCE, TOKEN_ISSUER } from './domain/tokens';

export const MIGRATIONS_DIR = path.join(__dirname, 'db', 'migrations');

/**
 * Connects to Redis, refusing to start when it cannot be reached (a misconfigured REDIS_URL should be
 * loud). Later outages reconnect in the background; meanwhile commands fail fast instead of queueing,
 * so the limiter lets requests through rather than hanging them.
 */
async function connectRedis(url: string, logger: Logger) {
  let connected = false;
  const client = createClient({
    url,
    disableOfflineQueue: true,
    socket: {
      connectTimeout: 3000,
      reconnectStrategy: (retries, cause) => (connected ? Math.min(100 * 2 ** retries, 3000) : cause),
    },
  });
  let lastLogged = 0;
  client.on('error', (err: Error) => {
    if (!connected || Date.now() - lastLogged < 10_000) return;
    lastLogged = Date.now();
    logger.warn('redis unavailable; rate limits are not enforced until it is back', { error: err.message });
  });
  client.on('ready', () => {
    if (connected) logger.info('redis connection restored');
  });
  await client.connect();
  connected = true;
  return client;
}

/** The gateway's metrics listener: `GET /metrics` and nothing else, on METRICS_PORT (not the public port). */
function metricsApp(metrics: ServiceMetrics): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(metricsRoute(metrics));
  app.use(notFoundHandler);
  return app;
}

export interface RunningGateway extends RunningService {
  /** Where `/metrics` is served (undefined with METRICS_ENABLED=false). */
  metricsPort?: number;
}

/** Starts the gateway: config, database bootstrap, admin user, Redis (when configured), HTTP, metrics. */
export async function startApiGateway(env: NodeJS.ProcessEnv = process.env): Promise<RunningGateway> {
  const config = loadConfig(env);
  const lifecycle = new Lifecycle();
  return lifecycle.start(async () => {
    // ADMIN_PASSWORD gets its own warning below, naming the account.
    const { logger, sequelize, metrics } = await openService('api-gateway', config, MIGRATIONS_DIR, {
      devSecrets: { INTERNAL_TOKEN: DEV_SECRETS.INTERNAL_TOKEN, JWT_SECRET: DEV_SECRETS.JWT_SECRET },
    });
    lifecycle.add('database pool', () => sequelize.close());
    const accounts = new Accounts({
      users: new UsersStore(sequelize),
      passwords: new PasswordHasher(config.BCRYPT_ROUNDS, {
        ...DEFAULT_BCRYPT_BUDGET,
        hashMaxWaiting: config.SIGNUP_QUEUE_MAX,
      }),
      tokens: new TokenSigner({
        secret: config.JWT_SECRET,
        lifetimeSeconds: config.JWT_EXPIRES_IN,
        issuer: TOKEN_ISSUER,
        audience: TOKEN_AUDIENCE,
      }),
    });
    const admin = await accounts.ensureAdmin(config.ADMIN_EMAIL, config.ADMIN_PASSWORD);
    if (admin !== 'kept') logger.info(`admin user ${admin}`, { email: config.ADMIN_EMAIL });
    if (config.ADMIN_PASSWORD === DEV_ADMIN_PASSWORD) {
      logger.warn(
        `ADMIN_PASSWORD is the development default "${DEV_ADMIN_PASSWORD}" for ${config.ADMIN_EMAIL}; set it before exposing this service`,
      );
    }
    let redis: Awaited<ReturnType<typeof connectRedis>> | undefined;
    if (config.REDIS_URL) {
      const client = await connectRedis(config.REDIS_URL, logger);
      lifecycle.add('redis', () => client.destroy());
      redis = client;
    }
    const app = buildApp({ config, logger, sequelize, accounts, redis, metrics });
    let metricsPort: number | undefined;
    if (metrics.enabled) {
      const metricsServer = await listen(metricsApp(metrics), config.METRICS_PORT, config);
      lifecycle.add('metrics server', () => closeServer(metricsServer));
      metricsPort = listeningPort(metricsServer);
    }
    const server = await listen(app, config.GATEWAY_PORT, config);
    lifecycle.add('HTTP server', () => closeServer(server));
    const port = listeningPort(server);
    logger.info('api-gateway listening', { port, metricsPort, rateLimitStore: redis ? 'redis' : 'memory' });
    return { port, url: `http://127.0.0.1:${port}`, server, metricsPort, close: () => lifecycle.close() };
  });
}

if (require.main === module) serveMain('api-gateway', () => startApiGateway());
