import { ADMIN, CUSTOMER, INTERNAL, createFlight, startHarness, type FlightServiceHarness } from './support';

let h: FlightServiceHarness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.stop();
});

const expectProblem = (
  res: { status: number; headers: Record<string, string>; body: Record<string, unknown> },
  status: number,
) => {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({
    status,
    type: expect.any(String),
    title: expect.any(String),
    detail: expect.any(String),
  });
  expect(res.body.requestId).toBe(res.headers['x-request-id']);
};
const fieldsOf = (res: { body: { errors?: Array<{ path: string }> } }) =>
  (res.body.errors ?? []).map((e) => e.path);

describe('health and auth', () => {
  test('/health and /ready answer without a token', async () => {
    await h.http.get('/health').expect(200, { status: 'ok' });
    const ready = await h.http.get('/ready').expect(200);
    expect(ready.body.checks).toEqual({ database: 'ok' });
  });

  test.each([
    ['get', '/api/v1/cities'],
    ['post', '/api/v1/cities'],
    ['get', '/api/v1/cities/1'],
    ['patch', '/api/v1/cities/1'],
    ['delete', '/api/v1/cities/1'],
    ['get', '/api/v1/airports'],
    ['post', '/api/v1/airports'],
    ['get', '/api/v1/airplanes'],
    ['post', '/api/v1/airplanes'],
    ['get', '/api/v1/flights'],
    ['post', '/api/v1/flights'],
    ['get', '/api/v1/flights/1'],
    ['patch', '/api/v1/flights/1'],
    ['delete', '/api/v1/flights/1'],
    ['put', '/internal/v1/flights/1/reservations/1'],
    ['delete', '/internal/v1/flights/1/reservations/1'],
  ] as const)('%s %s without a valid internal token is 401', async (method, path) => {
    expectProblem(await h.http[method](path).set({ 'X-User-Id': '1', 'X-User-Role': 'admin' }).send({}), 401);
    expectProblem(
      await h.http[method](path)
        .set({ ...ADMIN, 'X-Internal-Token': 'wrong' })
        .send({}),
      401,
    );
  });

  test.each([
    ['post', '/api/v1/cities'],
    ['patch', '/api/v1/airports/1'],
    ['delete', '/api/v1/airplanes/1'],
    ['post', '/api/v1/flights'],
  ] as const)('%s %s as a customer is 403, without identity 401', async (method, path) => {
    expectProblem(await h.http[method](path).set(CUSTOMER).send({ name: 'X' }), 403);
    expectProblem(await h.http[method](path).set(INTERNAL).send({ name: 'X' }), 401);
  });

  test('a client request id is echoed; a malformed one is replaced', async () => {
    const ok = await h.http.get('/health').set('X-Request-Id', 'abc.DEF-123_x');
    expect(ok.headers['x-request-id']).toBe('abc.DEF-123_x');
    const bad = await h.http.get('/health').set('X-Request-Id', 'no spaces allowed');
    expect(bad.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('cities, airports, airplanes', () => {
  test('a city goes through create, list, get, patch, delete', async () => {
    const created = await h.http.post('/api/v1/cities').set(ADMIN).send({ name: 'Pune' }).expect(201);
    expect(created.body).toEqual({ id: expect.any(Number), name: 'Pune' });
    const list = await h.http.get('/api/v1/cities?limit=100').set(INTERNAL).expect(200);
    expect(list.body).toMatchObject({ page: 1, limit: 100, total: expect.any(Number) });
    expect(list.body.data).toContainEqual(created.body);
    await h.http.get(`/api/v1/cities/${created.body.id}`).set(INTERNAL).expect(200, created.body);
    const patched = await h.http
      .patch(`/api/v1/cities/${created.body.id}`)
      .set(ADMIN)
      .send({ name: 'Pune City' })
      .expect(200);
    expect(patched.body.name).toBe('Pune City');
    await h.http.delete(`/api/v1/cities/${created.body.id}`).set(ADMIN).expect(204);
    expectProblem(await h.http.get(`/api/v1/cities/${created.body.id}`).set(INTERNAL), 404);
  });

  test('duplicate city names and airport codes are 409', async () => {
    const city = await h.http.post('/api/v1/cities').set(ADMIN).send({ name: 'Goa' }).expect(201);
    expectProblem(await h.http.post('/api/v1/cities').set(ADMIN).send({ name: 'Goa' }), 409);
    await h.http
      .post('/api/v1/airports')
      .set(ADMIN)
      .send({ code: 'goi', name: 'Dabolim', cityId: city.body.id })
      .expect(201);
    expectProblem(
      await h.http
        .post('/api/v1/airports')
        .set(ADMIN)
        .send({ code: 'GOI', name: 'Again', cityId: city.body.id }),
      409,
    );
  });

  test('an airport needs a 3-letter code and an existing city; codes are stored upper-case', async () => {
    const res = await h.http.post('/api/v1/airports').set(ADMIN).send({ code: 'GO1', name: '', cityId: 'x' });
    expectProblem(res, 400);
    expect(fieldsOf(res)).toEqual(['code', 'name', 'cityId']);
    const missingCity = await h.http
      .post('/api/v1/airports')
      .set(ADMIN)
      .send({ code: 'XYZ', name: 'X', cityId: 999999 });
    expectProblem(missingCity, 400);
    expect(fieldsOf(missingCity)).toEqual(['cityId']);
  });

  test('deleting a referenced city or airport is 409; unreferenced is 204', async () => {
    const flight = await createFlight(h);
    const airport = (await h.http.get('/api/v1/airports?limit=100').set(INTERNAL)).body.data.find(
      (a: { code: string }) => a.code === flight.departureAirportCode,
    );
    expectProblem(await h.http.delete(`/api/v1/airports/${airport.id}`).set(ADMIN), 409);
    expectProblem(await h.http.delete(`/api/v1/cities/${airport.cityId}`).set(ADMIN), 409);
    expectProblem(await h.http.delete(`/api/v1/airplanes/${flight.airplaneId}`).set(ADMIN), 409);
    await h.http.delete(`/api/v1/flights/${flight.id}`).set(ADMIN).expect(204);
    await h.http.delete(`/api/v1/airports/${airport.id}`).set(ADMIN).expect(204);
  });

  test('airplane capacity is 1–1000 and cannot drop below an existing flight', async () => {
    for (const capacity of [0, 1001, 12.5, '100']) {
      const res = await h.http.post('/api/v1/airplanes').set(ADMIN).send({ modelNumber: 'X', capacity });
      expectProblem(res, 400);
      expect(fieldsOf(res)).toEqual(['capacity']);
    }
    const flight = await createFlight(h, { totalSeats: 150 });
    const res = await h.http
      .patch(`/api/v1/airplanes/${flight.airplaneId}`)
      .set(ADMIN)
      .send({ capacity: 100 });
    expectProblem(res, 400);
    await h.http
      .patch(`/api/v1/airplanes/${flight.airplaneId}`)
      .set(ADMIN)
      .send({ capacity: 150 })
      .expect(200);
  });

  test('lists reject limit > 100 and bad pages', async () => {
    expect(fieldsOf(await h.http.get('/api/v1/cities?limit=101').set(INTERNAL).expect(400))).toEqual([
      'limit',
    ]);
    expect(fieldsOf(await h.http.get('/api/v1/airplanes?page=0').set(INTERNAL).expect(400))).toEqual([
      'page',
    ]);
    expect(fieldsOf(await h.http.get('/api/v1/airports?page=x').set(INTERNAL).expect(400))).toEqual(['page']);
  });
});

describe('flights', () => {
  test('create: availableSeats = totalSeats, defaulting to capacity; get embeds airplane and airports', async () => {
    const flight = await createFlight(h, {}, 120);
    expect(flight).toMatchObject({ totalSeats: 120, availableSeats: 120, price: 450000, boardingGate: null });
    const got = await h.http.get(`/api/v1/flights/${flight.id}`).set(INTERNAL).expect(200);
    expect(got.body.airplane).toMatchObject({ id: flight.airplaneId, capacity: 120 });
    expect(got.body.departureAirport.code).toBe(flight.departureAirportCode);
    expect(got.body.arrivalAirport.code).toBe(flight.arrivalAirportCode);
    expect(got.body.departureTime).toMatch(/Z$/);
  });

  test('rule violations are 400 naming the field', async () => {
    const flight = await createFlight(h, {}, 100);
    const base = {
      flightNumber: 'SK1',
      airplaneId: flight.airplaneId,
      departureAirportCode: flight.departureAirportCode,
      arrivalAirportCode: flight.arrivalAirportCode,
      departureTime: '2030-01-01T10:00:00Z',
      arrivalTime: '2030-01-01T12:00:00Z',
      price: 1000,
    };
    const cases: Array<[Record<string, unknown>, string[]]> = [
      [{ arrivalTime: '2030-01-01T09:00:00Z' }, ['arrivalTime']],
      [{ arrivalAirportCode: flight.departureAirportCode }, ['arrivalAirportCode']],
      [{ totalSeats: 101 }, ['totalSeats']],
      [{ price: '1000' }, ['price']],
      [{ price: -5 }, ['price']],
      [{ airplaneId: 999999 }, ['airplaneId']],
      [{ departureAirportCode: 'QQQ' }, ['departureAirportCode']],
      [{ departureTime: 'tomorrow' }, ['departureTime']],
      [{ flightNumber: undefined }, ['flightNumber']],
    ];
    for (const [change, fields] of cases) {
      const res = await h.http
        .post('/api/v1/flights')
        .set(ADMIN)
        .send({ ...base, ...change });
      expectProblem(res, 400);
      expect(fieldsOf(res)).toEqual(fields);
    }
  });

  test('patch keeps seats consistent and the rules enforced', async () => {
    const flight = await createFlight(h, { totalSeats: 10 });
    await h.http
      .put(`/internal/v1/flights/${flight.id}/reservations/1`)
      .set(INTERNAL)
      .send({ seats: 4 })
      .expect(201);
    const grown = await h.http
      .patch(`/api/v1/flights/${flight.id}`)
      .set(ADMIN)
      .send({ totalSeats: 12, price: 999 })
      .expect(200);
    expect(grown.body).toMatchObject({ totalSeats: 12, availableSeats: 8, price: 999 });
    expectProblem(await h.http.patch(`/api/v1/flights/${flight.id}`).set(ADMIN).send({ totalSeats: 3 }), 409);
    const bad = await h.http
      .patch(`/api/v1/flights/${flight.id}`)
      .set(ADMIN)
      .send({ arrivalTime: '2000-01-01T00:00:00Z' });
    expectProblem(bad, 400);
    expect(fieldsOf(bad)).toEqual(['arrivalTime']);
    expectProblem(await h.http.delete(`/api/v1/flights/${flight.id}`).set(ADMIN), 409);
    expectProblem(await h.http.patch('/api/v1/flights/999999').set(ADMIN).send({ price: 1 }), 404);
  });

  test('search filters by trip, price, travellers and day, sorts, and paginates', async () => {
    const flight = await createFlight(h, {
      price: 5000,
      departureTime: '2031-03-04T23:30:00Z',
      arrivalTime: '2031-03-05T01:00:00Z',
    });
    const trips = `${flight.departureAirportCode}-${flight.arrivalAirportCode}`;
    const same = { departureTime: '2031-03-04T08:00:00Z', arrivalTime: '2031-03-04T10:00:00Z' };
    await h.http
      .post('/api/v1/flights')
      .set(ADMIN)
      .send({ ...pick(flight), ...same, flightNumber: 'SK900', price: 9000, totalSeats: 2 })
      .expect(201);
    await h.http
      .post('/api/v1/flights')
      .set(ADMIN)
      .send({
        ...pick(flight),
        departureTime: '2031-03-05T08:00:00Z',
        arrivalTime: '2031-03-05T10:00:00Z',
        flightNumber: 'SK901',
        price: 7000,
      })
      .expect(201);
    const search = (q: string) => h.http.get(`/api/v1/flights?trips=${trips}&${q}`).set(INTERNAL).expect(200);

    const all = await search('sort=price_DESC');
    expect(all.body.data.map((f: { price: number }) => f.price)).toEqual([9000, 7000, 5000]);
    expect(all.body.total).toBe(3);
    expect((await search('price=6000-9000')).body.data.map((f: { price: number }) => f.price)).toEqual([
      9000, 7000,
    ]);
    expect((await search('price=-6000')).body.total).toBe(1);
    expect((await search('price=7000-')).body.total).toBe(2);
    expect((await search('travellers=3')).body.total).toBe(2);
    const day = await search('tripDate=2031-03-04&sort=departureTime_DESC');
    expect(day.body.data.map((f: { flightNumber: string }) => f.flightNumber)).toEqual([
      flight.flightNumber,
      'SK900',
    ]);
    const page2 = await search('sort=price_ASC&limit=2&page=2');
    expect(page2.body).toMatchObject({ page: 2, limit: 2, total: 3 });
    expect(page2.body.data.map((f: { price: number }) => f.price)).toEqual([9000]);
    expect(fieldsOf(await h.http.get('/api/v1/flights?sort=seats_ASC').set(INTERNAL).expect(400))).toEqual([
      'sort',
    ]);
    expect(fieldsOf(await h.http.get('/api/v1/flights?trips=DEL').set(INTERNAL).expect(400))).toEqual([
      'trips',
    ]);
  });
});

function pick(f: Record<string, unknown>) {
  return {
    airplaneId: f.airplaneId,
    departureAirportCode: f.departureAirportCode,
    arrivalAirportCode: f.arrivalAirportCode,
  };
}

describe('bad input never yields a 5xx', () => {
  const bodies: unknown[] = [
    '{"name": ',
    'null',
    '[]',
    '"just a string"',
    { name: 1e308 },
    '{"capacity": 9007199254740993, "modelNumber": "X"}',
    { capacity: -1, modelNumber: 'X' },
    { __proto__: { admin: true }, name: 'proto' },
    JSON.parse('{"__proto__": {"polluted": true}, "constructor": {"prototype": {"x": 1}}, "name": "p"}'),
    { name: "'; DROP TABLE cities; --" },
    { code: "' OR 1=1 --", name: 'x', cityId: 1 },
    { flightNumber: 'X'.repeat(5000), price: 'NaN', departureTime: '2020-13-45T99:99:99Z' },
  ];
  test.each(['/api/v1/cities', '/api/v1/airports', '/api/v1/airplanes', '/api/v1/flights'])(
    'POST %s',
    async (path) => {
      for (const body of bodies) {
        const req = h.http.post(path).set(ADMIN);
        const res =
          typeof body === 'string'
            ? await req.set('Content-Type', 'application/json').send(body)
            : await req.send(body as object);
        expect(res.status).toBeGreaterThanOrEqual(200);
        expect(res.status).toBeLessThan(500);
        if (res.status >= 400) expect(res.headers['content-type']).toMatch(/problem\+json/);
      }
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    },
  );

  test('hostile query strings and path ids', async () => {
    const queries = [
      "trips=DEL-BOM' OR '1'='1",
      'price=99999999999999999999-',
      'travellers=-1',
      'travellers=1e9',
      'page=99999999999',
      'limit=abc',
      'sort=price_ASC,(SELECT 1)_DESC',
      'tripDate=2026-02-30',
      'price=1&price=2',
    ];
    for (const q of queries) {
      const res = await h.http.get(`/api/v1/flights?${q}`).set(INTERNAL);
      expect([q, res.status]).toEqual([q, 400]);
    }
    // Unknown parameters are ignored, as with any query string.
    await h.http.get('/api/v1/flights?trips[]=DEL-BOM&unknown=1').set(INTERNAL).expect(200);
    for (const id of ['0', '-1', '1.5', '99999999999999999999', "1' OR '1'='1", '%00']) {
      const res = await h.http.get(`/api/v1/flights/${id}`).set(INTERNAL);
      expect([400, 404]).toContain(res.status);
    }
    const big = await h.http
      .post('/api/v1/cities')
      .set(ADMIN)
      .send({ name: 'x'.repeat(150 * 1024) });
    expectProblem(big, 413);
  });
});

describe('OpenAPI document', () => {
  test('is served at /api-docs and documents every route', async () => {
    const doc = await h.http.get('/api-docs/openapi.json').expect(200);
    expect(Object.keys(doc.body.paths).sort()).toEqual(
      [
        '/health',
        '/ready',
        '/metrics',
        '/api/v1/cities',
        '/api/v1/cities/{id}',
        '/api/v1/airports',
        '/api/v1/airports/{id}',
        '/api/v1/airplanes',
        '/api/v1/airplanes/{id}',
        '/api/v1/flights',
        '/api/v1/flights/{id}',
        '/api/v1/flights/{id}/seats',
        '/internal/v1/flights/{id}/reservations/{bookingId}',
        '/internal/v1/flights/{id}/reservations/{bookingId}/seats',
      ].sort(),
    );
    const ui = await h.http.get('/api-docs/').expect(200);
    expect(ui.text).toMatch(/swagger-ui/i);
  });
});
