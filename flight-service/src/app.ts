import { Router, type Express } from 'express';
import type { Sequelize } from 'sequelize';
import { openapiPathFrom, serviceApp, type Logger } from '@skyway/common';
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

export const OPENAPI_PATH = openapiPathFrom(__dirname);

export function buildApp({ config, logger, sequelize, models }: FlightAppDeps): Express {
  const stores = openStores(sequelize, models);
  const uses = useCases(stores);
  return serviceApp({
    logger,
    readiness: { database: stores.ping },
    openapiPath: OPENAPI_PATH,
    internalToken: config.INTERNAL_TOKEN,
    routes: [
      reservationRoutes(uses.holds),
      Router().use('/api/v1', adminForWrites),
      crudRoutes({ path: '/api/v1/cities', resource: uses.cities, create: cityCreate, patch: cityPatch }),
      crudRoutes({
        path: '/api/v1/airports',
        resource: uses.airports,
        create: airportCreate,
        patch: airportPatch,
      }),
      crudRoutes({
        path: '/api/v1/airplanes',
        resource: uses.airplanes,
        create: airplaneCreate,
        patch: airplanePatch,
      }),
      flightRoutes(uses.flights),
    ],
    refusals: refusalsAsProblems,
  });
}
