import { Router, type Express } from 'express';
import type { Sequelize } from 'sequelize';
import {
  createServiceMetrics,
  observability,
  openapiPathFrom,
  serviceApp,
  type Logger,
  type ServiceMetrics,
} from '@skyway/common';
import { useCases } from './app/index';
import { noSearchCache, type SearchCache } from './clients/search-cache';
import type { FlightConfig } from './config';
import type { Models } from './db/models';
import type { QueryObserver } from './db/flights-store';
import { openStores } from './db/stores';
import { adminForWrites } from './http/admin-writes';
import { maxAgeSeconds, publicCaching } from './http/caching';
import { crudRoutes } from './http/catalog';
import { flightRoutes } from './http/flights';
import { refusalsAsProblems } from './http/problems';
import { reservationRoutes } from './http/reservations';
import { holdBatchObserver } from './metrics';
import {
  airplaneCreate,
  airplanePatch,
  airportCreate,
  airportPatch,
  cityCreate,
  cityPatch,
} from './http/schemas';

export interface FlightAppDeps {
  config: Pick<FlightConfig, 'INTERNAL_TOKEN'> & Partial<Pick<FlightConfig, 'SEARCH_CACHE_TTL_MS'>>;
  logger: Logger;
  sequelize: Sequelize;
  /** The process's metrics (a fresh registry when absent, e.g. an app built by a test). */
  metrics?: ServiceMetrics;
  models: Models;
  /** Search and flight-read cache (Redis when configured); none: every read goes to MySQL. */
  cache?: SearchCache;
  /** Sees the search and flight-read SQL (tests count it). */
  observeQueries?: QueryObserver;
}

export const OPENAPI_PATH = openapiPathFrom(__dirname);

export function buildApp({
  config,
  logger,
  sequelize,
  models,
  cache = noSearchCache(),
  observeQueries,
  metrics,
}: FlightAppDeps): Express {
  const serviceMetrics = metrics ?? createServiceMetrics('flight-service');
  const stores = openStores(sequelize, models, observeQueries, holdBatchObserver(serviceMetrics));
  const uses = useCases(stores, cache);
  return serviceApp({
    logger,
    observe: observability(serviceMetrics, logger),
    readiness: { database: stores.ping },
    openapiPath: OPENAPI_PATH,
    internalToken: config.INTERNAL_TOKEN,
    routes: [
      reservationRoutes(uses.holds),
      Router().use('/api/v1', adminForWrites),
      // Every public read (catalog lists and reads, search, flight read, the seat map) is cacheable over HTTP.
      Router().use('/api/v1', publicCaching(maxAgeSeconds(config.SEARCH_CACHE_TTL_MS ?? 1000))),
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
