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
import { useCases } from './app/index';
import type { FlightConfig } from './config';
import type { Models } from './db/models';
import { openStores } from './db/stores';
import { adminForWrites } from './http/admin-writes';
import { crudRoutes } from './http/catalog';
import { flightRoutes } from './http/flights';
import { refusalsAsProblems } from './http/problems';
import { reservationRoutes } from './http/reservations';
import {
  airplaneCreate,
  airplanePatch,
  airportCreate,
  airportPatch,
  cityCreate,
  cityPatch,
} from './http/schemas';

export interface FlightAppDeps {
  config: Pick<FlightConfig, 'INTERNAL_TOKEN'>;
  logger: Logger;
  sequelize: Sequelize;
  models: Models;
}

export const OPENAPI_PATH = path.join(__dirname, '..', 'src', 'http', 'openapi.yaml');

export function buildApp({ config, logger, sequelize, models }: FlightAppDeps): express.Express {
  const stores = openStores(sequelize, models);
  const uses = useCases(stores);
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(requestId);
  app.use(healthRoutes({ database: stores.ping }));
  app.use(apiDocsRoutes(OPENAPI_PATH));
  app.use(requireInternalToken(config.INTERNAL_TOKEN));
  app.use(express.json({ limit: '100kb' }));

  app.use(reservationRoutes(uses.holds));

  app.use('/api/v1', adminForWrites);
  app.use(
    crudRoutes({ path: '/api/v1/cities', resource: uses.cities, create: cityCreate, patch: cityPatch }),
  );
  app.use(
    crudRoutes({
      path: '/api/v1/airports',
      resource: uses.airports,
      create: airportCreate,
      patch: airportPatch,
    }),
  );
  app.use(
    crudRoutes({
      path: '/api/v1/airplanes',
      resource: uses.airplanes,
      create: airplaneCreate,
      patch: airplanePatch,
    }),
  );
  app.use(flightRoutes(uses.flights));

  app.use(notFoundHandler);
  app.use(refusalsAsProblems);
  app.use(errorHandler(logger));
  return app;
}
