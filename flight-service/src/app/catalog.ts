import type { CatalogStores, CrudStore } from '../db/catalog-store';
import type { FlightsStore } from '../db/flights-store';
import {
  capacityRefusal,
  cityRefusal,
  layoutRefusal,
  seatsPerRowRefusal,
  type AirplaneRecord,
  type AirportRecord,
} from '../domain/catalog';
import { accept, refuse, Refused, valueOrThrow, type Noun, type Refusal } from '../domain/refusals';

/** Checks a new or changed record against other tables; `current` is set on a change. */
type Check<R> = (next: Omit<R, 'id'>, current?: R) => Promise<Refusal | undefined>;

/** Create, list, get, change and delete of one catalog resource. */
export function catalogUseCases<R extends { id: number }>(store: CrudStore<R>, noun: Noun, check?: Check<R>) {
  return {
    async create(values: Omit<R, 'id'>) {
      const refusal = await check?.(values);
      if (refusal) throw new Refused(refusal);
      return valueOrThrow(await store.create(values));
    },
    list: (page: number, limit: number) => store.list(page, limit),
    async get(id: number): Promise<R> {
      const row = await store.find(id);
      if (!row) throw new Refused({ code: 'not-found', noun, id });
      return row;
    },
    /** `readChanges` parses the request once the record is known to exist (an unknown id is a 404 first). */
    async change(id: number, readChanges: () => Partial<Omit<R, 'id'>>) {
      return valueOrThrow(
        await store.change(id, async (current) => {
          const changes = readChanges();
          const refusal = await check?.({ ...current, ...changes }, current);
          return refusal ? refuse(refusal) : accept(changes);
        }),
      );
    },
    async remove(id: number): Promise<void> {
      valueOrThrow(await store.remove(id));
    },
  };
}

export type CatalogUseCases<R extends { id: number }> = ReturnType<typeof catalogUseCases<R>>;

export function catalog({ cities, airports, airplanes }: CatalogStores, flights: FlightsStore) {
  const airplaneRules: Check<AirplaneRecord> = async (next, current) =>
    layoutRefusal(next.capacity, next.seatsPerRow) ??
    (current ? capacityRefusal(next.capacity, await flights.largestSeatsOf(current.id)) : undefined);
  const airplaneUses = catalogUseCases<AirplaneRecord>(airplanes, 'Airplane', airplaneRules);
  return {
    cities: catalogUseCases(cities, 'City'),
    airports: catalogUseCases<AirportRecord>(airports, 'Airport', async (next) =>
      cityRefusal(next.cityId, await cities.exists(next.cityId)),
    ),
    airplanes: {
      ...airplaneUses,
      /** As every resource's change, plus: a new row width only while no flight of the airplane has a seat taken. */
      async change(id: number, readChanges: () => Partial<Omit<AirplaneRecord, 'id'>>) {
        return valueOrThrow(
          await airplanes.change(id, async (current, hasLiveSeats) => {
            const changes = readChanges();
            const next = { ...current, ...changes };
            const refusal =
              (await airplaneRules(next, current)) ??
              (next.seatsPerRow !== current.seatsPerRow
                ? seatsPerRowRefusal(current, next, await hasLiveSeats())
                : undefined);
            return refusal ? refuse(refusal) : accept(changes);
          }),
        );
      },
    },
  };
}
