import {
  bookingRows,
  expectEveryLiveBookingHoldsItsSeats,
  INTERNAL_TOKEN,
  LIVE_STATUSES,
  type Stack,
} from './support';

export interface SeatMap {
  flightId: number;
  seatsPerRow: number;
  rows: number;
  availableSeats: number;
  seats: Array<{ seat: string; status: 'available' | 'taken' }>;
}

/** flight-service's public seat map of a flight. */
export async function seatMap(stack: Stack, flightId: number): Promise<SeatMap> {
  const res = await stack
    .flightHttp()
    .get(`/api/v1/flights/${flightId}/seats`)
    .set('X-Internal-Token', INTERNAL_TOKEN)
    .expect(200);
  return res.body as SeatMap;
}

export const takenSeats = async (stack: Stack, flightId: number): Promise<string[]> =>
  (await seatMap(stack, flightId)).seats.filter((s) => s.status === 'taken').map((s) => s.seat);

/** The seats flight-service's reservation of a booking holds now (its internal read). */
export async function reservedSeats(stack: Stack, flightId: number, bookingId: number): Promise<string[]> {
  const res = await stack
    .flightHttp()
    .get(`/internal/v1/flights/${flightId}/reservations/${bookingId}`)
    .set('X-Internal-Token', INTERNAL_TOKEN);
  return res.status === 200 ? (res.body.seatNumbers as string[]) : [];
}

/**
 * The seat invariants of one flight, checked in booking-service's table, flight-service's reservations and the
 * public map: every live booking records one known seat per passenger, exactly the seats flight-service holds
 * for it; no seat is in two live bookings; the map's taken seats are exactly the live bookings' seats (every
 * other seat free); the map's and the flight's availableSeats count the free seats. Call it once things settled
 * (no request or release in flight). Returns who holds each seat.
 */
export async function expectSeatsConsistent(stack: Stack, flightId: number) {
  // The counts first: every live booking holds exactly its number of seats, availableSeats = total − held.
  await expectEveryLiveBookingHoldsItsSeats(stack, flightId);
  const live = await bookingRows(stack, `flight_id = ? AND ${LIVE_STATUSES}`, [flightId]);
  const bySeat = new Map<string, number>();
  const doubled: string[] = [];
  const expectedRows: Array<[number, number, string | null]> = [];
  for (const b of live) {
    expect([b.id, b.seats_state]).toEqual([b.id, 'HELD']);
    const passengers = JSON.parse(String((b as unknown as { passengers: string }).passengers)) as Array<{
      seat: string | null;
    }>;
    const seats = passengers.map((p) => p.seat);
    expect([b.id, seats.length]).toEqual([b.id, b.no_of_seats]);
    expect([b.id, await reservedSeats(stack, flightId, b.id)]).toEqual([b.id, seats]);
    seats.forEach((s, i) => expectedRows.push([b.id, i, s]));
    for (const s of seats) {
      if (s === null) continue;
      if (bySeat.has(s)) doubled.push(s);
      bySeat.set(s, b.id);
    }
  }
  expect(doubled).toEqual([]);
  // flight-service's own table: one row per taken seat, each the live booking's passenger that sits there.
  const [seatRows] = (await stack.flightsDb.query(
    'SELECT bookingId, passenger, seat FROM flight_seats WHERE flightId = ? ORDER BY bookingId, passenger',
    { replacements: [flightId] },
  )) as [Array<{ bookingId: number | string; passenger: number; seat: string }>, unknown];
  expect(seatRows.map((r) => [Number(r.bookingId), Number(r.passenger), r.seat])).toEqual(
    expectedRows.sort((x, y) => x[0] - y[0] || x[1] - y[1]),
  );
  const map = await seatMap(stack, flightId);
  const taken = map.seats.filter((s) => s.status === 'taken').map((s) => s.seat);
  expect([...taken].sort()).toEqual([...bySeat.keys()].sort());
  const free = map.seats.length - taken.length;
  expect(map.availableSeats).toBe(free);
  const flight = await stack
    .flightHttp()
    .get(`/api/v1/flights/${flightId}`)
    .set('X-Internal-Token', INTERNAL_TOKEN)
    .expect(200);
  expect(flight.body.availableSeats).toBe(free);
  expect(flight.body.totalSeats).toBe(map.seats.length);
  return { bySeat, live, map };
}
