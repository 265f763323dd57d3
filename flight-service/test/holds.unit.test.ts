import {
  decideHold,
  decideRelease,
  holdGuard,
  holdGuardPasses,
  releasedReservation,
  type LockedFlight,
} from '../src/domain/holds';
import { problemFor } from '../src/http/problems';

const now = new Date('2026-11-30T00:00:00Z');
const flight: LockedFlight = {
  availableSeats: 5,
  departureTime: new Date('2026-12-01T10:00:00Z'),
  flightNumber: 'SK1',
  departureAirportCode: 'DEL',
  arrivalAirportCode: 'BOM',
  price: 4500,
  totalSeats: 5,
  seatsPerRow: 6,
};
const seating = { seatNumbers: ['1A', '1B'], layout: { totalSeats: 5, seatsPerRow: 6 } };
const request = { flightId: 7, bookingId: 42, seats: 2 };
const held = { bookingId: 42, flightId: 7, seats: 2, status: 'HELD' as const, seatNumbers: ['1A', '1B'] };
const codeOf = (d: ReturnType<typeof decideHold>) => (d.kind === 'refused' ? d.refusal.code : d.kind);

describe('decideHold, on plain records', () => {
  test('a new hold takes the seats and answers with the flight as it stood', () => {
    expect(decideHold(flight, undefined, request, now, seating)).toEqual({
      kind: 'hold',
      availableSeats: 3,
      reservation: {
        ...held,
        flight: {
          flightNumber: 'SK1',
          departureAirportCode: 'DEL',
          arrivalAirportCode: 'BOM',
          departureTime: flight.departureTime,
          price: 4500,
        },
      },
    });
  });

  test('unknown, departed and full flights are refused, departed first', () => {
    expect(codeOf(decideHold(undefined, undefined, request, now))).toBe('not-found');
    const departed = { ...flight, departureTime: now, availableSeats: 0 };
    expect(codeOf(decideHold(departed, undefined, request, now))).toBe('flight-departed');
    expect(codeOf(decideHold({ ...flight, availableSeats: 1 }, undefined, request, now))).toBe(
      'not-enough-seats',
    );
  });

  test('a repeat is the same answer, even once the flight has departed or filled up', () => {
    const full = { ...flight, availableSeats: 0, departureTime: now };
    const d = decideHold(full, held, request, now);
    expect(d.kind).toBe('repeat');
  });

  test('a tombstone, another seat count or another flight refuse the repeat', () => {
    expect(codeOf(decideHold(flight, { ...held, status: 'RELEASED' }, request, now))).toBe(
      'reservation-released',
    );
    expect(codeOf(decideHold(flight, { ...held, seats: 3 }, request, now))).toBe('reservation-mismatch');
    expect(codeOf(decideHold(flight, { ...held, flightId: 8 }, request, now))).toBe(
      'booking-on-other-flight',
    );
  });
});

describe('decideRelease', () => {
  test('nothing held leaves a tombstone; held seats come back once', () => {
    expect(decideRelease(undefined, 7)).toEqual({ kind: 'tombstone' });
    expect(decideRelease(held, 7)).toMatchObject({ kind: 'release', seats: 2 });
    const again = decideRelease({ ...held, status: 'RELEASED' }, 7);
    expect(again.kind).toBe('already-released');
    expect(releasedReservation(again, [])).toEqual({ ...held, status: 'RELEASED', seatNumbers: [] });
    expect(releasedReservation(decideRelease(held, 8), [])).toBeUndefined();
  });
});

describe('the refusal table', () => {
  test('a refusal becomes its status, problem type and detail', () => {
    const p = problemFor({ code: 'not-enough-seats', flightId: 7, availableSeats: 1 });
    expect([p.status, p.type, p.message]).toEqual([
      409,
      'urn:skyway:problem:not-enough-seats',
      'Flight 7 has 1 seats left',
    ]);
    expect(problemFor({ code: 'not-found', noun: 'Flight', id: 3 }).type).toBe('about:blank');
  });
});

test("the hold's guard as holdGuardPasses states it (the database's UPDATE is held to the same list in reservations.test.ts) keeps every decision it lets through", () => {
  // The guard is made from the row a hold was decided on; any row it passes must decide the same hold.
  const request = { flightId: 7, bookingId: 70, seats: 2 };
  const taking = { seatNumbers: ['1A', '1B'], layout: { totalSeats: 5, seatsPerRow: 6 } };
  const decided = decideHold(flight, undefined, request, now, taking);
  expect(decided.kind).toBe('hold');
  const guard = holdGuard(flight, request.seats);
  const changes: Array<Partial<LockedFlight>> = [
    {},
    { availableSeats: 2 },
    { availableSeats: 1 },
    { availableSeats: 0 },
    { departureTime: new Date(flight.departureTime.getTime() - 1) },
    { departureTime: new Date(now.getTime() - 1) },
    { totalSeats: 6 },
    { seatsPerRow: 3 },
    { price: 4501 },
    { flightNumber: 'SK2' },
    { departureAirportCode: 'BLR' },
    { arrivalAirportCode: 'MAA' },
  ];
  const passed = changes.map((c) => {
    const f = { ...flight, ...c };
    const passes = holdGuardPasses(f, guard);
    if (passes) {
      const again = decideHold(f, undefined, request, now, taking);
      expect(again.kind).toBe('hold');
      if (again.kind === 'hold' && decided.kind === 'hold')
        expect(again.reservation).toEqual(decided.reservation);
    }
    return passes;
  });
  // Only the row as decided on, with at least the seats asked for, passes.
  expect(passed).toEqual([true, true, false, false, false, false, false, false, false, false, false, false]);
});
