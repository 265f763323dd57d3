import { ADMIN, createFlight, startHarness, type FlightServiceHarness } from './support';

/** Defects the whole-system fuzzing found (e2e/test/fuzz.test.ts), pinned here at the service. */
let h: FlightServiceHarness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.stop();
});

describe('flight times the database cannot keep are a 400, not a 500 or a silently different date', () => {
  test.each([
    // With an offset this is 10000-01-01 UTC: MariaDB refused it and the service answered 500.
    ['arrivalTime', '2026-12-01T10:00:00Z', '9999-12-31T23:59:59-05:00'],
    // Year 0000 was stored as 2000-01-01.
    ['departureTime', '0000-01-01T00:00:00Z', '2026-12-01T10:00:00Z'],
    ['departureTime', '1969-12-31T23:59:59Z', '2026-12-01T10:00:00Z'],
  ])('%s in %s → %s', async (field, departureTime, arrivalTime) => {
    const flight = await createFlight(h);
    const base = {
      flightNumber: 'RG1',
      airplaneId: flight.airplaneId,
      departureAirportCode: flight.departureAirportCode,
      arrivalAirportCode: flight.arrivalAirportCode,
      price: 100,
      totalSeats: 1,
    };
    const created = await h.http
      .post('/api/v1/flights')
      .set(ADMIN)
      .send({ ...base, departureTime, arrivalTime });
    expect(created.status).toBe(400);
    expect(created.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(created.body.errors.map((e: { path: string }) => e.path)).toContain(field);

    const patched = await h.http
      .patch(`/api/v1/flights/${flight.id}`)
      .set(ADMIN)
      .send({ [field]: field === 'arrivalTime' ? arrivalTime : departureTime });
    expect(patched.status).toBe(400);
    const [[row]] = (await h.db.query('SELECT departureTime, arrivalTime FROM flights WHERE id = ?', {
      replacements: [flight.id],
    })) as unknown as [Array<{ departureTime: Date; arrivalTime: Date }>];
    expect(row.departureTime.toISOString()).toBe(flight.departureTime);
    expect(row.arrivalTime.toISOString()).toBe(flight.arrivalTime);
  });

  test('the edges of the range are accepted and read back unchanged', async () => {
    const flight = await createFlight(h);
    const res = await h.http
      .patch(`/api/v1/flights/${flight.id}`)
      .set(ADMIN)
      .send({ departureTime: '1970-01-01T00:00:00.000Z', arrivalTime: '9999-12-31T23:59:59.999Z' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      departureTime: '1970-01-01T00:00:00.000Z',
      arrivalTime: '9999-12-31T23:59:59.999Z',
    });
  });
});

test('a path id that is not valid percent-encoding is a 400 problem (it was a 500)', async () => {
  for (const path of ['/api/v1/flights/%', '/api/v1/cities/%E0%A4%A', '/api/v1/airports/%zz']) {
    const res = await h.http.get(path).set(ADMIN);
    expect([path, res.status]).toEqual([path, 400]);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  }
});
