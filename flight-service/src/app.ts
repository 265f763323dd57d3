import path from 'node:path';
import express from 'express';
import type { Sequelize } from 'sequelize';
import {
  adminForWrites,
  apiDocsRoutes,
  badRequest,
  errorHandler,
  healthRoutes,
  notFoundHandler,
  requestId,
  requireInternalToken,
  type Logger,
} from '@skyway/common';
import type { FlightConfig } from './config';
import type { Flight, Models } from './db/models';
import { crudRoutes } from './http/catalog';
import { flightRoutes } from './http/flights';
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
  const { City, Airport, Airplane, Flight } = models;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(requestId);
  app.use(healthRoutes({ database: () => sequelize.query('SELECT 1') }));
  app.use(apiDocsRoutes(OPENAPI_PATH));
  app.use(requireInternalToken(config.INTERNAL_TOKEN));
  app.use(express.json({ limit: '100kb' }));

  app.use(reservationRoutes(sequelize));

  app.use('/api/v1', adminForWrites);
  app.use(
    crudRoutes({
      path: '/api/v1/cities',
      noun: 'City',
      model: City,
      create: cityCreate,
      patch: cityPatch,
      referencedBy: 'airports',
    }),
  );
  app.use(
    crudRoutes({
      path: '/api/v1/airports',
      noun: 'Airport',
      model: Airport,
      create: airportCreate,
      patch: airportPatch,
      referencedBy: 'flights',
      check: async (next) => {
        if (!(await City.findByPk(next.cityId))) {
          throw badRequest('The body is invalid', [
            { path: 'cityId', message: `city ${next.cityId} does not exist` },
          ]);
        }
      },
    }),
  );
  app.use(
    crudRoutes({
      path: '/api/v1/airplanes',
      noun: 'Airplane',
      model: Airplane,
      create: airplaneCreate,
      patch: airplanePatch,
      referencedBy: 'flights',
      check: async (next, current) => {
        if (!current) return;
        const largest =
          (await Flight.max<number, Flight>('totalSeats', { where: { airplaneId: current.id } })) ?? 0;
        if (next.capacity < largest) {
          throw badRequest('The body is invalid', [
            { path: 'capacity', message: `a flight of this airplane already has ${largest} seats` },
          ]);
        }
      },
    }),
  );
  app.use(flightRoutes(sequelize, models));

  app.use(notFoundHandler);
  app.use(errorHandler(logger));
  return app;
}
