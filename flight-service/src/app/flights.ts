import type { SearchCache } from '../clients/search-cache';
import type { CatalogStores } from '../db/catalog-store';
import type { FlightsStore } from '../db/flights-store';
import type { ReservationsStore } from '../db/reservations-store';
import {
  airplaneRefusal,
  airportsRefusal,
  decideFlightChange,
  decideNewFlight,
  flightDeletionRefusal,
  type FlightChanges,
  type NewFlight,
} from '../domain/catalog';
import { Refused, valueOrThrow } from '../domain/refusals';
import { searchCacheKey, searchCountBound, searchTotal, type FlightSearch } from '../domain/search';
import { seatMap } from '../domain/seats';

type Deps = { flights: FlightsStore; reservations: ReservationsStore } & Pick<
  CatalogStores,
  'airplanes' | 'airports'
>;

const AIRPORT_FIELDS = ['departureAirportCode', 'arrivalAirportCode'] as const;

/** Flights: search, read, and the admin's create / change / delete. */
export function flightUseCases({ flights, airplanes, airports, reservations }: Deps, cache: SearchCache) {
  const capacityOf = async (airplaneId: number): Promise<number> => {
    const capacity = await airplanes.capacityOf(airplaneId);
    const refusal = airplaneRefusal(airplaneId, capacity);
    if (refusal) throw new Refused(refusal);
    return capacity as number;
  };
  const assertAirportsExist = async (wanted: Array<[string, string]>) => {
    const refusal = airportsRefusal(wanted, await airports.knownCodes(wanted.map(([, code]) => code)));
    if (refusal) throw new Refused(refusal);
  };

  return {
    /** The page as JSON text: what the cache holds and the response carries, serialised once. */
    search: (search: FlightSearch): Promise<string> =>
      cache.read(searchCacheKey(search), async () => {
        const bound = searchCountBound(search);
        // One match past the bound is enough to tell "more than that".
        const { flights: data, matches } = await flights.search(search, bound + 1);
        const { total, totalRelation } = searchTotal(matches, bound);
        return JSON.stringify({ data, page: search.page, limit: search.limit, total, totalRelation });
      }),

    /**
     * The flight with its airplane and airports, as JSON text (cached like a search; a 404 is not cached).
     * `fresh` reads MySQL: for a caller about to refuse on what it reads (booking-service's second look).
     */
    get(id: number, { fresh = false } = {}): Promise<string> {
      const load = async () => {
        const flight = await flights.detail(id);
        if (!flight) throw new Refused({ code: 'not-found', noun: 'Flight', id });
        return JSON.stringify(flight);
      };
      return fresh ? load() : cache.read(`flight:${id}`, load);
    },

    /** The public seat map as JSON text: every seat, available or taken, never by whom (cached like a search). */
    seatMap: (id: number): Promise<string> =>
      cache.read(`seats:${id}`, async () => {
        const seating = await reservations.seating(id, 'all');
        if (!seating) throw new Refused({ code: 'not-found', noun: 'Flight', id });
        return JSON.stringify(seatMap(id, seating.flight, seating.taken));
      }),

    async create(flight: NewFlight) {
      const capacity = await capacityOf(flight.airplaneId);
      await assertAirportsExist(AIRPORT_FIELDS.map((k): [string, string] => [k, flight[k]]));
      const id = valueOrThrow(await flights.create(valueOrThrow(decideNewFlight(flight, capacity))));
      return { id, flight: await flights.byId(id) };
    },

    /** Checks the named rows first, then decides again under the flight's row lock with the row as it is then. */
    async change(id: number, changes: FlightChanges) {
      if (changes.airplaneId !== undefined) await capacityOf(changes.airplaneId);
      const airportChanges = AIRPORT_FIELDS.filter((k) => changes[k] !== undefined).map(
        (k): [string, string] => [k, changes[k] as string],
      );
      if (airportChanges.length) await assertAirportsExist(airportChanges);
      valueOrThrow(
        await flights.changeLocked(id, async (current, seats) => {
          const { airplaneId } = { ...current, ...changes };
          return decideFlightChange(current, changes, await airplanes.layoutOf(airplaneId), seats);
        }),
      );
      return flights.byId(id);
    },

    async remove(id: number): Promise<void> {
      valueOrThrow(await flights.removeLocked(id, flightDeletionRefusal));
    },
  };
}

export type FlightUseCases = ReturnType<typeof flightUseCases>;
