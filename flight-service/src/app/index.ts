import type { Stores } from '../db/stores';
import { catalog } from './catalog';
import { flightUseCases } from './flights';
import { holdUseCases } from './holds';

/** Every use case of flight-service, over its stores. */
export function useCases(stores: Stores) {
  return {
    ...catalog(stores, stores.flights),
    flights: flightUseCases(stores),
    holds: holdUseCases(stores.reservations),
  };
}

export type UseCases = ReturnType<typeof useCases>;
