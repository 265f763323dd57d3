import { QueryTypes } from 'sequelize';
import { createTestDatabase, type TestDatabase } from '@skyway/common/testing';
import { buildSearchQuery, countStatement, pageStatement } from '../src/db/flights-store';
import { normaliseSearch, searchCountBound, type SearchParameters } from '../src/domain/search';
import { MIGRATIONS_DIR } from '../src/main';

/**
 * Every search shape the contract allows, EXPLAINed on a seeded table (50k flights, 30 routes, a year of days;
 * the bench's generator): the page is read in index order (no filesort, no full scan), so it stops after
 * `limit` index entries whatever the catalog's size. The plans are in the README ("Search at scale").
 */
const FLIGHTS = 50_000;
const AIRPORTS = ['DEL', 'BOM', 'BLR', 'MAA', 'CCU', 'HYD'];
let t: TestDatabase;

beforeAll(async () => {
  t = await createTestDatabase('explain', MIGRATIONS_DIR);
  const q = (sql: string) => t.sequelize.query(sql);
  await q(`INSERT INTO cities (name, createdAt, updatedAt) VALUES ('X', NOW(), NOW())`);
  await q(
    `INSERT INTO airports (code, name, cityId, createdAt, updatedAt) VALUES ${AIRPORTS.map((a) => `('${a}', '${a}', 1, NOW(), NOW())`).join(',')}`,
  );
  await q(
    `INSERT INTO airplanes (modelNumber, capacity, createdAt, updatedAt) VALUES ('A320', 180, NOW(), NOW())`,
  );
  await q(
    `INSERT INTO flights (flightNumber, airplaneId, departureAirportCode, arrivalAirportCode, departureTime, arrivalTime, price, totalSeats, availableSeats, createdAt, updatedAt)
     SELECT CONCAT('BX', seq), 1,
            ELT(1 + seq % 6, ${AIRPORTS.map((a) => `'${a}'`).join(',')}),
            ELT(1 + (seq + 1 + (seq DIV 6) % 5) % 6, ${AIRPORTS.map((a) => `'${a}'`).join(',')}),
            TIMESTAMP('2027-01-01') + INTERVAL ((seq * 7919) % (365 * 24 * 60)) MINUTE,
            TIMESTAMP('2027-01-01') + INTERVAL ((seq * 7919) % (365 * 24 * 60) + 120) MINUTE,
            100000 + ((seq * 104729) % 900000), 180, seq % 181, NOW(), NOW()
       FROM seq_1_to_${FLIGHTS}`,
  );
  await q('ANALYZE TABLE flights');
}, 120_000);

afterAll(async () => {
  await t.drop();
});

const FILTERS: Record<string, Partial<SearchParameters>> = {
  none: {},
  trips: { trips: 'DEL-BOM' },
  'trips+price': { trips: 'DEL-BOM', price: '200000-600000' },
  'trips+tripDate': { trips: 'DEL-BOM', tripDate: '2027-03-10' },
  'trips+travellers': { trips: 'DEL-BOM', travellers: 2 },
  'trips+tripDate+travellers': { trips: 'DEL-BOM', tripDate: '2027-03-10', travellers: 2 },
  'trips+tripDate+price+travellers': {
    trips: 'DEL-BOM',
    tripDate: '2027-03-10',
    price: '200000-600000',
    travellers: 2,
  },
  tripDate: { tripDate: '2027-03-10' },
  price: { price: '200000-600000' },
  travellers: { travellers: 2 },
};

/** Every single-key sort both ways, the default, and price with departure time in all four direction pairs. */
const SORTS = [
  undefined,
  ...['price', 'departureTime', 'arrivalTime'].flatMap((f) => [`${f}_ASC`, `${f}_DESC`]),
  'price_ASC,departureTime_ASC',
  'price_DESC,departureTime_DESC',
  'price_ASC,departureTime_DESC',
  'price_DESC,departureTime_ASC',
];

/** On one day, a two-key sort sorts that day's flights (bounded by the day, not by the catalog). */
const twoKeysOnADay = (filter: string, sort: string) => filter.includes('tripDate') && sort.includes(',');

interface PlanRow {
  id: number;
  select_type: string;
  table: string;
  type: string;
  key: string | null;
  rows: number;
  Extra: string | null;
}

async function explain(sql: string, values: Array<string | number>): Promise<PlanRow[]> {
  return t.sequelize.query<PlanRow>(`EXPLAIN ${sql}`, { replacements: values, type: QueryTypes.SELECT });
}

