import {
  DEFERRED_JOIN_FROM_OFFSET,
  buildSearchQuery,
  countLikelyNeeded,
  countStatement,
  isoUtc,
  pageStatement,
  totalFromPage,
} from '../src/db/flights-store';
import {
  MAX_SEARCH_DEPTH,
  SEARCH_PAGES_COUNTED_AHEAD,
  parseDay,
  parsePriceRange,
  parseSort,
  parseTrips,
  searchCountBound,
  searchTotal,
} from '../src/domain/search';
import { reservationRefusal } from '../src/domain/holds';
import { flightRuleErrors } from '../src/domain/catalog';
import { toFlightSearch } from '../src/http/flights';

describe('search parameters → SQL', () => {
  test('trips, price range, travellers and day become parameterised conditions', () => {
    const q = buildSearchQuery({
      from: 'DEL',
      to: 'BOM',
      minPrice: 1000,
      maxPrice: 5000,
      travellers: 2,
      tripDate: '2026-12-01',
      sort: [{ field: 'price', direction: 'ASC' }],
      page: 3,
      limit: 10,
    });
    expect(q.where).toBe(
      'departureAirportCode = ? AND arrivalAirportCode = ? AND price >= ? AND price <= ? AND availableSeats >= ? AND departureTime >= ? AND departureTime < ? AND departureDate = ?',
    );
    expect(q.params).toEqual([
      'DEL',
      'BOM',
      1000,
      5000,
      2,
      '2026-12-01 00:00:00.000',
      '2026-12-02 00:00:00.000',
      '2026-12-01',
    ]);
    expect(q.orderBy).toBe('price ASC, id ASC');
    expect([q.limit, q.offset]).toEqual([10, 20]);
  });

  test('no filters: every flight, by departure time', () => {
    const q = buildSearchQuery({ sort: [], page: 1, limit: 20 });
    expect(q).toEqual({
      where: '1=1',
      countWhere: '1=1',
      countParams: [],
      orderBy: 'departureTime ASC, id ASC',
      index: 'flights_departure',
      params: [],
      limit: 20,
      offset: 0,
    });
  });

  test('a shallow page is read directly, a deep one through the ids of a covering index', () => {
    const at = (page: number) =>
      pageStatement(buildSearchQuery({ from: 'DEL', to: 'BOM', sort: [], page, limit: 20 }));
    const shallow = at(DEFERRED_JOIN_FROM_OFFSET / 20);
    expect(shallow.sql).not.toMatch(/JOIN/);
    expect(shallow.sql).toMatch(/ORDER BY departureTime ASC, id ASC LIMIT \? OFFSET \?$/);
    expect(shallow.values).toEqual(['DEL', 'BOM', 20, DEFERRED_JOIN_FROM_OFFSET - 20]);
    const deep = at(DEFERRED_JOIN_FROM_OFFSET / 20 + 1);
    expect(deep.sql).toMatch(
      /JOIN \(SELECT id FROM flights FORCE INDEX \(flights_route_departure_time\) WHERE .* ORDER BY departureTime ASC, id ASC LIMIT \? OFFSET \?\) page USING \(id\) ORDER BY departureTime ASC, id ASC$/,
    );
    expect(deep.values).toEqual(['DEL', 'BOM', 20, DEFERRED_JOIN_FROM_OFFSET]);
  });

  test("the count stops after the bound: a LIMIT inside, the filter's values then the bound", () => {
    const q = buildSearchQuery({ from: 'DEL', to: 'BOM', minPrice: 1000, sort: [], page: 1, limit: 20 });
    const count = countStatement(q, 221);
    expect(count.sql).toBe(
      'SELECT COUNT(*) AS total FROM (SELECT 1 FROM flights WHERE departureAirportCode = ? AND arrivalAirportCode = ? AND price >= ? LIMIT ?) matches',
    );
    expect(count.values).toEqual(['DEL', 'BOM', 1000, 221]);
  });

  test("a day's count leaves out the departure-time range the page uses: the day's equality is the same set", () => {
    const s = {
      from: 'DEL',
      to: 'BOM',
      tripDate: '2027-01-05',
      minPrice: 5,
      travellers: 2,
      sort: [],
      page: 1,
      limit: 20,
    };
    const q = buildSearchQuery(s);
    expect(q.where).toBe(
      'departureAirportCode = ? AND arrivalAirportCode = ? AND price >= ? AND availableSeats >= ? AND departureTime >= ? AND departureTime < ? AND departureDate = ?',
    );
    const count = countStatement(q, 221);
    expect(count.sql).toBe(
      'SELECT COUNT(*) AS total FROM (SELECT 1 FROM flights WHERE departureAirportCode = ? AND arrivalAirportCode = ? AND price >= ? AND availableSeats >= ? AND departureDate = ? LIMIT ?) matches',
    );
    expect(count.values).toEqual(['DEL', 'BOM', 5, 2, '2027-01-05', 221]);
    // The last day a DATETIME holds has no upper bound on the page either; the count is the same.
    const last = countStatement(
      buildSearchQuery({ tripDate: '9999-12-31', sort: [], page: 1, limit: 20 }),
      7,
    );
    expect(last).toEqual({
      sql: 'SELECT COUNT(*) AS total FROM (SELECT 1 FROM flights WHERE departureDate = ? LIMIT ?) matches',
      values: ['9999-12-31', 7],
    });
  });

  test('a search counts ten pages past the one asked for, never deeper than the deepest page', () => {
    expect(SEARCH_PAGES_COUNTED_AHEAD).toBe(10);
    expect(searchCountBound({ page: 1, limit: 20 })).toBe(220);
    expect(searchCountBound({ page: 5, limit: 20 })).toBe(300);
    expect(searchCountBound({ page: 1, limit: 100 })).toBe(1_100);
    expect(searchCountBound({ page: 90, limit: 100 })).toBe(MAX_SEARCH_DEPTH);
    expect(searchCountBound({ page: 100, limit: 100 })).toBe(MAX_SEARCH_DEPTH);
    expect(searchCountBound({ page: 10_000, limit: 1 })).toBe(MAX_SEARCH_DEPTH);
    // Whole pages: 1 428 pages of 7 reach 9 996; a 1 429th would end past the deepest row a client may ask for.
    expect(searchCountBound({ page: 1_420, limit: 7 })).toBe(9_996);
  });

  test('the total is exact up to the bound, then the bound as a lower bound', () => {
    expect(searchTotal(0, 220)).toEqual({ total: 0, totalRelation: 'eq' });
    expect(searchTotal(219, 220)).toEqual({ total: 219, totalRelation: 'eq' });
    expect(searchTotal(220, 220)).toEqual({ total: 220, totalRelation: 'eq' });
    expect(searchTotal(221, 220)).toEqual({ total: 220, totalRelation: 'gte' });
    expect(searchTotal(10_001, MAX_SEARCH_DEPTH)).toEqual({ total: 10_000, totalRelation: 'gte' });
  });

  test('a lower-bound total always points at a page that has flights and can be fetched', () => {
    for (const limit of [1, 7, 20, 100])
      for (const page of [1, 2, 9, 50, Math.floor(MAX_SEARCH_DEPTH / limit)]) {
        if (page * limit > MAX_SEARCH_DEPTH) continue;
        const bound = searchCountBound({ page, limit });
        // More matches than the bound: the total is the bound, its last page holds flights and is not too deep.
        const { total } = searchTotal(bound + 1, bound);
        const last = Math.ceil(total / limit);
        expect([page, limit, last >= page]).toEqual([page, limit, true]);
        expect([page, limit, last * limit <= MAX_SEARCH_DEPTH]).toEqual([page, limit, true]);
        expect([page, limit, (last - 1) * limit < total]).toEqual([page, limit, true]);
      }
  });

  test('the total is taken from the page only when the page proves it', () => {
    const q = (page: number) => buildSearchQuery({ sort: [], page, limit: 10 });
    expect(totalFromPage(q(1), 0)).toBe(0);
    expect(totalFromPage(q(1), 7)).toBe(7);
    expect(totalFromPage(q(3), 4)).toBe(24);
    // A full page may have more after it; an empty page past the first may lie anywhere beyond the end.
    expect(totalFromPage(q(1), 10)).toBeUndefined();
    expect(totalFromPage(q(3), 10)).toBeUndefined();
    expect(totalFromPage(q(3), 0)).toBeUndefined();
  });

  test('only a first page of one day of one route is read before deciding to count', () => {
    const s = { from: 'DEL', to: 'BOM', tripDate: '2027-01-05', sort: [], page: 1, limit: 20 };
    expect(countLikelyNeeded(s, buildSearchQuery(s))).toBe(false);
    expect(countLikelyNeeded({ ...s, page: 2 }, buildSearchQuery({ ...s, page: 2 }))).toBe(true);
    const noDay = { from: 'DEL', to: 'BOM', sort: [], page: 1, limit: 20 };
    expect(countLikelyNeeded(noDay, buildSearchQuery(noDay))).toBe(true);
    // A day across every route: thousands of flights in a large catalog, counted with the page.
    const dayAlone = { tripDate: '2027-01-05', sort: [], page: 1, limit: 20 };
    expect(countLikelyNeeded(dayAlone, buildSearchQuery(dayAlone))).toBe(true);
  });

  test('DATETIME(3) text in UTC becomes the ISO string a Date would give', () => {
    for (const iso of ['2027-01-01T05:00:00.000Z', '1970-01-01T00:00:00.000Z', '9999-12-31T23:59:59.999Z'])
      expect(isoUtc(iso.slice(0, 23).replace('T', ' '))).toBe(new Date(iso).toISOString());
  });

  test('open-ended price ranges', () => {
    expect(parsePriceRange('1000-')).toEqual({ min: 1000, max: undefined });
    expect(parsePriceRange('-5000')).toEqual({ min: undefined, max: 5000 });
    expect(parsePriceRange('1000-5000')).toEqual({ min: 1000, max: 5000 });
    for (const bad of ['-', '5000-1000', 'abc', '10-20-30', '1e3-2e3', ' 1-2'])
      expect(parsePriceRange(bad)).toBeUndefined();
  });

  test('trips are two IATA codes, case-insensitive', () => {
    expect(parseTrips('del-bom')).toEqual({ from: 'DEL', to: 'BOM' });
    for (const bad of ['DEL', 'DEL-', 'DELH-BOM', "DEL-BOM' OR 1=1"]) expect(parseTrips(bad)).toBeUndefined();
  });

  test('sort accepts only the three fields, each once, with a direction', () => {
    expect(parseSort('price_ASC,departureTime_DESC')).toEqual([
      { field: 'price', direction: 'ASC' },
      { field: 'departureTime', direction: 'DESC' },
    ]);
    expect(parseSort('flightNumber_ASC')).toMatch(/unknown sort field/);
    expect(parseSort('price')).toMatch(/not field_ASC/);
    expect(parseSort('price_ASC,price_DESC')).toMatch(/twice/);
    expect(parseSort('price_ASC; DROP TABLE flights')).toEqual(expect.any(String));
  });

  test('tripDate must be a real calendar day', () => {
    expect(parseDay('2026-02-28')).toEqual(new Date('2026-02-28T00:00:00Z'));
    for (const bad of ['2026-02-30', '2026-13-01', '26-01-01', '2026-1-1'])
      expect(parseDay(bad)).toBeUndefined();
  });

  test('the query string validator names every bad parameter at once', () => {
    try {
      toFlightSearch({ trips: 'X', price: 'cheap', tripDate: 'tomorrow', sort: 'name_ASC', limit: '500' });
      throw new Error('expected a problem');
    } catch (err) {
      const e = err as { status: number; errors: Array<{ path: string }> };
      expect(e.status).toBe(400);
      expect(e.errors.map((x) => x.path)).toEqual(['limit']);
    }
    try {
      toFlightSearch({ trips: 'X', price: 'cheap', tripDate: 'tomorrow', sort: 'name_ASC' });
      throw new Error('expected a problem');
    } catch (err) {
      const e = err as { errors: Array<{ path: string }> };
      expect(e.errors.map((x) => x.path)).toEqual(['trips', 'price', 'tripDate', 'sort']);
    }
  });
});

