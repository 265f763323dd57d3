import {
  createFlight,
  expectSeatInvariants,
  INTERNAL,
  startHarness,
  type FlightServiceHarness,
} from './support';

/**
 * Holds on the largest seat map (9999 rows of 10): a hold reads the seats taken in a window of rows, and the whole
 * map only when the window holds no choice as good as the best one — so a hold still finds the last free seats
 * wherever they are, and still prefers a block in one row.
 */
let h: FlightServiceHarness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.stop();
});

const ROWS = 9999;
const TOTAL = ROWS * 10;
let nextBooking = 500_000;

const hold = (flightId: number, seats: number, seatNumbers?: Array<string | null>) =>
  h.http
    .put(`/internal/v1/flights/${flightId}/reservations/${nextBooking++}`)
    .set(INTERNAL)
    .send({ seats, seatNumbers });

/** A flight on its own airplane of 10 seats per row, widened by SQL to the largest map seat names allow. */
async function largeFlight(): Promise<number> {
  const flight = await createFlight(h, { totalSeats: 60 });
  await h.db.query(
    'UPDATE airplanes SET seatsPerRow = 10 WHERE id = (SELECT airplaneId FROM flights WHERE id = ?)',
    { replacements: [flight.id] },
  );
  await h.db.query('UPDATE flights SET totalSeats = ?, availableSeats = ? WHERE id = ?', {
    replacements: [TOTAL, TOTAL, flight.id],
  });
  return flight.id;
}

test('the last two free seats of a 99,990-seat map are found wherever they are, by one of five racing holds', async () => {
  const flightId = await largeFlight();
  // Ten filler bookings hold every seat but 7777C and 7777D (map positions 77762 and 77763).
  await h.db.query(
    `INSERT INTO flight_seats (flightId, seat, bookingId, passenger)
     SELECT ?, CONCAT(FLOOR(seq / 10) + 1, SUBSTR('ABCDEFGHJK', seq % 10 + 1, 1)), 1 + FLOOR(seq / 9999), seq % 9999
       FROM seq_0_to_99989 WHERE seq NOT IN (77762, 77763)`,
    { replacements: [flightId] },
  );
  await h.db.query(
    `INSERT INTO seat_reservations (bookingId, flightId, seats, status)
     SELECT bookingId, flightId, COUNT(*), 'HELD' FROM flight_seats WHERE flightId = ? GROUP BY bookingId`,
    { replacements: [flightId] },
  );
  await h.db.query('UPDATE flights SET availableSeats = 2 WHERE id = ?', { replacements: [flightId] });

  const responses = await Promise.all(Array.from({ length: 5 }, () => hold(flightId, 2)));
  const won = responses.filter((r) => r.status === 201);
  expect(won.map((r) => r.body.seatNumbers)).toEqual([['7777C', '7777D']]);
  for (const r of responses.filter((x) => x.status !== 201)) {
    expect([r.status, r.body.type]).toEqual([409, 'urn:skyway:problem:not-enough-seats']);
  }
  const s = await expectSeatInvariants(h, flightId);
  expect(s.map.availableSeats).toBe(0);
});

test('60 racing auto-assigned parties of 1–4 on an empty 99,990-seat map: each in one row side by side, no seat twice', async () => {
  const flightId = await largeFlight();
  const sizes = Array.from({ length: 60 }, (_, i) => 1 + (i % 4));
  const responses = await Promise.all(sizes.map((n) => hold(flightId, n)));
  expect(responses.map((r) => r.status)).toEqual(sizes.map(() => 201));
  const letters = 'ABCDEFGHJK';
  responses.forEach((r, i) => {
    const seats = r.body.seatNumbers as string[];
    expect(seats).toHaveLength(sizes[i]);
    expect(new Set(seats.map((s) => s.slice(0, -1))).size).toBe(1);
    const cols = seats.map((s) => letters.indexOf(s.slice(-1))).sort((a, b) => a - b);
    expect(cols[cols.length - 1] - cols[0]).toBe(sizes[i] - 1);
  });
  // Spread over the map, not piled at the front: holds decided on the same read rarely race for one block.
  const rows = new Set(responses.flatMap((r) => (r.body.seatNumbers as string[]).map((s) => s.slice(0, -1))));
  expect(rows.size).toBeGreaterThan(40);
  const s = await expectSeatInvariants(h, flightId);
  expect(s.map.availableSeats).toBe(TOTAL - sizes.reduce((a, b) => a + b, 0));
});
