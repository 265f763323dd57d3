import { INTERNAL, createFlight, startHarness, type FlightServiceHarness } from './support';

/**
 * The bounded search count (README, "Search at scale"): `total` is exact up to the page's bound — the next ten
 * pages after it, at most MAX_SEARCH_DEPTH (10 000) — and otherwise the bound with `totalRelation: "gte"`.
 * Routes with 10 050, 10 001, exactly 10 000, 9 999, 221 and exactly 220 flights are written straight into the
 * table (one INSERT … SELECT each), every one of them on one UTC day so the one-day search (page first, count
 * after) crosses the bound too. Page 90 of 100 is counted up to 10 000; page 1 of 20 (the default) up to 220.
 * The service runs with the Redis search cache.
 */
let h: FlightServiceHarness;
const DAY = '2033-01-10';
/** Route → how many flights it has. */
const SIZES = {
  over: 10_050,
  justOver: 10_001,
  exactly: 10_000,
  under: 9_999,
  pageOneOver: 221,
  pageOneExactly: 220,
};
const routes = Object.fromEntries(Object.keys(SIZES).map((k) => [k, ''])) as Record<
  keyof typeof SIZES,
  string
>;

beforeAll(async () => {
  h = await startHarness({
    REDIS_URL: 'redis://127.0.0.1:6379',
    SEARCH_CACHE_TTL_MS: '60000',
  });
  for (const [name, size] of Object.entries(SIZES) as Array<[keyof typeof SIZES, number]>) {
    // The API's flight is elsewhere in time (next week), so the route has exactly `size` flights on DAY.
    const flight = await createFlight(h);
    routes[name] = `${String(flight.departureAirportCode)}-${String(flight.arrivalAirportCode)}`;
    await h.db.query('DELETE FROM flights WHERE id = ?', { replacements: [flight.id] });
    // One flight a second from midnight: departure order is id order (10 050 s < a day).
    await h.db.query(
      `INSERT INTO flights (flightNumber, airplaneId, departureAirportCode, arrivalAirportCode, departureTime, arrivalTime, price, totalSeats, availableSeats)
       SELECT CONCAT('TT', seq), ?, ?, ?,
              TIMESTAMP(?) + INTERVAL seq SECOND, TIMESTAMP(?) + INTERVAL seq SECOND + INTERVAL 2 HOUR,
              1000 + seq % 500, 10, 5
         FROM seq_1_to_${size}`,
      {
        replacements: [flight.airplaneId, flight.departureAirportCode, flight.arrivalAirportCode, DAY, DAY],
      },
    );
  }
  await h.db.query('ANALYZE TABLE flights');
}, 180_000);

afterAll(async () => {
  await h.stop();
});

interface Answer {
  data: Array<{ id: number; departureTime: string }>;
  page: number;
  limit: number;
  total: number;
  totalRelation?: string;
}

const search = async (q: string): Promise<Answer> =>
  (await h.http.get(`/api/v1/flights?${q}`).set(INTERNAL).expect(200)).body as Answer;
const totals = (a: Answer) => ({ total: a.total, totalRelation: a.totalRelation });

/** Every way the store reaches a total: page and count together, page then count (a day), and no filter. */
const SHAPES = [
  'trips=ROUTE',
  'trips=ROUTE&sort=price_DESC',
  `trips=ROUTE&tripDate=${DAY}`,
  `trips=ROUTE&tripDate=${DAY}&sort=arrivalTime_ASC`,
  'trips=ROUTE&travellers=5&price=1000-',
];
/** Page 90 of 100: its bound is the deepest page's end, 10 000. */
const DEEP = '&limit=100&page=90';

test.each(SHAPES)(
  'page 90 of 100, more than 10 000 matches (%s): total 10000, a lower bound',
  async (shape) => {
    const answer = await search(shape.replace('ROUTE', routes.over) + DEEP);
    expect(totals(answer)).toEqual({ total: 10_000, totalRelation: 'gte' });
    expect(answer.data.length).toBe(answer.limit);
  },
);

test('one match past the bound is still a lower bound; the whole catalog too', async () => {
  expect(totals(await search(`trips=${routes.justOver}${DEEP}`))).toEqual({
    total: 10_000,
    totalRelation: 'gte',
  });
  expect(totals(await search(`tripDate=${DAY}&sort=price_ASC${DEEP}`))).toEqual({
    total: 10_000,
    totalRelation: 'gte',
  });
  expect(totals(await search('limit=1&page=10000'))).toEqual({ total: 10_000, totalRelation: 'gte' });
});

test.each(SHAPES)('page 90 of 100, exactly 10 000 matches (%s): total 10000, exact', async (shape) => {
  const answer = await search(shape.replace('ROUTE', routes.exactly) + DEEP);
  expect(totals(answer)).toEqual({ total: 10_000, totalRelation: 'eq' });
});

test.each(SHAPES)('page 90 of 100, fewer than 10 000 matches (%s): the exact total', async (shape) => {
  const answer = await search(shape.replace('ROUTE', routes.under) + DEEP);
  expect(totals(answer)).toEqual({ total: 9_999, totalRelation: 'eq' });
});

test.each(SHAPES)('page 1 of 20 counts ten pages ahead (%s): 220 exact, 221 a lower bound', async (shape) => {
  for (const route of [routes.pageOneOver, routes.over, routes.under])
    expect(totals(await search(shape.replace('ROUTE', route)))).toEqual({ total: 220, totalRelation: 'gte' });
  expect(totals(await search(shape.replace('ROUTE', routes.pageOneExactly)))).toEqual({
    total: 220,
    totalRelation: 'eq',
  });
});

