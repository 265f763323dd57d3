import { buildSearchQuery, parseDay, parsePriceRange, parseSort, parseTrips } from '../src/domain/search';
import { flightRuleErrors, reservationRefusal } from '../src/domain/rules';
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
      'departureAirportCode = ? AND arrivalAirportCode = ? AND price >= ? AND price <= ? AND availableSeats >= ? AND departureTime >= ? AND departureTime < ?',
    );
    expect(q.params).toEqual([
      'DEL',
      'BOM',
      1000,
      5000,
      2,
      new Date('2026-12-01T00:00:00Z'),
      new Date('2026-12-02T00:00:00Z'),
    ]);
    expect(q.orderBy).toBe('price ASC, id ASC');
    expect([q.limit, q.offset]).toEqual([10, 20]);
  });

  test('no filters: every flight, by departure time', () => {
    const q = buildSearchQuery({ sort: [], page: 1, limit: 20 });
    expect(q).toEqual({
      where: '1=1',
      orderBy: 'departureTime ASC, id ASC',
      params: [],
      limit: 20,
      offset: 0,
    });
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
