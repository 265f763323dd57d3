import { accept, refuse, type FieldIssue, type Outcome } from './refusals';

/** The search parameters of `GET /api/v1/flights`, parsed and normalised. Pure: no I/O, no SQL (db/flights-store builds it). */

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

/** The query string's values as the request schema typed them (each text parameter still raw). */
export interface SearchParameters {
  page: number;
  limit: number;
  travellers?: number;
  trips?: string;
  price?: string;
  tripDate?: string;
  sort?: string;
}

/**
 * The deepest a search pages: `page × limit` at most this. Reaching row N costs skipping N-1 index entries, so
 * a cap keeps every page cheap at any catalog size; deeper than this, narrow the search (a day, a price range).
 */
export const MAX_SEARCH_DEPTH = 10_000;

/**
 * `total` of a search and how it relates to the number of matches: `eq`, it is that number; `gte`, more flights
 * match (Elasticsearch's `hits.total.relation`). Other lists' totals are always exact.
 */
export interface SearchTotal {
  total: number;
  totalRelation: 'eq' | 'gte';
}

/**
 * How many pages past the requested one a search counts exactly: enough for a pager to show the next ten pages
 * (or that there are fewer), and a count that costs about the same at any catalog size.
 */
export const SEARCH_PAGES_COUNTED_AHEAD = 10;

/**
 * The largest `total` a search reports for this page: the matches of the next ten pages after it, in whole pages,
 * never past the last page a client may ask for (`page × limit ≤ MAX_SEARCH_DEPTH`). A count reads one index entry
 * per match it counts, so counting every match of a broad search (a route of 33 000 flights, the whole catalog)
 * would cost more the bigger the catalog; this bound grows only with how deep the client pages (Elasticsearch's
 * `track_total_hits`, per page).
 */
export function searchCountBound(s: { page: number; limit: number }): number {
  const deepestPage = Math.floor(MAX_SEARCH_DEPTH / s.limit);
  return Math.min(deepestPage, s.page + SEARCH_PAGES_COUNTED_AHEAD) * s.limit;
}

/**
 * The total a count gives when it stopped at `bound + 1` matches: `eq` and exact up to the bound, beyond it the
 * bound itself as a lower bound (`gte`). The bound is whole pages, never below the page's own end, so
 * `ceil(total / limit)` is always a page the client can fetch, and it has flights on it.
 */
export function searchTotal(matches: number, bound: number): SearchTotal {
  return matches > bound ? { total: bound, totalRelation: 'gte' } : { total: matches, totalRelation: 'eq' };
}

/** The sort as the query builder applies it: departure time when none is given. */
export const effectiveSort = (s: FlightSearch): SortKey[] =>
  s.sort.length ? s.sort : [{ field: 'departureTime', direction: 'ASC' }];

/**
 * The cache key of a normalised search: the same for every spelling of the same search (parameter order,
 * defaults written out or not, `price_asc` or `price_ASC`, `del-bom` or `DEL-BOM`, no sort or the default one).
 */
export function searchCacheKey(s: FlightSearch): string {
  const parts = [
    `trips=${s.from ?? ''}-${s.to ?? ''}`,
    `price=${s.minPrice ?? ''}-${s.maxPrice ?? ''}`,
    `travellers=${s.travellers ?? ''}`,
    `tripDate=${s.tripDate ?? ''}`,
    `sort=${effectiveSort(s)
      .map((k) => `${k.field}_${k.direction}`)
      .join(',')}`,
    `page=${s.page}`,
    `limit=${s.limit}`,
  ];
  // v3: `total` is bounded per page (searchCountBound); v2 answers carried totalRelation. During a rolling deploy,
  // replicas still caching an older envelope write other keys, so a new replica never serves an answer its
  // OpenAPI document does not describe.
  return `search:v3:${parts.join('&')}`;
}

/** Normalises a search; every bad parameter is named in one refusal. */
export function normaliseSearch(q: SearchParameters): Outcome<FlightSearch> {
  const errors: FieldIssue[] = [];
  const search: FlightSearch = { sort: [], page: q.page, limit: q.limit, travellers: q.travellers };
  if (q.trips !== undefined) {
    const trip = parseTrips(q.trips);
    if (!trip) errors.push({ path: 'trips', message: 'must look like DEL-BOM' });
    else Object.assign(search, trip);
  }
  if (q.price !== undefined) {
    const range = parsePriceRange(q.price);
    if (!range)
      errors.push({ path: 'price', message: 'must look like 1000-5000, 1000- or -5000 (min ≤ max)' });
    else Object.assign(search, { minPrice: range.min, maxPrice: range.max });
  }
  if (q.tripDate !== undefined) {
    if (!parseDay(q.tripDate)) errors.push({ path: 'tripDate', message: 'must be a date YYYY-MM-DD' });
    else search.tripDate = q.tripDate;
  }
  if (q.sort !== undefined) {
    const sort = parseSort(q.sort);
    if (typeof sort === 'string') errors.push({ path: 'sort', message: sort });
    else search.sort = sort;
  }
  if (q.page * q.limit > MAX_SEARCH_DEPTH) {
    errors.push({
      path: 'page',
      message: `page × limit may be at most ${MAX_SEARCH_DEPTH}; narrow the search (trips, tripDate, price) to see further`,
    });
  }
  return errors.length ? refuse({ code: 'invalid-query', errors }) : accept(search);
}