describe('flight rules', () => {
  const base = {
    departureAirportCode: 'DEL',
    arrivalAirportCode: 'BOM',
    departureTime: new Date('2026-12-01T10:00:00Z'),
    arrivalTime: new Date('2026-12-01T12:00:00Z'),
    totalSeats: 100,
  };
  test('a valid flight has no errors', () => expect(flightRuleErrors(base, 180)).toEqual([]));
  test('same airports, arrival not after departure, seats over capacity are each named', () => {
    const errors = flightRuleErrors(
      { ...base, arrivalAirportCode: 'DEL', arrivalTime: base.departureTime, totalSeats: 200 },
      180,
    );
    expect(errors.map((e) => e.path)).toEqual(['arrivalAirportCode', 'arrivalTime', 'totalSeats']);
  });
  test('reservations: departed before not-enough-seats; exact fit is allowed', () => {
    const now = new Date('2026-11-30T00:00:00Z');
    expect(
      reservationRefusal({ availableSeats: 2, departureTime: base.departureTime }, 2, now),
    ).toBeUndefined();
    expect(reservationRefusal({ availableSeats: 1, departureTime: base.departureTime }, 2, now)).toBe(
      'not-enough-seats',
    );
    expect(reservationRefusal({ availableSeats: 9, departureTime: now }, 1, now)).toBe('departed');
  });
});

