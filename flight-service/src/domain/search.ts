import { sqlTime } from '@skyway/common';

/** Turns the search parameters of `GET /api/v1/flights` into a parameterised SQL query. Pure: no I/O. */

export const SORT_FIELDS = ['price', 'departureTime', 'arrivalTime'] as const;
export type SortField = (typeof SORT_FIELDS)[number];

export interface SortKey {
  field: SortField;
  direction: 'ASC' | 'DESC';
}

export interface FlightSearch {
  from?: string;
  to?: string;
  minPrice?: number;
  maxPrice?: number;
  travellers?: number;
  /** Departure on this UTC day (YYYY-MM-DD). */
  tripDate?: string;
  sort: SortKey[];
  page: number;
  limit: number;
}

export interface SqlQuery {
  where: string;
  orderBy: string;
  params: Array<string | number>;
  limit: number;
  offset: number;
}

export function parseTrips(trips: string): { from: string; to: string } | undefined {
  const m = /^([A-Za-z]{3})-([A-Za-z]{3})$/.exec(trips);
  return m ? { from: m[1].toUpperCase(), to: m[2].toUpperCase() } : undefined;
}

/** `1000-5000`, `1000-` or `-5000` (inclusive bounds). */
export function parsePriceRange(price: string): { min?: number; max?: number } | undefined {
  const m = /^(\d{1,15})?-(\d{1,15})?$/.exec(price);
  if (!m || (m[1] === undefined && m[2] === undefined)) return undefined;
  const min = m[1] === undefined ? undefined : Number(m[1]);
  const max = m[2] === undefined ? undefined : Number(m[2]);
  if (min !== undefined && max !== undefined && min > max) return undefined;
  return { min, max };
}

/** `price_ASC,departureTime_DESC`; returns the unknown part as an error string. */
export function parseSort(sort: string): SortKey[] | string {
  const keys: SortKey[] = [];
  for (const part of sort.split(',')) {
    const m = /^([A-Za-z]+)_(ASC|DESC)$/i.exec(part.trim());
    if (!m) return `"${part}" is not field_ASC or field_DESC`;
    const field = SORT_FIELDS.find((f) => f === m[1]);
    if (!field) return `unknown sort field "${m[1]}" (allowed: ${SORT_FIELDS.join(', ')})`;
    if (keys.some((k) => k.field === field)) return `sort field "${field}" given twice`;
    keys.push({ field, direction: m[2].toUpperCase() as 'ASC' | 'DESC' });
  }
  return keys;
}

/** A real calendar day as YYYY-MM-DD, or undefined. */
export function parseDay(day: string): Date | undefined {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) return undefined;
  const start = new Date(`${day}T00:00:00.000Z`);
  return Number.isNaN(start.getTime()) || start.toISOString().slice(0, 10) !== day ? undefined : start;
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
  const start = parseDay(day);
  if (!start) throw new RangeError(`not a calendar day: ${day}`);
  const next = new Date(start.getTime() + DAY_MS);
  return {
    from: sqlTime(start),
    before: next.getUTCFullYear() > LAST_DATETIME_YEAR ? undefined : sqlTime(next),
  };
}

export function buildSearchQuery(s: FlightSearch): SqlQuery {
  const conditions: string[] = [];
  const params: Array<string | number> = [];
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
    // A half-open range keeps the departureTime index usable (no function on the column). UTC DATETIME
    // literals, so the bound does not depend on how a driver would format a Date.
    const day = dayRange(s.tripDate);
    conditions.push('departureTime >= ?');
    params.push(day.from);
    if (day.before !== undefined) {
      conditions.push('departureTime < ?');
      params.push(day.before);
    }
  }
  const sort = s.sort.length ? s.sort : [{ field: 'departureTime', direction: 'ASC' } as SortKey];
  // id last makes pages stable when sort values tie.
  const orderBy = [...sort.map((k) => `${k.field} ${k.direction}`), 'id ASC'].join(', ');
  return {
    where: conditions.length ? conditions.join(' AND ') : '1=1',
    orderBy,
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
  if (q.offset < DEFERRED_JOIN_FROM_OFFSET) {
    return {
      sql: `SELECT ${PAGE_COLUMNS} FROM flights f WHERE ${q.where} ORDER BY ${q.orderBy} LIMIT ? OFFSET ?`,
      values,
    };
  }
  return {
    sql: `SELECT ${PAGE_COLUMNS} FROM flights f JOIN (SELECT id FROM flights WHERE ${q.where} ORDER BY ${q.orderBy} LIMIT ? OFFSET ?) page USING (id) ORDER BY ${q.orderBy}`,
    values,
  };
}

/** How many flights match the filters. */
export function countStatement(q: SqlQuery): Statement {
  return { sql: `SELECT COUNT(*) AS total FROM flights WHERE ${q.where}`, values: q.params };
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
 * flights a day), so it is counted only when its page turns out full. Only the cost depends on this guess.
 */
export function countLikelyNeeded(s: FlightSearch, q: SqlQuery): boolean {
  return s.tripDate === undefined || q.offset > 0;
}

/** `2027-01-01 05:00:00.000` (a DATETIME(3) holding UTC) → `2027-01-01T05:00:00.000Z`. */
export const isoUtc = (sqlTime: string): string => `${sqlTime.slice(0, 10)}T${sqlTime.slice(11)}Z`;
