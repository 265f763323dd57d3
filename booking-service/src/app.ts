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
import type { BookingService } from './app/bookings';
import type { IdempotencyKeys } from './app/idempotency';
import type { PaymentService } from './app/payments';
import { pingDatabase } from './db/health';
import { refusalProblems } from './http/problems';
import { bookingRoutes } from './http/routes';

export interface BookingAppDeps {
  internalToken: string;
  logger: Logger;
  sequelize: Sequelize;
  bookings: BookingService;
  payments: PaymentService;
  idempotencyStore: IdempotencyKeys;
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
      database: () => pingDatabase(deps.sequelize),
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
  app.use(refusalProblems);
  app.use(errorHandler(deps.logger));
  return app;
}
