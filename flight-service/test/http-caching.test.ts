import { ADMIN, INTERNAL, createFlight, startHarness, type FlightServiceHarness } from './support';

/** Every public GET is cacheable over HTTP: Cache-Control from the TTL, a strong ETag, 304 on a match. */
let h: FlightServiceHarness;
let paths: string[];
let flight: Awaited<ReturnType<typeof createFlight>>;

beforeAll(async () => {
  h = await startHarness({ SEARCH_CACHE_TTL_MS: '2500' });
  flight = await createFlight(h);
  const airport = (await h.http.get('/api/v1/airports').set(INTERNAL)).body.data[0];
  paths = [
    '/api/v1/cities',
    `/api/v1/cities/${airport.cityId}`,
    '/api/v1/airports',
    `/api/v1/airports/${airport.id}`,
    '/api/v1/airplanes',
    `/api/v1/airplanes/${flight.airplaneId}`,
    `/api/v1/flights?trips=${flight.departureAirportCode}-${flight.arrivalAirportCode}`,
    '/api/v1/flights',
    `/api/v1/flights/${flight.id}`,
  ];
});
afterAll(async () => {
  await h.stop();
});

test('each public GET: Cache-Control public with max-age from the TTL, a strong ETag, 304 without a body', async () => {
  for (const path of paths) {
    const first = await h.http.get(path).set(INTERNAL).expect(200);
    expect([path, first.headers['cache-control']]).toEqual([path, 'public, max-age=2']);
    expect([path, first.headers.etag]).toEqual([path, expect.stringMatching(/^"[A-Za-z0-9_-]+"$/)]);
    const again = await h.http.get(path).set(INTERNAL).set('If-None-Match', first.headers.etag).expect(304);
    expect([path, again.text ?? '', again.headers.etag]).toEqual([path, '', first.headers.etag]);
    expect(again.headers['content-length'] ?? '0').toBe('0');
    // Another tag (or a list without the current one) gets the full answer.
    const other = await h.http.get(path).set(INTERNAL).set('If-None-Match', '"stale", "older"').expect(200);
    expect(other.text).toBe(first.text);
    await h.http.get(path).set(INTERNAL).set('If-None-Match', `"x", ${first.headers.etag}`).expect(304);
  }
});

test('a change gives a new tag: the old one gets the new answer', async () => {
  const path = `/api/v1/flights/${flight.id}`;
  const before = await h.http.get(path).set(INTERNAL).expect(200);
  await h.http.patch(path).set(ADMIN).send({ price: 1234 }).expect(200);
  const after = await h.http.get(path).set(INTERNAL).set('If-None-Match', before.headers.etag).expect(200);
  expect(after.body.price).toBe(1234);
  expect(after.headers.etag).not.toBe(before.headers.etag);
});

test('refusals and writes are not marked cacheable', async () => {
  const missing = await h.http.get('/api/v1/flights/999999').set(INTERNAL).expect(404);
  expect(missing.headers['cache-control']).toBeUndefined();
  expect(missing.headers.etag).toBeUndefined();
  const bad = await h.http.get('/api/v1/flights?sort=name_ASC').set(INTERNAL).expect(400);
  expect(bad.headers.etag).toBeUndefined();
  const created = await h.http.post('/api/v1/cities').set(ADMIN).send({ name: 'Nocache' }).expect(201);
  expect([created.headers['cache-control'], created.headers.etag]).toEqual([undefined, undefined]);
});

test('a page deeper than the cap is a 400 naming page', async () => {
  const res = await h.http.get('/api/v1/flights?page=101&limit=100').set(INTERNAL).expect(400);
  expect(JSON.stringify(res.body)).toMatch(/page/);
  await h.http.get('/api/v1/flights?page=100&limit=100').set(INTERNAL).expect(200);
  await h.http.get('/api/v1/flights?page=500&limit=20').set(INTERNAL).expect(200);
  await h.http.get('/api/v1/flights?page=501&limit=20').set(INTERNAL).expect(400);
});
