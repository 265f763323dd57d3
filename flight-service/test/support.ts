import request from 'supertest';
import type { Sequelize } from 'sequelize';
import { createSequelize, dropDatabase, type RunningService } from '@skyway/common';
import { TEST_DB_POOL_MAX, TEST_READ_POOL_MAX, testDbServer, uniquePrefix } from '@skyway/common/testing';
import { startFlightService } from '../src/main';

export const INTERNAL_TOKEN = 'test-internal-token';
export const ADMIN = { 'X-Internal-Token': INTERNAL_TOKEN, 'X-User-Id': '1', 'X-User-Role': 'admin' };
export const CUSTOMER = { 'X-Internal-Token': INTERNAL_TOKEN, 'X-User-Id': '2', 'X-User-Role': 'customer' };
export const INTERNAL = { 'X-Internal-Token': INTERNAL_TOKEN };

export interface FlightServiceHarness {
  service: RunningService;
  /** A direct connection to the service's database, to check invariants in the tables. */
  db: Sequelize;
  http: ReturnType<typeof request>;
  stop(): Promise<void>;
}

/** Starts a real flight-service on a random port with its own fresh database. */
export async function startHarness(extraEnv: NodeJS.ProcessEnv = {}): Promise<FlightServiceHarness> {
  const prefix = uniquePrefix('fs');
  const service = await startFlightService({
    ...process.env,
    NODE_ENV: 'test',
    DB_NAME_PREFIX: prefix,
    FLIGHT_SERVICE_PORT: '0',
    INTERNAL_TOKEN,
    DB_POOL_MAX: String(TEST_DB_POOL_MAX),
    ...extraEnv,
  });
  const db = createSequelize(testDbServer(), `${prefix}flights`, { poolMax: TEST_READ_POOL_MAX });
  return {
    service,
    db,
    http: request(service.url),
    async stop() {
      await service.close();
      await db.close();
      await dropDatabase(testDbServer(), `${prefix}flights`);
    },
  };
}

let seq = 0;
/** Creates a city pair with airports, an airplane and a flight; returns the flight as the API answers it. */
export async function createFlight(
  h: FlightServiceHarness,
  overrides: Record<string, unknown> = {},
  capacity = 180,
): Promise<{ id: number; totalSeats: number; availableSeats: number; [k: string]: unknown }> {
  seq += 1;
  const letters = (n: number) => String.fromCharCode(65 + (n % 26), 65 + (Math.floor(n / 26) % 26));
  const from = `Q${letters(seq * 2)}`;
  const to = `Z${letters(seq * 2 + 1)}`;
  const city = await h.http
    .post('/api/v1/cities')
    .set(ADMIN)
    .send({ name: `City ${seq} ${Date.now()}` })
    .expect(201);
  for (const code of [from, to]) {
    await h.http
      .post('/api/v1/airports')
      .set(ADMIN)
      .send({ code, name: `${code} Airport`, cityId: city.body.id })
      .expect(201);
  }
  const plane = await h.http
    .post('/api/v1/airplanes')
    .set(ADMIN)
    .send({ modelNumber: 'A320', capacity })
    .expect(201);
  const departure = new Date(Date.now() + 7 * 86_400_000);
  const flight = await h.http
    .post('/api/v1/flights')
    .set(ADMIN)
    .send({
      flightNumber: `SK${seq}`,
      airplaneId: plane.body.id,
      departureAirportCode: from,
      arrivalAirportCode: to,
      departureTime: departure.toISOString(),
      arrivalTime: new Date(departure.getTime() + 7_200_000).toISOString(),
      price: 450000,
      ...overrides,
    })
    .expect(201);
  return flight.body;
}

/** availableSeats, totalSeats and the seats held by reservations, read from the tables. */
export async function seatLedger(db: Sequelize, flightId: number) {
  const [[row]] = (await db.query(
    `SELECT f.availableSeats, f.totalSeats,
            (SELECT COALESCE(SUM(seats), 0) FROM seat_reservations r WHERE r.flightId = f.id AND r.status = 'HELD') AS held
       FROM flights f WHERE f.id = ?`,
    { replacements: [flightId] },
  )) as [Array<{ availableSeats: number; totalSeats: number; held: string | number }>, unknown];
  return { available: row.availableSeats, total: row.totalSeats, held: Number(row.held) };
}

/** Seat rows, live reservations and the flight row, read from the tables, and the public map over HTTP. */
export async function seatState(h: FlightServiceHarness, flightId: number) {
  const [seatRows] = (await h.db.query(
    'SELECT seat, bookingId, passenger FROM flight_seats WHERE flightId = ? ORDER BY seat',
    { replacements: [flightId] },
  )) as [Array<{ seat: string; bookingId: string | number; passenger: number }>, unknown];
  const [reservations] = (await h.db.query(
    'SELECT bookingId, seats, status FROM seat_reservations WHERE flightId = ?',
    { replacements: [flightId] },
  )) as [Array<{ bookingId: string | number; seats: number; status: string }>, unknown];
  const ledger = await seatLedger(h.db, flightId);
  const map = (await h.http.get(`/api/v1/flights/${flightId}/seats`).set(INTERNAL).expect(200)).body as {
    availableSeats: number;
    seats: Array<{ seat: string; status: string }>;
  };
  const byBooking = new Map<number, string[]>();
  for (const r of seatRows)
    byBooking.set(Number(r.bookingId), [...(byBooking.get(Number(r.bookingId)) ?? []), r.seat]);
  return { seatRows, reservations, ledger, map, byBooking };
}

/**
 * The seat invariants, as a user would notice them: no seat twice, every HELD reservation has exactly its number of
 * seats and they are taken on the map, every other seat is available, and availableSeats is the free seats on the map.
 */
export async function expectSeatInvariants(h: FlightServiceHarness, flightId: number) {
  const s = await seatState(h, flightId);
  const seats = s.seatRows.map((r) => r.seat);
  expect(new Set(seats).size).toBe(seats.length);
  const live = s.reservations.filter((r) => r.status === 'HELD');
  for (const r of live)
    expect([r.bookingId, s.byBooking.get(Number(r.bookingId))?.length ?? 0]).toEqual([r.bookingId, r.seats]);
  const liveIds = new Set(live.map((r) => Number(r.bookingId)));
  expect(s.seatRows.filter((r) => !liveIds.has(Number(r.bookingId)))).toEqual([]);
  const takenOnMap = s.map.seats
    .filter((m) => m.status === 'taken')
    .map((m) => m.seat)
    .sort();
  expect(takenOnMap).toEqual([...seats].sort());
  expect(s.ledger.available).toBe(s.ledger.total - seats.length);
  expect(s.ledger.available + s.ledger.held).toBe(s.ledger.total);
  expect(s.map.availableSeats).toBe(s.ledger.available);
  return s;
}
