import {
  GATEWAY_OPENAPI,
  OpenApiResponseValidator,
  SERVICE_OPENAPI,
  type ObservedResponse,
} from './support/openapi-validator';

/** The response validator on its own, without a stack: it must refuse what the document does not say. */

const REQUEST_ID = { 'x-request-id': 'abc-123' };
const PROBLEM_JSON = { ...REQUEST_ID, 'content-type': 'application/problem+json; charset=utf-8' };
const JSON_TYPE = { ...REQUEST_ID, 'content-type': 'application/json; charset=utf-8' };
/** A public GET's 200 also carries its HTTP caching headers. */
const CACHING = { 'cache-control': 'public, max-age=1', etag: '"abc-123"' };
const CACHED_JSON = { ...JSON_TYPE, ...CACHING };

const problem = (status: number, instance: string, extra: object = {}) =>
  JSON.stringify({
    type: 'about:blank',
    title: 'x',
    status,
    detail: 'd',
    instance,
    requestId: 'abc-123',
    ...extra,
  });

const city = { id: 7, name: 'Delhi' };

describe('against the gateway document', () => {
  const gateway = () => OpenApiResponseValidator.fromFile(GATEWAY_OPENAPI);
  const check = (res: ObservedResponse) => gateway().check(res);

  test('a response the document describes passes', () => {
    expect(
      check({
        method: 'GET',
        url: '/api/v1/cities/7',
        status: 200,
        headers: CACHED_JSON,
        body: JSON.stringify(city),
      }),
    ).toBeUndefined();
    expect(
      check({
        method: 'get',
        url: 'http://127.0.0.1:3000/health',
        status: 200,
        headers: JSON_TYPE,
        json: { status: 'ok' },
      }),
    ).toBeUndefined();
    expect(
      check({ method: 'DELETE', url: '/api/v1/cities/7', status: 204, headers: REQUEST_ID, body: '' }),
    ).toBeUndefined();
  });

  test('a body that does not match its schema fails, naming the field', () => {
    const m = check({
      method: 'GET',
      url: '/api/v1/cities/7?x=1',
      status: 200,
      headers: CACHED_JSON,
      body: JSON.stringify({ id: 'seven', name: 'Delhi' }),
    });
    expect(m?.operation).toBe('GET /api/v1/cities/{id} (getCity)');
    expect(m?.problems.join()).toMatch(/body: \/id must be integer/);
  });

  test('a body that is missing a required field or is not JSON fails', () => {
    expect(
      check({ method: 'GET', url: '/api/v1/cities/7', status: 200, headers: CACHED_JSON, json: { id: 7 } })
        ?.problems,
    ).toEqual([expect.stringMatching(/must have required property 'name'/)]);
    expect(
      check({ method: 'GET', url: '/api/v1/cities/7', status: 200, headers: CACHED_JSON, body: '{"id":' })
        ?.problems,
    ).toEqual(['the application/json body is not JSON']);
  });

  test('an undocumented status fails', () => {
    const m = check({
      method: 'GET',
      url: '/api/v1/cities',
      status: 418,
      headers: PROBLEM_JSON,
      body: problem(418, '/'),
    });
    expect(m?.problems).toEqual([
      expect.stringMatching(/^status 418 is not documented \(documented: 200, 304, 400/),
    ]);
    // A 500 is never documented: a crash does not pass as "some error".
    expect(
      check({
        method: 'POST',
        url: '/api/v1/bookings',
        status: 500,
        headers: PROBLEM_JSON,
        body: problem(500, '/'),
      })?.problems[0],
    ).toMatch(/status 500 is not documented/);
  });

  test('an undocumented content type fails, and so does a body where none is documented', () => {
    expect(
      check({
        method: 'GET',
        url: '/api/v1/cities/7',
        status: 404,
        headers: JSON_TYPE,
        body: problem(404, '/x'),
      })?.problems,
    ).toEqual(['content type application/json is not documented (documented: application/problem+json)']);
    expect(
      check({ method: 'DELETE', url: '/api/v1/cities/7', status: 204, headers: JSON_TYPE, body: '{}' })
        ?.problems[0],
    ).toMatch(/documented without a body/);
  });

  test('a missing required header, or a header value off its schema, fails', () => {
    const m = check({
      method: 'POST',
      url: '/api/v1/auth/signin',
      status: 429,
      headers: { ...PROBLEM_JSON, 'retry-after': 'soon' },
      body: problem(429, '/api/v1/auth/signin'),
    });
    expect(m?.problems).toEqual([
      expect.stringMatching(/^header Retry-After: "soon" .*must be integer/),
      'required header RateLimit is missing',
      'required header RateLimit-Policy is missing',
    ]);
    expect(
      check({
        method: 'POST',
        url: '/api/v1/cities',
        status: 201,
        headers: { ...JSON_TYPE, location: '/api/v1/airports/7' },
        json: city,
      })?.problems[0],
    ).toMatch(/^header Location: .*must match pattern/);
    expect(
      check({
        method: 'GET',
        url: '/api/v1/cities/7',
        status: 200,
        headers: { 'content-type': 'application/json', ...CACHING },
        json: city,
      })?.problems,
    ).toEqual(['required header X-Request-Id is missing']);
    expect(
      check({
        method: 'GET',
        url: '/api/v1/cities/7',
        status: 200,
        headers: { ...JSON_TYPE, 'cache-control': 'public, max-age=1' },
        json: city,
      })?.problems,
    ).toEqual(['required header ETag is missing']);
  });

  test('an undocumented path or method fails unless unknown paths are allowed as 404 problems', () => {
    expect(
      check({
        method: 'GET',
        url: '/internal/v1/notifications',
        status: 404,
        headers: PROBLEM_JSON,
        body: problem(404, '/'),
      })?.problems,
    ).toEqual(['no path in the document matches /internal/v1/notifications']);
    expect(
      check({
        method: 'PUT',
        url: '/api/v1/cities/7',
        status: 404,
        headers: PROBLEM_JSON,
        body: problem(404, '/'),
      })?.problems,
    ).toEqual(['PUT is not documented for /api/v1/cities/{id}']);
    const lenient = OpenApiResponseValidator.fromFile(GATEWAY_OPENAPI, {
      unmatchedPaths: 'not-found-problem',
    });
    expect(
      lenient.check({
        method: 'GET',
        url: '/api/v1/nowhere',
        status: 404,
        headers: PROBLEM_JSON,
        body: problem(404, '/'),
      }),
    ).toBeUndefined();
    expect(
      lenient.check({ method: 'GET', url: '/api/v1/nowhere', status: 200, headers: JSON_TYPE, body: '{}' })
        ?.problems[0],
    ).toMatch(/not the 404 of a missing route/);
    expect(
      lenient.check({
        method: 'GET',
        url: '/api/v1/nowhere',
        status: 404,
        headers: PROBLEM_JSON,
        body: '{"title":1}',
      })?.problems[0],
    ).toMatch(/^body: .*must have required property 'type'/);
  });

  test('record keeps the count and every mismatch, and the report names each one', () => {
    const v = gateway();
    v.record({ method: 'GET', url: '/api/v1/cities/7', status: 200, headers: CACHED_JSON, json: city });
    v.record({ method: 'GET', url: '/api/v1/cities/7', status: 200, headers: CACHED_JSON, json: { id: 7 } });
    expect(v.checked).toBe(2);
    expect(v.mismatches).toHaveLength(1);
    expect(v.report()).toMatch(
      /^2 responses checked against "Skyway public API", 1 did not match; 1 of \d+ documented/,
    );
    expect(v.problems()[0]).toMatch(
      /^GET \/api\/v1\/cities\/7 → 200 \[GET \/api\/v1\/cities\/\{id\} \(getCity\)\]: body:/,
    );
  });
});

describe('status ranges and default', () => {
  const doc = {
    openapi: '3.1.0',
    info: { title: 'ranges', version: '1' },
    servers: [{ url: 'https://api.example.test/base' }],
    paths: {
      '/things/{id}': {
        get: {
          responses: {
            '200': {
              description: 'ok',
              content: { 'application/json': { schema: { $ref: '#/components/schemas/Thing' } } },
            },
            '4XX': {
              description: 'client error',
              content: { 'text/*': { schema: { type: 'string', maxLength: 5 } } },
            },
            default: { description: 'anything else' },
          },
        },
      },
      '/things/mine': { get: { responses: { '200': { description: 'mine' } } } },
    },
    components: {
      schemas: { Thing: { type: 'object', required: ['id'], properties: { id: { type: 'integer' } } } },
    },
  };
  const v = new OpenApiResponseValidator(doc);

  test('the server base path is stripped, a literal path beats a template, and ranges apply', () => {
    expect(
      v.check({
        method: 'GET',
        url: '/base/things/1',
        status: 200,
        headers: { 'content-type': 'application/json' },
        json: { id: 1 },
      }),
    ).toBeUndefined();
    expect(v.check({ method: 'GET', url: '/base/things/mine', status: 200, headers: {} })).toBeUndefined();
    expect(
      v.check({
        method: 'GET',
        url: '/base/things/1',
        status: 404,
        headers: [['Content-Type', 'text/plain']],
        body: 'nope',
      }),
    ).toBeUndefined();
    expect(
      v.check({
        method: 'GET',
        url: '/base/things/1',
        status: 404,
        headers: [['Content-Type', 'text/plain']],
        body: 'too long',
      })?.problems[0],
    ).toMatch(/must NOT have more than 5 characters/);
    expect(v.check({ method: 'GET', url: '/base/things/1', status: 503, headers: {} })).toBeUndefined();
    expect(
      v.check({
        method: 'GET',
        url: '/base/things/1',
        status: 200,
        headers: { 'content-type': 'application/json' },
        json: { id: 'x' },
      })?.problems[0],
    ).toMatch(/\/id must be integer/);
  });

  test('a document with a broken schema is refused, not silently accepted', () => {
    const broken = { ...doc, components: { schemas: { Thing: { type: 'object', unique: true } } } };
    expect(() => new OpenApiResponseValidator(broken).compileAllSchemas()).toThrow(
      /unknown keyword: "unique"/,
    );
  });
});

test.each([GATEWAY_OPENAPI, ...SERVICE_OPENAPI])(
  'every schema of %s compiles under strict JSON Schema 2020-12',
  (file) => {
    expect(OpenApiResponseValidator.fromFile(file).compileAllSchemas()).toBeGreaterThan(10);
  },
);