test('the bound follows the page: deeper pages count further, in whole pages, up to 10 000', async () => {
  const q = `trips=${routes.over}`;
  expect(totals(await search(`${q}&page=5`))).toEqual({ total: 300, totalRelation: 'gte' });
  expect(totals(await search(`${q}&limit=100`))).toEqual({ total: 1_100, totalRelation: 'gte' });
  expect(totals(await search(`${q}&limit=100&page=89`))).toEqual({ total: 9_900, totalRelation: 'gte' });
  // 1 428 pages of 7 end at 9 996: a 1 429th (up to 10 003) may not be asked for, so the total never points at it.
  expect(totals(await search(`${q}&limit=7&page=1420`))).toEqual({ total: 9_996, totalRelation: 'gte' });
  expect(totals(await search(`trips=${routes.exactly}&limit=7&page=1420`))).toEqual({
    total: 9_996,
    totalRelation: 'gte',
  });
  // A page near the end of a route counts to the end, exactly.
  expect(totals(await search(`trips=${routes.under}&limit=100&page=95`))).toEqual({
    total: 9_999,
    totalRelation: 'eq',
  });
});

test('a narrow search is exact, counted or read off its page; an empty one is 0, eq', async () => {
  // Price 1000 is seq 500, 1000, …, 10 000: 20 flights. A full first page (counted), then one page for all.
  const q = `trips=${routes.over}&price=1000-1000`;
  expect(totals(await search(`${q}&limit=5`))).toEqual({ total: 20, totalRelation: 'eq' });
  expect(totals(await search(`${q}&limit=100`))).toEqual({ total: 20, totalRelation: 'eq' });
  expect(totals(await search(`trips=${routes.over}&tripDate=2033-01-11`))).toEqual({
    total: 0,
    totalRelation: 'eq',
  });
});

test('the last page each lower-bound total points to answers in full, in order, up to the deepest; past it is 400', async () => {
  const [ids] = (await h.db.query(
    `SELECT id FROM flights WHERE CONCAT(departureAirportCode, '-', arrivalAirportCode) = ? ORDER BY departureTime, id`,
    { replacements: [routes.over] },
  )) as unknown as [Array<{ id: number }>];
  expect(ids).toHaveLength(SIZES.over);
  // A pager that jumps to the last page it is shown: 1 → 11 → 21 → … → 91 → 100, each page full and in order.
  let answer = await search(`trips=${routes.over}&limit=100`);
  const visited = [1];
  for (;;) {
    const lastPage = Math.ceil(answer.total / answer.limit);
    if (lastPage === visited.at(-1)) break;
    answer = await search(`trips=${routes.over}&limit=100&page=${lastPage}`);
    visited.push(lastPage);
    expect(answer.data.map((f) => f.id)).toEqual(
      ids.slice((lastPage - 1) * 100, lastPage * 100).map((r) => r.id),
    );
    expect(answer.totalRelation).toBe('gte');
  }
  expect(visited).toEqual([1, 11, 21, 31, 41, 51, 61, 71, 81, 91, 100]);
  expect(totals(answer)).toEqual({ total: 10_000, totalRelation: 'gte' });
  const beyond = await h.http
    .get(`/api/v1/flights?trips=${routes.over}&limit=100&page=101`)
    .set(INTERNAL)
    .expect(400);
  expect(JSON.stringify(beyond.body)).toContain('page');
  // The exact route's last page is its last flights.
  const exact = await search(`trips=${routes.exactly}&limit=100&page=100&sort=departureTime_DESC`);
  expect(totals(exact)).toEqual({ total: 10_000, totalRelation: 'eq' });
  expect(exact.data).toHaveLength(100);
});

test('other lists keep an exact total and no totalRelation', async () => {
  const cities = (await h.http.get('/api/v1/airports').set(INTERNAL).expect(200)).body as Record<
    string,
    unknown
  >;
  expect(Object.keys(cities).sort()).toEqual(['data', 'limit', 'page', 'total']);
  const [[{ n }]] = (await h.db.query('SELECT COUNT(*) AS n FROM airports')) as unknown as [[{ n: number }]];
  expect(cities.total).toBe(Number(n));
  expect(cities.total).toBeGreaterThan(0);
});

test('the search cache stores and serves totalRelation; a catalog write is seen at once', async () => {
  const q = `trips=${routes.justOver}&sort=price_ASC&limit=100&page=91`;
  expect(totals(await search(q))).toEqual({ total: 10_000, totalRelation: 'gte' });
  // Behind the service's back (no catalog version bump): the route drops to exactly 10 000 flights.
  await h.db.query(
    `DELETE FROM flights WHERE CONCAT(departureAirportCode, '-', arrivalAirportCode) = ? ORDER BY id DESC LIMIT 1`,
    { replacements: [routes.justOver] },
  );
  const cached = await h.http.get(`/api/v1/flights?${q}`).set(INTERNAL).expect(200);
  expect(totals(cached.body as Answer)).toEqual({ total: 10_000, totalRelation: 'gte' }); // from Redis
  // A catalog write through the API bumps the version: the next search reads MySQL, now exact.
  await createFlight(h);
  expect(totals(await search(q))).toEqual({ total: 10_000, totalRelation: 'eq' });
  // And that answer is cached in turn, with its member.
  await h.db.query(
    `DELETE FROM flights WHERE CONCAT(departureAirportCode, '-', arrivalAirportCode) = ? ORDER BY id DESC LIMIT 1`,
    { replacements: [routes.justOver] },
  );
  expect(totals(await search(q))).toEqual({ total: 10_000, totalRelation: 'eq' });
});
