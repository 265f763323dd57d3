import type { Express } from 'express';
import type { Sequelize } from 'sequelize';
import { openapiPathFrom, serviceApp, type Logger } from '@skyway/common';
import type { NotificationConfig } from './config';
import type { NotificationsStore } from './db/notifications-store';
import { notificationRoutes } from './http/routes';

export const OPENAPI_PATH = openapiPathFrom(__dirname);

export interface AppDeps {
  config: Pick<NotificationConfig, 'INTERNAL_TOKEN'>;
  logger: Logger;
  sequelize: Sequelize;
  store: NotificationsStore;
  /** True while connected to the broker and consuming. */
  brokerReady: () => boolean;
}

export function buildApp(deps: AppDeps): Express {
  return serviceApp({
    logger: deps.logger,
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
