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
import type { BookingService } from './app/bookings';
import type { IdempotencyKeys } from './app/idempotency';
import type { PaymentService } from './app/payments';
import type { SeatChanges } from './app/seat-changes';
import { pingDatabase } from './db/health';
import { refusalProblems } from './http/problems';
import { bookingRoutes } from './http/routes';
import type { BookingMetrics } from './metrics';

export interface BookingAppDeps {
  internalToken: string;
  logger: Logger;
  sequelize: Sequelize;
  /** The process's metrics (a fresh registry when absent, e.g. an app built by a test). */
  metrics?: ServiceMetrics;
  bookings: BookingService;
  payments: PaymentService;
  seatChanges: SeatChanges;
  idempotencyStore: IdempotencyKeys;
  /** booking-service's own counters (idempotency replays and conflicts are counted by the routes). */
  bookingMetrics?: BookingMetrics;
  /** True while the outbox relay has a broker connection. */
  brokerConnected: () => boolean;
}

export const OPENAPI_PATH = openapiPathFrom(__dirname);

export function buildApp(deps: BookingAppDeps): Express {
  return serviceApp({
    logger: deps.logger,
    observe: observability(deps.metrics ?? createServiceMetrics('booking-service'), deps.logger),
    readiness: {
      database: () => pingDatabase(deps.sequelize),
      broker: () => {
        if (!deps.brokerConnected()) throw new Error('RabbitMQ is not connected; events wait in the outbox');
      },
    },
    openapiPath: OPENAPI_PATH,
    internalToken: deps.internalToken,
    routes: [bookingRoutes(deps)],
    refusals: refusalProblems,
  });
}
