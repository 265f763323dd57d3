import type { Express } from 'express';
import type { Sequelize } from 'sequelize';
import {
  createServiceMetrics,
  observability,
  openapiPathFrom,
  serviceApp,
  type Logger,
  type ServiceMetrics,
} from '@skyway/common';
import type { NotificationConfig } from './config';
import type { NotificationsStore } from './db/notifications-store';
import { notificationRoutes } from './http/routes';

export const OPENAPI_PATH = openapiPathFrom(__dirname);

export interface AppDeps {
  config: Pick<NotificationConfig, 'INTERNAL_TOKEN'>;
  logger: Logger;
  sequelize: Sequelize;
  /** The process's metrics (a fresh registry when absent, e.g. an app built by a test). */
  metrics?: ServiceMetrics;
  store: NotificationsStore;
  /** True while connected to the broker and consuming. */
  brokerReady: () => boolean;
}

export function buildApp(deps: AppDeps): Express {
  return serviceApp({
    logger: deps.logger,
    observe: observability(deps.metrics ?? createServiceMetrics('notification-service'), deps.logger),
    readiness: {
      database: () => deps.sequelize.authenticate(),
      broker: () => {
        if (!deps.brokerReady()) throw new Error('not connected to RabbitMQ (reconnecting)');
      },
    },
    openapiPath: OPENAPI_PATH,
    internalToken: deps.config.INTERNAL_TOKEN,
    routes: [notificationRoutes({ store: deps.store })],
  });
}
