import type { Sequelize } from 'sequelize';
import { catalogStores } from './catalog-store';
import { flightsStore, type QueryObserver } from './flights-store';
import type { Models } from './models';
import { reservationsStore } from './reservations-store';

/** Every store of flight-service over one Sequelize instance and its models. */
export function openStores(
  sequelize: Sequelize,
  models: Models,
  observe?: QueryObserver,
  /** Sees the number of holds in each hold transaction (group commit). */
  observeHoldBatch?: (holds: number) => void,
) {
  return {
    ...catalogStores(models),
    flights: flightsStore(sequelize, models, observe),
    reservations: reservationsStore(sequelize, observeHoldBatch),
    /** The readiness probe's query. */
    ping: () => sequelize.query('SELECT 1'),
  };
}

export type Stores = ReturnType<typeof openStores>;
