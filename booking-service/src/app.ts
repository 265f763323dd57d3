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
import type { BookingService } from './domain/bookings';
import type { PaymentService } from './domain/payments';
import type { IdempotencyStore } from './db/idempotency-store';
import { bookingRoutes } from './http/routes';

export interface BookingAppDeps {
  internalToken: string;
  logger: Logger;
  sequelize: Sequelize;
  bookings: BookingService;
  payments: PaymentService;
  idempotencyStore: IdempotencyStore;
  /** True while the outbox relay has a broker connection. */
  brokerConnected: () => boolean;
}

/** From src/ (ts-jest) and dist/ (node) alike. */
export const OPENAPI_PATH = path.join(__dirname, '..', 'src', 'http', 'openapi.yaml');

export function buildApp(deps: BookingAppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(requestId);
  app.use(
    healthRoutes({
      database: () => deps.sequelize.query('SELECT 1'),
      broker: () => {
        if (!deps.brokerConnected()) throw new Error('RabbitMQ is not connected; events wait in the outbox');
      },
    }),
  );
  app.use(apiDocsRoutes(OPENAPI_PATH));
  app.use(requireInternalToken(deps.internalToken));
  app.use(express.json({ limit: '100kb' }));
  app.use(bookingRoutes(deps));
  app.use(notFoundHandler);
  app.use(errorHandler(deps.logger));
  return app;
}
