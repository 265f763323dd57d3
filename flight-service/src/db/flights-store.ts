import { QueryTypes, type Sequelize } from 'sequelize';
import { inTransaction, sqlTime, withConnection } from '@skyway/common';
import type { FlightChanges, FlightRecord, NewFlight } from '../domain/catalog';
import type { Outcome, Refusal } from '../domain/refusals';
import type { FlightSearch, SortKey } from '../domain/search';
import { Abort, settled } from './abort';
import { guardingReferences } from './foreign-keys';
import type { Models } from './models';
import { everReserved, takenSeatsLocked } from './reservations-store';

// ---- search: the parameters of `GET /api/v1/flights` as one parameterised SQL query (pure, unit-tested) ----

export interface SqlQuery {
  where: string;
  /**
   * The same filter for the count: without the departure-time range a day also adds for the page's sake (the
   * day's equality alone is the same set), so a day's count can be read from a (departureDate, …) index alone.
   */
  countWhere: string;
  countParams: Array<string | number>;
  orderBy: string;
  /** The index whose order is the page's order (see searchIndex). */
  index: string;
  params: Array<string | number>;
  limit: number;
  offset: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;
/** The last year a DATETIME holds (its range ends at 9999-12-31 23:59:59.999999). */
const LAST_DATETIME_YEAR = 9999;

/**
 * The half-open range `[from, before)` of DATETIME(3) literals (UTC) covering one UTC day. On the last day a
 * DATETIME holds there is no next day to bound it by (`sqlTime` of year 10000 is `+010000-01-01 00:00:00.`, which
 * MariaDB reads as garbage, so that day matched nothing): nothing stored lies past that day, so `before` is left
 * out. Throws on anything that is not a calendar day, rather than silently searching some other range.
 */
export function dayRange(day: string): { from: string; before?: string } {
  // The same check as the domain's parseDay (db imports only types from domain): a bound is never guessed.
  const start = new Date(`${day}T00:00:00.000Z`);
  if (
    !/^\d{4}-\d{2}-\d{2}$/.test(day) ||
    Number.isNaN(start.getTime()) ||
    start.toISOString().slice(0, 10) !== day
  ) {
    throw new RangeError(`not a calendar day: ${day}`);
  }
  const next = new Date(start.getTime() + DAY_MS);
  return {
    from: sqlTime(start),
    before: next.getUTCFullYear() > LAST_DATETIME_YEAR ? undefined : sqlTime(next),
  };
}

/**
 * The index that yields a search's rows in its sort order, so a page stops after `limit` (+ offset) entries:
 * chosen here because MariaDB's optimizer, with LIMIT, often prefers a worse one (a route search in price order
 * scanning the whole price index, a day's flights sorted after the fact). The filter's equalities (route, the
 * departure day) come first in the index, the first sort key next; a descending sort reads it backwards.
 * Each index is exactly (equalities, sort keys) with InnoDB's id after them, which is the tie-break. A second
 * key in index order: price then departureTime, either direction pair, without a tripDate (with one, the
 * day's flights are sorted). Any other second key sorts the matching rows (README, "Search at scale").
 */
export function searchIndex(s: FlightSearch, sort: SortKey[]): string {
  const [first, second] = sort;
  const route = s.from !== undefined && s.to !== undefined;
  const day = s.tripDate !== undefined;
  const mixed = second !== undefined && second.direction !== first.direction;
  const byDeparture = second?.field === 'departureTime';
  switch (first.field) {
    case 'departureTime':
      return route ? 'flights_route_departure_time' : 'flights_departure';
    case 'arrivalTime':
      if (day) return route ? 'flights_route_day_arrival' : 'flights_day_arrival';
      return route ? 'flights_route_arrival' : 'flights_arrival';
    case 'price':
      if (day) return route ? 'flights_route_day_price' : 'flights_day_price';
      if (!byDeparture) return route ? 'flights_route_price_only' : 'flights_price';
      if (mixed) return route ? 'flights_route_price_departure_desc' : 'flights_price_departure_desc';
      return route ? 'flights_route_price' : 'flights_price_departure';
  }
}

export function buildSearchQuery(s: FlightSearch): SqlQuery {
  const conditions: string[] = [];
  const params: Array<string | number> = [];
  /** Conditions (by position) that only steer the page's index, left out of the count. */
  const pageOnly = new Set<number>();
  if (s.from) {
    conditions.push('departureAirportCode = ?');
    params.push(s.from);
  }
  if (s.to) {
    conditions.push('arrivalAirportCode = ?');
    params.push(s.to);
  }
  if (s.minPrice !== undefined) {
    conditions.push('price >= ?');
    params.push(s.minPrice);
  }
  if (s.maxPrice !== undefined) {
    conditions.push('price <= ?');
    params.push(s.maxPrice);
  }
  if (s.travellers !== undefined) {
    conditions.push('availableSeats >= ?');
    params.push(s.travellers);
  }
  if (s.tripDate !== undefined) {
    // departureDate is the stored UTC day of departureTime: an equality, so the day's flights come from an
    // index in price or arrival order too. The half-open range on departureTime is the same set, and lets
    // the optimizer read a day in departure order from the departureTime indexes.
    const day = dayRange(s.tripDate);
    pageOnly.add(conditions.length);
    conditions.push('departureTime >= ?');
    params.push(day.from);
    if (day.before !== undefined) {
      pageOnly.add(conditions.length);
      conditions.push('departureTime < ?');
      params.push(day.before);
    }
    conditions.push('departureDate = ?');
    params.push(s.tripDate);
  }
  const sort = s.sort.length ? s.sort : [{ field: 'departureTime', direction: 'ASC' } as SortKey];
  // id last makes pages stable when sort values tie. It runs the way the first key does, so a sort that is an
  // index's order read backwards (price_DESC: the price index from its end) is still served by that index.
  const orderBy = [...sort.map((k) => `${k.field} ${k.direction}`), `id ${sort[0].direction}`].join(', ');
  // Every condition has exactly one parameter, so a condition's position is its parameter's.
  const counted = conditions.map((_, i) => i).filter((i) => !pageOnly.has(i));
  return {
    where: conditions.length ? conditions.join(' AND ') : '1=1',
    countWhere: counted.length ? counted.map((i) => conditions[i]).join(' AND ') : '1=1',
    countParams: counted.map((i) => params[i]),
    orderBy,
    index: searchIndex(s, sort),
    params,
    limit: s.limit,
    offset: (s.page - 1) * s.limit,
  };
}

/**
 * The flight fields in contract order. The two times are read as their DATETIME(3) text (UTC), which
 * `isoUtc` turns into the same ISO string `Date#toISOString` gives, without parsing a Date per value.
 */
const PAGE_COLUMNS =
  'f.id, f.flightNumber, f.airplaneId, f.departureAirportCode, f.arrivalAirportCode, ' +
  'CAST(f.departureTime AS CHAR) AS departureTimeUtc, CAST(f.arrivalTime AS CHAR) AS arrivalTimeUtc, ' +
  'f.price, f.boardingGate, f.totalSeats, f.availableSeats';

/**
 * Up to this offset a page is read straight from the table. Deeper pages use a deferred join: the inner query
 * skips the offset inside a covering index and only the page's rows are read. (For a first page the join
 * costs more than it saves.)
 */
export const DEFERRED_JOIN_FROM_OFFSET = 100;

export interface Statement {
  sql: string;
  values: Array<string | number>;
}

/** The page of flights, in the requested order (id breaks ties). */
export function pageStatement(q: SqlQuery): Statement {
  const values = [...q.params, q.limit, q.offset];
  const forced = `FORCE INDEX (${q.index})`;
  if (q.offset < DEFERRED_JOIN_FROM_OFFSET) {
    return {
      sql: `SELECT ${PAGE_COLUMNS} FROM flights f ${forced} WHERE ${q.where} ORDER BY ${q.orderBy} LIMIT ? OFFSET ?`,
      values,
    };
  }
  return {
    sql: `SELECT ${PAGE_COLUMNS} FROM flights f JOIN (SELECT id FROM flights ${forced} WHERE ${q.where} ORDER BY ${q.orderBy} LIMIT ? OFFSET ?) page USING (id) ORDER BY ${q.orderBy}`,
    values,
  };
}

/**
 * How many flights match the filters, counting at most `bound` of them (Elasticsearch's `track_total_hits`): the
 * inner query stops after `bound` index entries, so a broad search (no filter, a wide price range) costs the same
 * at 10k flights as at 1M. The optimizer picks the count's index (the range the filter narrows most), not the
 * page's: the page's order does not matter to a count.
 */
export function countStatement(q: SqlQuery, bound: number): Statement {
  return {
    sql: `SELECT COUNT(*) AS total FROM (SELECT 1 FROM flights WHERE ${q.countWhere} LIMIT ?) matches`,
    values: [...q.countParams, bound],
  };
}

/**
 * The exact total when the page alone proves it: a page with fewer rows than the limit is the last one, so the
 * total is the offset plus its rows — unless it is an empty page past the first, which may lie anywhere beyond
 * the end. Otherwise undefined: count.
 */
export function totalFromPage(q: SqlQuery, rowsOnPage: number): number | undefined {
  if (rowsOnPage < q.limit && (rowsOnPage > 0 || q.offset === 0)) return q.offset + rowsOnPage;
  return undefined;
}

/**
 * Whether a search probably matches more flights than one page holds, so its count is worth sending with the
 * page instead of after it. A search for one day of one route usually fits on a page (a route has a handful of
 * flights a day), so it is counted only when its page turns out full. A day alone holds every route's flights of
 * that day (thousands in a large catalog), whose page is nearly always full: it is counted with its page, in one
 * round trip. Only the cost depends on this guess.
 */
export function countLikelyNeeded(s: FlightSearch, q: SqlQuery): boolean {
  const oneRouteOneDay = s.tripDate !== undefined && s.from !== undefined && s.to !== undefined;
  return !oneRouteOneDay || q.offset > 0;
}

/** `2027-01-01 05:00:00.000` (a DATETIME(3) holding UTC) → `2027-01-01T05:00:00.000Z`. */
export const isoUtc = (sqlTime: string): string => `${sqlTime.slice(0, 10)}T${sqlTime.slice(11)}Z`;

/** A row of `pageStatement`. */
interface PageRow {
  id: number;
  flightNumber: string;
  airplaneId: number;
  departureAirportCode: string;
  arrivalAirportCode: string;
  departureTimeUtc: string;
  arrivalTimeUtc: string;
  price: number | string;
  boardingGate: string | null;
  totalSeats: number;
  availableSeats: number;
}

const totalOf = (rows: unknown) => Number((rows as Array<{ total: number | string }>)[0].total);

/** A search row as the contract's flight, fields in the documented order. */
const toListedFlight = (r: PageRow) => ({
  id: r.id,
  flightNumber: r.flightNumber,
  airplaneId: r.airplaneId,
  departureAirportCode: r.departureAirportCode,
  arrivalAirportCode: r.arrivalAirportCode,
  departureTime: isoUtc(r.departureTimeUtc),
  arrivalTime: isoUtc(r.arrivalTimeUtc),
  price: Number(r.price),
  boardingGate: r.boardingGate,
  totalSeats: r.totalSeats,
  availableSeats: r.availableSeats,
});

export type ListedFlight = ReturnType<typeof toListedFlight>;

// ---- GET /api/v1/flights/:id ----

/**
 * A flight with its airplane and both airports, in one query. This is the read booking-service makes for every
 * booking, so it skips the ORM's include machinery (several times the CPU of the query itself).
 */
async function findFlightDetail(sequelize: Sequelize, id: number) {
  const [row] = await sequelize.query<Record<string, unknown>>(
    `SELECT f.id, f.flightNumber, f.airplaneId, f.departureAirportCode, f.arrivalAirportCode, f.departureTime,
            f.arrivalTime, f.price, f.boardingGate, f.totalSeats, f.availableSeats,
            p.modelNumber AS p_modelNumber, p.capacity AS p_capacity, p.seatsPerRow AS p_seatsPerRow,
            d.id AS d_id, d.name AS d_name, d.address AS d_address, d.cityId AS d_cityId,
            a.id AS a_id, a.name AS a_name, a.address AS a_address, a.cityId AS a_cityId
       FROM flights f
       JOIN airplanes p ON p.id = f.airplaneId
       JOIN airports d ON d.code = f.departureAirportCode
       JOIN airports a ON a.code = f.arrivalAirportCode
      WHERE f.id = ?`,
    { replacements: [id], type: QueryTypes.SELECT },
  );
  if (!row) return undefined;
  const airport = (p: 'd' | 'a', code: unknown) => ({
    id: row[`${p}_id`],
    code,
    name: row[`${p}_name`],
    address: row[`${p}_address`],
    cityId: row[`${p}_cityId`],
  });
  return {
    id: row.id,
    flightNumber: row.flightNumber,
    airplaneId: row.airplaneId,
    departureAirportCode: row.departureAirportCode,
    arrivalAirportCode: row.arrivalAirportCode,
    departureTime: row.departureTime,
    arrivalTime: row.arrivalTime,
    price: Number(row.price),
    boardingGate: row.boardingGate,
    totalSeats: row.totalSeats,
    availableSeats: row.availableSeats,
    airplane: {
      id: row.airplaneId,
      modelNumber: row.p_modelNumber,
      capacity: row.p_capacity,
      seatsPerRow: row.p_seatsPerRow,
    },
    departureAirport: airport('d', row.departureAirportCode),
    arrivalAirport: airport('a', row.arrivalAirportCode),
  };
}

// ---- the store ----

export type FlightsStore = ReturnType<typeof flightsStore>;

/** Sees every SQL statement the search and the flight read send (tests count them to prove single-flight). */
export type QueryObserver = (sql: string) => void;

export function flightsStore(
  sequelize: Sequelize,
  { Flight }: Pick<Models, 'Flight'>,
  observe: QueryObserver = () => undefined,
) {
  const plain = (f: InstanceType<typeof Flight> | null): FlightRecord | null =>
    f ? (f.get({ plain: true }) as FlightRecord) : null;

  return {
    /**
     * Plain SQL on one pooled connection, one round trip where possible: a search that pins a day usually fits on
     * one page, so its page goes first and is counted only if full; other searches send both at once.
     * `matches` is how many flights match, counted up to `countUpTo` (the count stops there).
     */
    async search(
      search: FlightSearch,
      countUpTo: number,
    ): Promise<{ flights: ListedFlight[]; matches: number }> {
      const q = buildSearchQuery(search);
      const { rows, matches } = await withConnection(sequelize, async (unobserved) => {
        const run: typeof unobserved = (sql, values) => {
          observe(sql);
          return unobserved(sql, values);
        };
        const page = pageStatement(q);
        const count = countStatement(q, countUpTo);
        if (!countLikelyNeeded(search, q)) {
          const rows = (await run(page.sql, page.values)) as PageRow[];
          const known = totalFromPage(q, rows.length);
          if (known !== undefined) return { rows, matches: Math.min(known, countUpTo) };
          return { rows, matches: totalOf(await run(count.sql, count.values)) };
        }
        const [rows, counted] = (await run(`${page.sql}; ${count.sql}`, [
          ...page.values,
          ...count.values,
        ])) as [PageRow[], unknown];
        return { rows, matches: totalOf(counted) };
      });
      return { flights: rows.map(toListedFlight), matches };
    },

    /** The flight with its airplane and both airports (one query), or undefined. */
    detail: (id: number) => {
      observe('flight detail');
      return findFlightDetail(sequelize, id);
    },

    /** The flight as its resource, or null. */
    byId: async (id: number): Promise<FlightRecord | null> => plain(await Flight.findByPk(id)),

    /** The most seats any flight of this airplane has (0 when it flies none). */
    largestSeatsOf: async (airplaneId: number): Promise<number> =>
      (await Flight.max<number, InstanceType<typeof Flight>>('totalSeats', { where: { airplaneId } })) ?? 0,

    /**
     * Inserts a flight, returning its id. The airplane or an airport checked before may be deleted before the
     * INSERT: its foreign key refuses it (reference-missing).
     */
    create: (values: NewFlight & { totalSeats: number; availableSeats: number }): Promise<Outcome<number>> =>
      settled(async () => {
        const created = await guardingReferences({ noun: 'Flight', values }, () => Flight.create(values));
        return created.id;
      }),

    /**
     * Changes a flight in one transaction that holds its row (seat counts change only while it is locked):
     * `plan` rules on the locked record, its row width and its taken seats (share-locked, so a hold in flight
     * either committed before or waits), and returns what to write, or refuses (rolled back).
     */
    changeLocked: (
      id: number,
      plan: (
        current: FlightRecord,
        seats: { seatsPerRow: number; taken: string[] },
      ) => Promise<Outcome<FlightChanges & { availableSeats: number }>>,
    ): Promise<Outcome<void>> =>
      settled(() =>
        inTransaction(sequelize, async (transaction) => {
          const flight = await Flight.findByPk(id, { transaction, lock: transaction.LOCK.UPDATE });
          if (!flight) throw new Abort({ code: 'not-found', noun: 'Flight', id });
          const current = plain(flight) as FlightRecord;
          const [plane] = await sequelize.query<{ seatsPerRow: number }>(
            'SELECT seatsPerRow FROM airplanes WHERE id = ?',
            { replacements: [current.airplaneId], type: QueryTypes.SELECT, transaction },
          );
          const taken = await takenSeatsLocked(sequelize, id, transaction);
          const planned = await plan(current, { seatsPerRow: plane.seatsPerRow, taken });
          if (!planned.ok) throw new Abort(planned.refusal);
          const values = { ...current, ...planned.value };
          await guardingReferences({ noun: 'Flight', id, values }, () =>
            flight.update(planned.value, { transaction }),
          );
        }),
      ),

    /** Deletes a flight under its row lock, unless `refusal` (told whether it was ever reserved) refuses. */
    removeLocked: (
      id: number,
      refusal: (flightId: number, everReserved: boolean) => Refusal | undefined,
    ): Promise<Outcome<void>> =>
      settled(() =>
        inTransaction(sequelize, async (transaction) => {
          const flight = await Flight.findByPk(id, { transaction, lock: transaction.LOCK.UPDATE });
          if (!flight) throw new Abort({ code: 'not-found', noun: 'Flight', id });
          const refused = refusal(id, await everReserved(sequelize, id, transaction));
          if (refused) throw new Abort(refused);
          await flight.destroy({ transaction });
        }),
      ),
  };
}
