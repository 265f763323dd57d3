import type { SearchCache } from '../clients/search-cache';
import type { Stores } from '../db/stores';
import { catalog } from './catalog';
import { flightUseCases } from './flights';
import { holdUseCases } from './holds';

type Writes = {
  create(...a: never[]): Promise<unknown>;
  change(...a: never[]): Promise<unknown>;
  remove(...a: never[]): Promise<unknown>;
};

/**
 * The catalog's writes tell the cache once they are settled and before they return (so before the response):
 * every later search misses what was cached before. Refused or failed writes too: the cost is a few misses,
 * and a failure after a commit cannot always be told from one before.
 */
function tellingCache<T extends Writes>(uses: T, cache: SearchCache): T {
  const after =
    <A extends unknown[], R>(fn: (...a: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      try {
        return await fn(...args);
      } finally {
        await cache.catalogChanged();
      }
    };
  return {
    ...uses,
    create: after(uses.create as (...a: unknown[]) => Promise<unknown>),
    change: after(uses.change as (...a: unknown[]) => Promise<unknown>),
    remove: after(uses.remove as (...a: unknown[]) => Promise<unknown>),
  };
}

/** Every use case of flight-service, over its stores and the search cache. */
export function useCases(stores: Stores, cache: SearchCache) {
  const { cities, airports, airplanes } = catalog(stores, stores.flights);
  return {
    cities: tellingCache(cities, cache),
    airports: tellingCache(airports, cache),
    airplanes: tellingCache(airplanes, cache),
    flights: tellingCache(flightUseCases(stores, cache), cache),
    holds: holdUseCases(stores.reservations),
  };
}

export type UseCases = ReturnType<typeof useCases>;
