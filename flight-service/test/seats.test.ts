import {
  ADMIN,
  createFlight,
  expectSeatInvariants,
  INTERNAL,
  seatState,
  startHarness,
  type FlightServiceHarness,
} from './support';

let h: FlightServiceHarness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.stop();
});

const url = (flightId: number, bookingId: number) =>
  `/internal/v1/flights/${flightId}/reservations/${bookingId}`;
const hold = (flightId: number, bookingId: number, seats: number, seatNumbers?: Array<string | null>) =>
  h.http.put(url(flightId, bookingId)).set(INTERNAL).send({ seats, seatNumbers });
const release = (flightId: number, bookingId: number) =>
  h.http.delete(url(flightId, bookingId)).set(INTERNAL);
const change = (
  flightId: number,
  bookingId: number,
  seatNumbers: string[],
  changeId = `c-${Math.random()}`,
) =>
  h.http
    .put(`${url(flightId, bookingId)}/seats`)
    .set(INTERNAL)
    .send({ changeId, seatNumbers });

const countBy = (statuses: number[]) =>
  statuses.reduce<Record<number, number>>((acc, s) => ({ ...acc, [s]: (acc[s] ?? 0) + 1 }), {});

let nextBooking = 100_000;
const booking = () => nextBooking++;

describe('choosing seats under concurrency (invariants read from the tables)', () => {
  test('40 holds all choosing 5C at once: one 201, 39 × 409 seat-taken naming 5C; the map shows 5C taken', async () => {
    const flight = await createFlight(h, { totalSeats: 60 });
    const ids = Array.from({ length: 40 }, booking);
    const responses = await Promise.all(ids.map((id) => hold(flight.id, id, 1, ['5C'])));
    expect(countBy(responses.map((r) => r.status))).toEqual({ 201: 1, 409: 39 });
    for (const r of responses.filter((x) => x.status === 409)) {
      expect(r.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(r.body).toMatchObject({ type: 'urn:skyway:problem:seat-taken', seats: ['5C'] });
    }
    const winner = responses.find((r) => r.status === 201);
    expect(winner?.body.seatNumbers).toEqual(['5C']);
    const s = await expectSeatInvariants(h, flight.id);
    expect(s.map.seats.find((m) => m.seat === '5C')?.status).toBe('taken');
    expect(s.map.availableSeats).toBe(59);
    // Nothing was left behind for the losers: a retry with another seat under the same booking works.
    const loser = ids[responses.findIndex((r) => r.status === 409)];
    expect((await hold(flight.id, loser, 1, ['5D']).expect(201)).body.seatNumbers).toEqual(['5D']);
  });

  test('60 holds choosing random seats on a 30-seat flight: no seat twice, availableSeats = free seats on the map', async () => {
    const flight = await createFlight(h, { totalSeats: 30 });
    const names = Array.from({ length: 30 }, (_, i) => `${Math.floor(i / 6) + 1}${'ABCDEF'[i % 6]}`);
    const pick = () => names[Math.floor(Math.random() * names.length)];
    const requests = Array.from({ length: 60 }, (_, i) => {
      const wanted = i % 3 === 0 ? [pick(), pick()] : [pick()];
      return { id: booking(), seats: [...new Set(wanted)] };
    });
    const responses = await Promise.all(requests.map((r) => hold(flight.id, r.id, r.seats.length, r.seats)));
    const statuses = countBy(responses.map((r) => r.status));
    expect(Object.keys(statuses).sort()).toEqual(['201', '409']);
    const s = await expectSeatInvariants(h, flight.id);
    // Every 201 got exactly what it asked for; every 409 named a seat that a winner holds.
    responses.forEach((r, i) => {
      if (r.status === 201)
        expect(s.byBooking.get(requests[i].id)).toEqual(expect.arrayContaining(requests[i].seats));
      else {
        expect(r.body.type).toBe('urn:skyway:problem:seat-taken');
        expect(s.byBooking.has(requests[i].id)).toBe(false);
        for (const seat of r.body.seats as string[])
          expect(s.seatRows.some((x) => x.seat === seat)).toBe(true);
      }
    });
  });

  test('a mixed storm on one flight (chosen seats, auto parties of 1–4, releases, seat changes) keeps every count exact', async () => {
    const flight = await createFlight(h, { totalSeats: 60 });
    const names = Array.from({ length: 60 }, (_, i) => `${Math.floor(i / 6) + 1}${'ABCDEF'[i % 6]}`);
    const pick = () => names[Math.floor(Math.random() * names.length)];
    const ids = Array.from({ length: 40 }, booking);
    const calls: Array<Promise<{ status: number }>> = [];
    for (let i = 0; i < 200; i++) {
      const id = ids[i % ids.length];
      const seats = 1 + (id % 4);
      const kind = i % 5;
      if (kind === 0) calls.push(release(flight.id, id).then((r) => r));
      else if (kind === 1)
        calls.push(change(flight.id, id, Array.from({ length: seats }, pick)).then((r) => r));
      else if (kind === 2) {
        const chosen = Array.from({ length: seats }, (_, k) => (k === 0 ? pick() : null));
        calls.push(hold(flight.id, id, seats, chosen).then((r) => r));
      } else calls.push(hold(flight.id, id, seats).then((r) => r));
    }
    const statuses = countBy((await Promise.all(calls)).map((r) => r.status));
    expect(Object.keys(statuses).every((s) => ['200', '201', '204', '400', '404', '409'].includes(s))).toBe(
      true,
    );
    expect(statuses[201]).toBeGreaterThan(0);
    expect(statuses[500]).toBeUndefined();
    await expectSeatInvariants(h, flight.id);
  });

  test("two reservations swapping into each other's seats at once: neither seat is doubled or lost", async () => {
    const flight = await createFlight(h, { totalSeats: 30 });
    for (let round = 0; round < 5; round++) {
      const [a, b] = [booking(), booking()];
      await hold(flight.id, a, 1, [`${round + 1}A`]).expect(201);
      await hold(flight.id, b, 1, [`${round + 1}B`]).expect(201);
      const [ra, rb] = await Promise.all([
        change(flight.id, a, [`${round + 1}B`]),
        change(flight.id, b, [`${round + 1}A`]),
      ]);
      // In either order the other still holds the seat asked for, so both are refused, naming it.
      expect([ra.status, rb.status]).toEqual([409, 409]);
      expect(ra.body.seats).toEqual([`${round + 1}B`]);
      expect(rb.body.seats).toEqual([`${round + 1}A`]);
      const s = await expectSeatInvariants(h, flight.id);
      expect([s.byBooking.get(a), s.byBooking.get(b)]).toEqual([[`${round + 1}A`], [`${round + 1}B`]]);
    }
  });

  test('two reservations moving into the same free seat at once: one wins, the other keeps its seat', async () => {
    const flight = await createFlight(h, { totalSeats: 30 });
    for (let round = 0; round < 5; round++) {
      const [a, b] = [booking(), booking()];
      await hold(flight.id, a, 1, [`${round + 1}A`]).expect(201);
      await hold(flight.id, b, 1, [`${round + 1}B`]).expect(201);
      const target = `${round + 1}C`;
      const [ra, rb] = await Promise.all([change(flight.id, a, [target]), change(flight.id, b, [target])]);
      expect([ra.status, rb.status].sort()).toEqual([200, 409]);
      const [winner, loser] = ra.status === 200 ? [a, b] : [b, a];
      const s = await expectSeatInvariants(h, flight.id);
      expect(s.byBooking.get(winner)).toEqual([target]);
      expect(s.byBooking.get(loser)).toEqual([loser === a ? `${round + 1}A` : `${round + 1}B`]);
      // The seat the winner gave up is free again at once.
      expect(s.map.seats.find((m) => m.seat === `${round + 1}${winner === a ? 'A' : 'B'}`)?.status).toBe(
        'available',
      );
    }
  });

  test('a late or repeated release after its seats were taken by another reservation frees nothing', async () => {
    const flight = await createFlight(h, { totalSeats: 12 });
    const [first, second] = [booking(), booking()];
    await hold(flight.id, first, 2, ['2A', '2B']).expect(201);
    const freed = await release(flight.id, first).expect(200);
    expect(freed.body).toMatchObject({ status: 'RELEASED', seatNumbers: ['2A', '2B'] });
    await hold(flight.id, second, 2, ['2A', '2B']).expect(201);
    const late = await Promise.all(Array.from({ length: 5 }, () => release(flight.id, first)));
    for (const r of late) expect(r.body).toMatchObject({ status: 'RELEASED', seatNumbers: [] });
    const s = await expectSeatInvariants(h, flight.id);
    expect(s.byBooking.get(second)).toEqual(['2A', '2B']);
    expect(s.ledger).toEqual({ available: 10, total: 12, held: 2 });
  });
});

describe('holds with seats', () => {
  test('assigned seats sit together in one row; a repeat answers the current seats; the read shows them', async () => {
    const flight = await createFlight(h, { totalSeats: 30 });
    const id = booking();
    const first = await hold(flight.id, id, 3).expect(201);
    const seats = first.body.seatNumbers as string[];
    expect(seats).toHaveLength(3);
    expect(new Set(seats.map((s) => s.slice(0, -1))).size).toBe(1);
    expect(first.body).toMatchObject({ bookingId: id, flightId: flight.id, seats: 3, status: 'HELD' });
    const again = await hold(flight.id, id, 3, ['1A', '1B', '1C']).expect(200);
    expect(again.body.seatNumbers).toEqual(seats);
    const read = await h.http.get(url(flight.id, id)).set(INTERNAL).expect(200);
    expect(read.body).toMatchObject({ bookingId: id, seats: 3, status: 'HELD', seatNumbers: seats });
    await h.http.get(url(flight.id, booking())).set(INTERNAL).expect(404);
    await release(flight.id, id).expect(200);
    expect((await h.http.get(url(flight.id, id)).set(INTERNAL).expect(200)).body).toMatchObject({
      status: 'RELEASED',
      seatNumbers: [],
    });
  });

  test('chosen and assigned seats mix, in passenger order, the assigned ones beside the chosen', async () => {
    const flight = await createFlight(h, { totalSeats: 30 });
    const r = await hold(flight.id, booking(), 3, [null, '4F', null]).expect(201);
    expect(r.body.seatNumbers).toEqual(['4D', '4F', '4E']);
    // On a map large enough to be read in a window of rows, the window is around the chosen seat.
    const big = await createFlight(h, { totalSeats: 600 }, 600);
    expect((await hold(big.id, booking(), 2, ['50C', null]).expect(201)).body.seatNumbers).toEqual([
      '50C',
      '50B',
    ]);
    expect((await hold(big.id, booking(), 2, [null, '50D']).expect(201)).body.seatNumbers).toEqual([
      '50E',
      '50D',
    ]);
    await expectSeatInvariants(h, flight.id);
    await expectSeatInvariants(h, big.id);
  });

  test('a chosen seat already taken is refused before anything is written; a repeat of its own hold is not', async () => {
    const flight = await createFlight(h, { totalSeats: 30 });
    const owner = booking();
    await hold(flight.id, owner, 1, ['3C']).expect(201);
    // The owner repeating its request is answered as the repeat it is, with its seat.
    expect((await hold(flight.id, owner, 1, ['3C']).expect(200)).body.seatNumbers).toEqual(['3C']);
    const other = booking();
    const refused = await hold(flight.id, other, 3, ['3D', '3C', null]).expect(409);
    expect(refused.body).toMatchObject({ type: 'urn:skyway:problem:seat-taken', seats: ['3C'] });
    const s = await expectSeatInvariants(h, flight.id);
    expect(s.byBooking.has(other)).toBe(false);
    expect(s.map.seats.find((m) => m.seat === '3D')?.status).toBe('available');
    expect(s.reservations.filter((r) => Number(r.bookingId) === other)).toEqual([]);
    // Nothing was left for the refused booking: it can hold other seats at once.
    expect((await hold(flight.id, other, 1, ['3D']).expect(201)).body.seatNumbers).toEqual(['3D']);
  });

  test('bad seatNumbers are a 400 naming seatNumbers.<i>; a flight with too few seats left is not-enough-seats', async () => {
    const flight = await createFlight(h, { totalSeats: 8 });
    const cases: Array<[unknown, number, string]> = [
      [['9Z'], 1, 'seatNumbers.0'],
      [['1A', '2C'], 2, 'seatNumbers.1'], // 2C is seat 9 of an 8-seat map
      [['1A', '1A'], 2, 'seatNumbers.1'],
      [['1I'], 1, 'seatNumbers.0'],
      [['1A'], 2, 'seatNumbers'],
      [[5], 1, 'seatNumbers.0'],
    ];
    for (const [seatNumbers, seats, path] of cases) {
      const res = await h.http
        .put(url(flight.id, booking()))
        .set(INTERNAL)
        .send({ seats, seatNumbers })
        .expect(400);
      expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(res.body.type).toBe('urn:skyway:problem:validation');
      expect(res.body.errors.map((e: { path: string }) => e.path)).toEqual([path]);
    }
    await hold(flight.id, booking(), 7).expect(201);
    const full = await hold(flight.id, booking(), 2).expect(409);
    expect(full.body.type).toBe('urn:skyway:problem:not-enough-seats');
    await expectSeatInvariants(h, flight.id);
  });
});

describe('seat changes', () => {
  test('all or nothing, idempotent per changeId; a reused changeId with other seats is refused', async () => {
    const flight = await createFlight(h, { totalSeats: 30 });
    const [a, b] = [booking(), booking()];
    await hold(flight.id, a, 2, ['1A', '1B']).expect(201);
    await hold(flight.id, b, 1, ['3C']).expect(201);
    // One taken seat refuses the whole change.
    const taken = await change(flight.id, a, ['2A', '3C']).expect(409);
    expect(taken.body).toMatchObject({ type: 'urn:skyway:problem:seat-taken', seats: ['3C'] });
    expect((await seatState(h, flight.id)).byBooking.get(a)).toEqual(['1A', '1B']);
    // A swap within one booking, and the answer stored per changeId.
    const swapped = await change(flight.id, a, ['1B', '1A'], 'swap-1').expect(200);
    expect(swapped.body).toMatchObject({ bookingId: a, seatNumbers: ['1B', '1A'], changed: true });
    const moved = await change(flight.id, a, ['2D', '2E'], 'move-1').expect(200);
    expect(moved.body.seatNumbers).toEqual(['2D', '2E']);
    const replay = await change(flight.id, a, ['1B', '1A'], 'swap-1').expect(200);
    expect(replay.body).toEqual(swapped.body);
    expect((await seatState(h, flight.id)).byBooking.get(a)).toEqual(['2D', '2E']);
    const reused = await change(flight.id, a, ['5A', '5B'], 'move-1').expect(409);
    expect(reused.body.type).toBe('urn:skyway:problem:change-id-reused');
    const same = await change(flight.id, a, ['2D', '2E']).expect(200);
    expect(same.body.changed).toBe(false);
    // 20 repeats of one changeId at once apply once.
    const burst = await Promise.all(
      Array.from({ length: 20 }, () => change(flight.id, a, ['4A', '4B'], 'burst')),
    );
    expect(burst.map((r) => [r.status, r.body.changed, r.body.detail])).toEqual(
      burst.map(() => [200, true, undefined]),
    );
    const s = await expectSeatInvariants(h, flight.id);
    expect(s.byBooking.get(a)).toEqual(['4A', '4B']);
    // Wrong count, off the map, unknown and released reservations.
    expect((await change(flight.id, a, ['5D']).expect(400)).body.errors[0].path).toBe('seatNumbers');
    expect((await change(flight.id, a, ['5D', '99A']).expect(400)).body.errors[0].path).toBe('seatNumbers.1');
    await change(flight.id, booking(), ['5D']).expect(404);
    await release(flight.id, b).expect(200);
    expect((await change(flight.id, b, ['5D']).expect(409)).body.type).toBe(
      'urn:skyway:problem:reservation-released',
    );
    await expectSeatInvariants(h, flight.id);
  });
});

describe('seat map and layout', () => {
  test('the public map lists every seat in map order, the last row partial; the flight read embeds seatsPerRow', async () => {
    const flight = await createFlight(h, { totalSeats: 14 });
    await hold(flight.id, booking(), 1, ['2B']).expect(201);
    const map = await h.http.get(`/api/v1/flights/${flight.id}/seats`).set(INTERNAL).expect(200);
    expect(map.body).toMatchObject({ flightId: flight.id, seatsPerRow: 6, rows: 3, availableSeats: 13 });
    expect(map.body.seats.map((s: { seat: string }) => s.seat)).toEqual([
      '1A',
      '1B',
      '1C',
      '1D',
      '1E',
      '1F',
      '2A',
      '2B',
      '2C',
      '2D',
      '2E',
      '2F',
      '3A',
      '3B',
    ]);
    expect(map.body.seats[7]).toEqual({ seat: '2B', status: 'taken' });
    await h.http.get('/api/v1/flights/999999/seats').set(INTERNAL).expect(404);
    const read = await h.http.get(`/api/v1/flights/${flight.id}`).set(INTERNAL).expect(200);
    expect(read.body.airplane.seatsPerRow).toBe(6);
  });

  test('airplanes: seatsPerRow 1–10, default 6; a new width is refused while a flight has seats taken', async () => {
    const created = await h.http
      .post('/api/v1/airplanes')
      .set(ADMIN)
      .send({ modelNumber: 'ATR72', capacity: 70, seatsPerRow: 4 })
      .expect(201);
    expect(created.body).toMatchObject({ capacity: 70, seatsPerRow: 4 });
    for (const seatsPerRow of [0, 11, 2.5, '6', null]) {
      const res = await h.http
        .post('/api/v1/airplanes')
        .set(ADMIN)
        .send({ modelNumber: 'X', capacity: 10, seatsPerRow })
        .expect(400);
      expect(res.body.errors.map((e: { path: string }) => e.path)).toEqual(['seatsPerRow']);
    }
    // The largest airplane the contract admits, one seat per row: 1000 rows, the last seat named 1000A.
    const tall = await h.http
      .post('/api/v1/airplanes')
      .set(ADMIN)
      .send({ modelNumber: 'X', capacity: 1000, seatsPerRow: 1 })
      .expect(201);
    const tallFlight = await createFlight(h, { airplaneId: tall.body.id, totalSeats: 1000 });
    const tallMap = (await h.http.get(`/api/v1/flights/${tallFlight.id}/seats`).set(INTERNAL).expect(200))
      .body;
    expect(tallMap).toMatchObject({ rows: 1000, seatsPerRow: 1, availableSeats: 1000 });
    expect(tallMap.seats.at(-1)).toEqual({ seat: '1000A', status: 'available' });
    await h.http
      .put(`/internal/v1/flights/${tallFlight.id}/reservations/990001`)
      .set(INTERNAL)
      .send({ seats: 1, seatNumbers: ['1000A'] })
      .expect(201);
    const flight = await createFlight(h, { totalSeats: 20 });
    const plane = `/api/v1/airplanes/${flight.airplaneId}`;
    expect((await h.http.get(plane).set(INTERNAL).expect(200)).body.seatsPerRow).toBe(6);
    // A patch that leaves seatsPerRow out keeps it.
    expect(
      (await h.http.patch(plane).set(ADMIN).send({ modelNumber: 'A321' }).expect(200)).body.seatsPerRow,
    ).toBe(6);
    expect((await h.http.patch(plane).set(ADMIN).send({ seatsPerRow: 4 }).expect(200)).body.seatsPerRow).toBe(
      4,
    );
    const id = booking();
    await hold(flight.id, id, 1, ['5D']).expect(201);
    const refused = await h.http.patch(plane).set(ADMIN).send({ seatsPerRow: 6 }).expect(409);
    expect(refused.body.type).toBe('urn:skyway:problem:layout-has-live-seats');
    await release(flight.id, id).expect(200);
    await h.http.patch(plane).set(ADMIN).send({ seatsPerRow: 6 }).expect(200);
  });

  test("a flight's totalSeats cannot end the map before a taken seat; growing adds seats at the end", async () => {
    const flight = await createFlight(h, { totalSeats: 20 });
    await hold(flight.id, booking(), 1, ['3B']).expect(201);
    const refused = await h.http
      .patch(`/api/v1/flights/${flight.id}`)
      .set(ADMIN)
      .send({ totalSeats: 13 })
      .expect(409);
    expect(refused.body).toMatchObject({ type: 'urn:skyway:problem:seats-taken-beyond', seats: ['3B'] });
    await h.http.patch(`/api/v1/flights/${flight.id}`).set(ADMIN).send({ totalSeats: 14 }).expect(200);
    await h.http.patch(`/api/v1/flights/${flight.id}`).set(ADMIN).send({ totalSeats: 25 }).expect(200);
    const s = await expectSeatInvariants(h, flight.id);
    expect(s.map.seats).toHaveLength(25);
  });
});