describe('tripDate bounds (outside review: the day after 9999-12-31 became the literal "+010000-01-01 00:00:00.")', () => {
  const DATETIME_LITERAL = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}$/;
  test.each([
    '0000-01-01',
    '1969-12-31',
    '1970-01-01',
    '2028-02-29',
    '2026-12-31',
    '9999-12-30',
    '9999-12-31',
  ])('%s becomes valid DATETIME literals covering exactly that UTC day', (tripDate) => {
    const q = buildSearchQuery({ tripDate, sort: [], page: 1, limit: 20 });
    // The range, then the stored day (departureDate) that the day-first indexes serve.
    expect(q.params.at(-1)).toBe(tripDate);
    for (const p of q.params.slice(0, -1)) expect(p).toMatch(DATETIME_LITERAL);
    expect(q.params[0]).toBe(`${tripDate} 00:00:00.000`);
    if (tripDate === '9999-12-31') {
      // Nothing a DATETIME holds lies past this day: the range is open-ended, not bounded by year 10000.
      expect(q.where).toBe('departureTime >= ? AND departureDate = ?');
      expect(q.params).toHaveLength(2);
    } else {
      expect(q.where).toBe('departureTime >= ? AND departureTime < ? AND departureDate = ?');
      const next = new Date(Date.parse(`${tripDate}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
      expect(q.params[1]).toBe(`${next} 00:00:00.000`);
    }
  });

  test('a tripDate that is no calendar day is refused, never turned into some other range', () => {
    expect(() => buildSearchQuery({ tripDate: '2026-02-30', sort: [], page: 1, limit: 20 })).toThrow(
      RangeError,
    );
  });
});
