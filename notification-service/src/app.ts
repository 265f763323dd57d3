import fs from 'node:fs';
import path from 'node:path';
import express from 'express';
import type { Sequelize } from 'sequelize';
import {
  apiDocsRoutes,
  errorHandler,
  healthRoutes,
  notFoundHandler,
  requestId,
  requireInternalToken,
  type Logger,
} from '@skyway/common';
import type { NotificationConfig } from './config';
import type { NotificationsStore } from './db/notifications-store';
import { notificationRoutes } from './http/routes';

/** tsc does not copy the YAML into dist/, so the compiled service reads it from src/. */
export const OPENAPI_PATH = [
  path.join(__dirname, 'http', 'openapi.yaml'),
  path.join(__dirname, '..', 'src', 'http', 'openapi.yaml'),
].find((p) => fs.existsSync(p)) as string;

export interface AppDeps {
  config: Pick<NotificationConfig, 'INTERNAL_TOKEN'>;
  logger: Logger;
  sequelize: Sequelize;
  store: NotificationsStore;
  /** True while connected to the broker and consuming. */
  brokerReady: () => boolean;
}

export function buildApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use(requestId);
  app.use(
    healthRoutes({
      database: () => deps.sequelize.authenticate(),
      broker: () => {
        if (!deps.brokerReady()) throw new Error('not connected to RabbitMQ (reconnecting)');
      },
    }),
  );
  app.use(apiDocsRoutes(OPENAPI_PATH));
  app.use(requireInternalToken(deps.config.INTERNAL_TOKEN));
  app.use(express.json({ limit: '100kb' }));
  app.use(notificationRoutes({ store: deps.store }));
  app.use(notFoundHandler);
  app.use(errorHandler(deps.logger));
  return app;
}
