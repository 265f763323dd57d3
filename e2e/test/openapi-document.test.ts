import fs from 'node:fs';
import fc from 'fast-check';
import YAML from 'yaml';
import { parsePriceRange, parseSort, parseTrips } from '@skyway/testkit';
import { GATEWAY_OPENAPI } from './support/openapi-validator';

/**
 * What the gateway's document must say of every operation, checked over the document itself so that a new
 * operation cannot leave a gap the review once found (400 on bad ids, 413, 429, 502/504, Location, operationId).
 */

type Json = Record<string, unknown>;
const doc = YAML.parse(fs.readFileSync(GATEWAY_OPENAPI, 'utf8')) as Json;
const METHODS = ['get', 'put', 'post', 'delete', 'patch'];

interface Operation {
  name: string;
  path: string;
  op: Json;
  responses: Json;
}
const operations: Operation[] = Object.entries(doc.paths as Record<string, Json>).flatMap(([path, item]) =>
  METHODS.filter((m) => item[m]).map((m) => {
    const op = item[m] as Json;
    return { name: `${m.toUpperCase()} ${path}`, path, op, responses: op.responses as Json };
  }),
);
const names = (filter: (o: Operation) => boolean) => operations.filter(filter).map((o) => o.name);
const resolve = (node: Json): Json => {
  let current = node;
  while (typeof current.$ref === 'string') {
    current = current.$ref
      .slice(2)
      .split('/')
      .reduce<Json>((n, k) => n[k.replace(/~1/g, '/').replace(/~0/g, '~')] as Json, doc);
  }
  return current;
};

const NOT_LIMITED = new Set(['/health', '/ready', '/api/v1/health', '/api-docs/openapi.json']);
const PROXIED = /^\/api\/v1\/(cities|airports|airplanes|flights|bookings|payments)(\/|$)/;

test('every operation has a unique operationId', () => {
  const ids = operations.map((o) => o.op.operationId);
  expect(names((o) => typeof o.op.operationId !== 'string')).toEqual([]);
  expect(new Set(ids).size).toBe(ids.length);
});

test('every operation on an {id} documents the 400 of a malformed id', () => {
  expect(names((o) => o.path.includes('{id}') && !o.responses['400'])).toEqual([]);
});

test('every operation with a body documents 413', () => {
  expect(names((o) => o.op.requestBody !== undefined && !o.responses['413'])).toEqual([]);
});

test('every rate-limited operation documents 429 with Retry-After and the RateLimit headers', () => {
  const limited = operations.filter((o) => !NOT_LIMITED.has(o.path));
  expect(names((o) => limited.includes(o) && !o.responses['429'])).toEqual([]);
  for (const o of limited) {
    const headers = Object.keys((resolve(o.responses['429'] as Json).headers ?? {}) as Json);
    expect([o.name, headers]).toEqual([
      o.name,
      expect.arrayContaining(['Retry-After', 'RateLimit', 'RateLimit-Policy']),
    ]);
  }
});

test('every proxied operation documents 502 and 504', () => {
  expect(names((o) => PROXIED.test(o.path) && (!o.responses['502'] || !o.responses['504']))).toEqual([]);
});

test('every 201 documents a required Location header, and every response X-Request-Id', () => {
  const missingLocation = names((o) => {
    const created = o.responses['201'] as Json | undefined;
    if (!created) return false;
    const location = (resolve(created).headers as Json | undefined)?.Location as Json | undefined;
    return !location || resolve(location).required !== true;
  });
  expect(missingLocation).toEqual([]);
  const missingRequestId = operations.flatMap((o) =>
    Object.entries(o.responses)
      .filter(([, r]) => !((resolve(r as Json).headers as Json | undefined) ?? {})['X-Request-Id'])
      .map(([status]) => `${o.name} ${status}`),
  );
  expect(missingRequestId).toEqual([]);
});

describe('the search parameters document exactly what flight-service accepts', () => {
  const parameters = (doc.paths as Json)['/api/v1/flights'] as { get: { parameters: Json[] } };
  const pattern = (name: string) => {
    const p = parameters.get.parameters.find((x) => x.name === name) as { schema: { pattern: string } };
    return new RegExp(p.schema.pattern, 'u');
  };
  const priceChars = fc.string({
    unit: fc.constantFrom('0', '1', '9', '-', ' ', 'a', '+', '.'),
    maxLength: 20,
  });

  test('price: the pattern matches what parsePriceRange accepts (leaving out only min > max)', () => {
    const price = pattern('price');
    for (const s of [
      '-',
      '',
      '--',
      '1-2-3',
      ' 1-2',
      '1000-',
      '-5000',
      '1000-5000',
      '0-0',
      '1234567890123456-',
    ]) {
      const parsed = parsePriceRange(s);
      const crossField =
        parsed === undefined && /^\d+-\d+$/.test(s) && Number(s.split('-')[0]) > Number(s.split('-')[1]);
      expect([s, price.test(s)]).toEqual([s, parsed !== undefined || crossField]);
    }
    fc.assert(
      fc.property(priceChars, (s) => {
        const parsed = parsePriceRange(s);
        const [min, max] = s.split('-');
        const crossField = parsed === undefined && /^\d{1,15}-\d{1,15}$/.test(s) && Number(min) > Number(max);
        return price.test(s) === (parsed !== undefined || crossField);
      }),
      { numRuns: 2000 },
    );
  });

  test('sort: the pattern matches what parseSort accepts (leaving out only a field given twice)', () => {
    const sort = pattern('sort');
    const part = fc.oneof(
      fc
        .constantFrom('price', 'departureTime', 'arrivalTime', 'name', 'Price', '')
        .chain((f) => fc.constantFrom(`${f}_ASC`, `${f}_desc`, `${f}_Asc`, f, `${f}_UP`, ` ${f}_DESC `)),
    );
    fc.assert(
      fc.property(fc.array(part, { minLength: 1, maxLength: 4 }), (parts) => {
        const s = parts.join(',');
        // parseSort takes a list when every part would do alone and no field repeats; the pattern says the first.
        const eachValid = s.split(',').every((p) => typeof parseSort(p) !== 'string');
        return sort.test(s) === eachValid;
      }),
      { numRuns: 2000 },
    );
  });

  test('trips: the pattern matches what parseTrips accepts', () => {
    const trips = pattern('trips');
    const unit = fc.constantFrom('D', 'e', 'L', '-', '1', ' ', 'é');
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 9 }), (s) => trips.test(s) === (parseTrips(s) !== undefined)),
      { numRuns: 2000 },
    );
  });
});