const shapes = Object.entries(FILTERS).flatMap(([filter, params]) =>
  SORTS.map((sort) => ({ filter, sort: sort ?? '(default)', params: { ...params, sort } })),
);

const plans: Array<{ filter: string; sort: string; page: number; plan: string }> = [];
const counts: typeof plans = [];
const planText = (rows: PlanRow[]) =>
  rows.map((r) => `${r.table}: ${r.type} ${r.key ?? '-'} (${r.rows}) ${r.Extra ?? ''}`).join('; ');

afterAll(() => {
  // The tables the README quotes: the pages, and the bounded counts (one per filter: the sort does not matter).
  console.log(plans.map((p) => `| ${p.filter} | ${p.sort} | ${p.page} | ${p.plan} |`).join('\n'));
  const byFilter = new Map(counts.map((c) => [c.filter, c.plan]));
  console.log([...byFilter].map(([filter, plan]) => `| ${filter} | ${plan} |`).join('\n'));
});

describe.each([1, 50])('page %i', (page) => {
  test.each(shapes)('$filter, sort $sort: read in index order', async ({ filter, sort, params }) => {
    const normalised = normaliseSearch({ page, limit: 20, ...params } as SearchParameters);
    if (!normalised.ok) throw new Error(JSON.stringify(normalised.refusal));
    const q = buildSearchQuery(normalised.value);
    const page1 = pageStatement(q);
    const rows = await explain(page1.sql, page1.values);
    const flights = rows.filter((r) => r.table === 'flights' || r.table === 'f');
    plans.push({
      filter,
      sort,
      page,
      plan: planText(rows),
    });
    // The page's own rows come from the chosen index, never a full scan, in index order (no filesort) —
    // except a two-key sort on one day, which sorts that day's flights.
    // (A deep page's outer query re-sorts only the page it joined: <derived2>.)
    expect(flights.map((r) => r.key)).toContain(q.index);
    for (const r of flights)
      expect([filter, sort, r.table, r.type]).not.toEqual([filter, sort, r.table, 'ALL']);
    const sorted = flights.some((r) => r.key === q.index && /filesort/.test(r.Extra ?? ''));
    const mayFilesort = twoKeysOnADay(filter, sort);
    expect([filter, sort, sorted]).toEqual([filter, sort, mayFilesort ? sorted : false]);
    // A price range is checked inside the index in every order, so a deep page's ids come from the index alone
    // ("Using index": covering), not from one row read per entry it skips.
    if (page > 1 && (filter === 'price' || filter === 'trips+price')) {
      const inner = flights.filter((r) => r.key === q.index);
      expect(inner).toHaveLength(1);
      expect([filter, sort, inner[0].Extra]).toEqual([
        filter,
        sort,
        expect.stringMatching(/Using index(?! condition)/),
      ]);
    }

    // The count is bounded: it materialises at most the page's bound + 1 matches (the derived table's rows), read
    // from an index — a range or ref for a filter an index narrows, a covering index scan for no filter. The
    // exception is travellers alone: availableSeats is only in the route + day index (each index holding it is
    // rewritten by every seat hold), so its matches are read off the rows in primary-key order, a scan that stops
    // at the bound.
    const countUpTo = searchCountBound(normalised.value) + 1;
    const count = countStatement(q, countUpTo);
    const countPlan = await explain(count.sql, count.values);
    counts.push({ filter, sort, page, plan: planText(countPlan) });
    const derived = countPlan.filter((r) => r.table.startsWith('<derived'));
    const inner = countPlan.filter((r) => r.table === 'flights');
    expect(count.values.at(-1)).toBe(countUpTo);
    expect(derived).toHaveLength(1);
    expect(Number(derived[0].rows)).toBeLessThanOrEqual(countUpTo);
    expect(inner).toHaveLength(1);
    if (filter !== 'travellers') {
      expect([filter, inner[0].type]).not.toEqual([filter, 'ALL']);
      expect([filter, inner[0].key]).not.toEqual([filter, null]);
    }
    // One route's day with travellers (and a price range) is counted from the index alone: availableSeats is the
    // last column of flights_route_day_price, so no match's row is read to check its seats.
    if (filter.startsWith('trips+tripDate+') && filter.includes('travellers')) {
      expect([filter, inner[0].key, inner[0].Extra]).toEqual([
        filter,
        'flights_route_day_price',
        expect.stringMatching(/Using index(?! condition)/),
      ]);
    }
  });
});
