import { INTERNAL, createFlight, startHarness, type FlightServiceHarness } from './support';
import { searchCountBound } from '../src/domain/search';

/**
 * Search against rows the test writes straight into the table: ties on every sort field, pages on both sides of
 * the deferred join, and totals that come from a count as well as from a page that is not full.
 */
let h: FlightServiceHarness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.stop();
});

interface Row {
  id: number;
  flightNumber: string;
  departureTime: Date;
  arrivalTime: Date;
  price: number | string;
  boardingGate: string | null;
  totalSeats: number;
  availableSeats: number;
}

const COUNT = 130;
let trips: string;
let rows: Row[];

beforeAll(async () => {
  const flight = await createFlight(h, {
    departureTime: '2032-05-06T03:00:00.000Z',
    arrivalTime: '2032-05-06T05:00:00.000Z',
    price: 1100,
  });
  trips = `${flight.departureAirportCode}-${flight.arrivalAirportCode}`;
  // Three prices × four departure times on one UTC day: every (price, departureTime) pair is shared by ~10
  // flights, so only id orders them. Seats vary so `travellers` filters some out.
  await h.db.query(
    `INSERT INTO flights (flightNumber, airplaneId, departureAirportCode, arrivalAirportCode, departureTime, arrivalTime, price, boardingGate, totalSeats, availableSeats)
     SELECT CONCAT('TS', seq), ?, ?, ?,
            TIMESTAMP('2032-05-06') + INTERVAL (seq % 4) HOUR + INTERVAL 123000 MICROSECOND,
            TIMESTAMP('2032-05-06') + INTERVAL (seq % 4 + 2) HOUR,
            1000 + (seq % 3) * 100, IF(seq % 2, 'G7', NULL), 10, seq % 10
       FROM seq_1_to_${COUNT - 1}`,
    { replacements: [flight.airplaneId, flight.departureAirportCode, flight.arrivalAirportCode] },
  );
  [rows] = (await h.db.query(
    `SELECT id, flightNumber, departureTime, arrivalTime, price, boardingGate, totalSeats, availableSeats
       FROM flights WHERE departureAirportCode = ? AND arrivalAirportCode = ?`,
    { replacements: [flight.departureAirportCode, flight.arrivalAirportCode] },
  )) as unknown as [Row[]];
  expect(rows).toHaveLength(COUNT);
});

const search = async (q: string) =>
  (await h.http.get(`/api/v1/flights?trips=${trips}&${q}`).set(INTERNAL).expect(200)).body as {
    data: Array<Record<string, unknown>>;
    page: number;
    limit: number;
    total: number;
    totalRelation: string;
  };

/**
 * Every page of a search, checking each page's envelope: `total` is exact when the matches fit within the page's
 * count bound (ten pages ahead), else that bound as a lower bound. The flights in page order.
 */
async function allPages(q: string, limit: number, matches: number) {
  const seen: Array<Record<string, unknown>> = [];
  for (let page = 1; page <= Math.ceil(matches / limit) + 1; page++) {
    const body = await search(`${q}&limit=${limit}&page=${page}`);
    const bound = searchCountBound({ page, limit });
    expect({ page: body.page, limit: body.limit, total: body.total, rel: body.totalRelation }).toEqual({
      page,
      limit,
      total: Math.min(matches, bound),
      rel: matches > bound ? 'gte' : 'eq',
    });
    seen.push(...body.data);
  }
  return seen;
}

const byPriceThenLatestThenId = (a: Row, b: Row) =>
  Number(a.price) - Number(b.price) || b.departureTime.getTime() - a.departureTime.getTime() || a.id - b.id;

test('pages on both sides of the deferred join list every match once, ties broken by id', async () => {
  const expected = [...rows].sort(byPriceThenLatestThenId).map((r) => r.id);
  // limit 10: offsets 0…90 read directly, 100…130 through the deferred join; the last page is empty.
  for (const q of [
    'sort=price_ASC,departureTime_DESC',
    'sort=price_ASC,departureTime_DESC&tripDate=2032-05-06',
  ])
    expect((await allPages(q, 10, COUNT)).map((f) => f.id)).toEqual(expected);
  const byDeparture = [...rows]
    .sort((a, b) => a.departureTime.getTime() - b.departureTime.getTime() || a.id - b.id)
    .map((r) => r.id);
  expect((await allPages('', 7, COUNT)).map((f) => f.id)).toEqual(byDeparture);
});

test('filtered totals are exact whether counted or read off a page that is not full', async () => {
  const matching = rows.filter((r) => r.availableSeats >= 6 && Number(r.price) >= 1100);
  expect(matching.length).toBeGreaterThan(20);
  const q = 'travellers=6&price=1100-&tripDate=2032-05-06&sort=price_ASC';
  // A full first page of one day (counted after the page) and the short last page (total read off the page).
  expect((await search(`${q}&limit=20`)).total).toBe(matching.length);
  const last = Math.ceil(matching.length / 20);
  const lastPage = await search(`${q}&limit=20&page=${last}`);
  expect(lastPage.total).toBe(matching.length);
  expect(lastPage.data).toHaveLength(matching.length - (last - 1) * 20);
  // One page holds them all: the total without a count.
  const one = await search(`${q}&limit=100`);
  expect(one.total).toBe(matching.length);
  expect(one.data.map((f) => f.id)).toEqual(
    [...matching].sort((a, b) => Number(a.price) - Number(b.price) || a.id - b.id).map((r) => r.id),
  );
  // Past the end: no flights, still the exact total.
  expect(await search(`${q}&limit=100&page=3`)).toMatchObject({ data: [], total: matching.length });
  expect(await search('tripDate=2032-05-07')).toMatchObject({ data: [], total: 0 });
});

test('each flight has exactly the contract fields, times as UTC ISO strings with milliseconds', async () => {
  const { data } = await search('price=1200-1200&limit=100');
  expect(data.length).toBeGreaterThan(0);
  const byId = new Map(rows.map((r) => [r.id, r]));
  for (const f of data) {
    const r = byId.get(f.id as number) as Row;
    expect(f).toEqual({
      id: r.id,
      flightNumber: r.flightNumber,
      airplaneId: expect.any(Number),
      departureAirportCode: trips.slice(0, 3),
      arrivalAirportCode: trips.slice(4),
      departureTime: r.departureTime.toISOString(),
      arrivalTime: r.arrivalTime.toISOString(),
      price: 1200,
      boardingGate: r.boardingGate,
      totalSeats: r.totalSeats,
      availableSeats: r.availableSeats,
    });
    expect(Object.keys(f)).toEqual([
      'id',
      'flightNumber',
      'airplaneId',
      'departureAirportCode',
      'arrivalAirportCode',
      'departureTime',
      'arrivalTime',
      'price',
      'boardingGate',
      'totalSeats',
      'availableSeats',
    ]);
  }
  expect(data.some((f) => (f.departureTime as string).endsWith('.123Z'))).toBe(true);
});
