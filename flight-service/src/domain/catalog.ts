import { accept, refuse, type FieldIssue, type Outcome, type Refusal } from './refusals';
import { layoutFits, MAX_ROWS, seatIndex } from './seats';

export interface CityRecord {
  id: number;
  name: string;
}

export interface AirportRecord {
  id: number;
  code: string;
  name: string;
  address?: string | null;
  cityId: number;
}

export interface AirplaneRecord {
  id: number;
  modelNumber: string;
  capacity: number;
  seatsPerRow: number;
}

export interface FlightRecord {
  id: number;
  flightNumber: string;
  airplaneId: number;
  departureAirportCode: string;
  arrivalAirportCode: string;
  departureTime: Date;
  arrivalTime: Date;
  price: number;
  boardingGate: string | null;
  totalSeats: number;
  availableSeats: number;
}

/** A flight as an admin creates it; `totalSeats` defaults to the airplane's capacity. */
export interface NewFlight {
  flightNumber: string;
  airplaneId: number;
  departureAirportCode: string;
  arrivalAirportCode: string;
  departureTime: Date;
  arrivalTime: Date;
  price: number;
  boardingGate?: string | null;
  totalSeats?: number;
}

export type FlightChanges = Partial<NewFlight>;

/** Cross-field rules for a flight (checked on create and on every change). */
export interface FlightShape {
  departureAirportCode: string;
  arrivalAirportCode: string;
  departureTime: Date;
  arrivalTime: Date;
  totalSeats: number;
}

export function flightRuleErrors(f: FlightShape, airplaneCapacity: number): FieldIssue[] {
  const errors: FieldIssue[] = [];
  if (f.departureAirportCode === f.arrivalAirportCode) {
    errors.push({ path: 'arrivalAirportCode', message: 'must differ from departureAirportCode' });
  }
  if (f.arrivalTime.getTime() <= f.departureTime.getTime()) {
    errors.push({ path: 'arrivalTime', message: 'must be after departureTime' });
  }
  if (f.totalSeats > airplaneCapacity) {
    errors.push({
      path: 'totalSeats',
      message: `must not exceed the airplane's capacity (${airplaneCapacity})`,
    });
  }
  return errors;
}

const unknownAirplane = (airplaneId: number): Refusal => ({
  code: 'unknown-reference',
  missing: [{ path: 'airplaneId', noun: 'airplane', value: airplaneId }],
});

/** The airplane a write names must exist (its capacity is undefined when it does not). */
export function airplaneRefusal(airplaneId: number, capacity: number | undefined): Refusal | undefined {
  return capacity === undefined ? unknownAirplane(airplaneId) : undefined;
}

/** Each named airport (`[field, code]`) must be among the `known` codes; one refusal names every missing one. */
export function airportsRefusal(wanted: Array<[string, string]>, known: Set<string>): Refusal | undefined {
  const missing = wanted
    .filter(([, code]) => !known.has(code))
    .map(([path, code]) => ({ path, noun: 'airport' as const, value: code }));
  return missing.length ? { code: 'unknown-reference', missing } : undefined;
}

/** An airport's city must exist. */
export function cityRefusal(cityId: number, exists: boolean): Refusal | undefined {
  return exists
    ? undefined
    : { code: 'unknown-reference', missing: [{ path: 'cityId', noun: 'city', value: cityId }] };
}

/** An airplane's capacity cannot drop below the seats of a flight it already flies. */
export function capacityRefusal(capacity: number, largestSeats: number): Refusal | undefined {
  return capacity < largestSeats ? { code: 'capacity-below-seats', largestSeats } : undefined;
}

/** Seat names have at most 9999 rows: the capacity must fit in them at the airplane's row width. */
export function layoutRefusal(capacity: number, seatsPerRow: number): Refusal | undefined {
  if (layoutFits(capacity, seatsPerRow)) return undefined;
  const message = `must be at most ${MAX_ROWS * seatsPerRow} (${MAX_ROWS} rows of ${seatsPerRow} seats)`;
  return { code: 'airplane-rules', errors: [{ path: 'capacity', message }] };
}

/** A row width change renames every seat of the airplane's flights: refused while any of them is taken. */
export function seatsPerRowRefusal(
  airplane: AirplaneRecord,
  next: { seatsPerRow: number },
  hasLiveSeats: boolean,
): Refusal | undefined {
  return next.seatsPerRow !== airplane.seatsPerRow && hasLiveSeats
    ? { code: 'layout-has-live-seats', noun: 'Airplane', id: airplane.id }
    : undefined;
}

/** The row a new flight is stored as: all its seats available. */
export function decideNewFlight(
  flight: NewFlight,
  capacity: number,
): Outcome<NewFlight & { totalSeats: number; availableSeats: number }> {
  const totalSeats = flight.totalSeats ?? capacity;
  const errors = flightRuleErrors({ ...flight, totalSeats }, capacity);
  if (errors.length) return refuse({ code: 'flight-rules', errors });
  return accept({ ...flight, totalSeats, availableSeats: totalSeats });
}

/**
 * What a patch writes to a flight (read under its row lock): the changes plus the available seats that keep the
 * seats already held, which `totalSeats` may not drop below.
 */
export function decideFlightChange(
  current: FlightRecord,
  changes: FlightChanges,
  plane: { capacity: number; seatsPerRow: number } | undefined,
  seats: { seatsPerRow: number; taken: string[] } = { seatsPerRow: plane?.seatsPerRow ?? 1, taken: [] },
): Outcome<FlightChanges & { availableSeats: number }> {
  const next = { ...current, ...changes };
  if (plane === undefined) return refuse(unknownAirplane(next.airplaneId));
  const errors = flightRuleErrors(next, plane.capacity);
  if (errors.length) return refuse({ code: 'flight-rules', errors });
  const held = current.totalSeats - current.availableSeats;
  if (next.totalSeats < held) return refuse({ code: 'seats-below-held', held });
  // Taken seats must stay on the map with the same names: no new row width, no end of the map before them.
  if (seats.taken.length && plane.seatsPerRow !== seats.seatsPerRow) {
    return refuse({ code: 'layout-has-live-seats', noun: 'Flight', id: current.id });
  }
  const layout = { totalSeats: next.totalSeats, seatsPerRow: plane.seatsPerRow };
  const beyond = seats.taken.filter((s) => seatIndex(s, layout) === undefined);
  if (beyond.length) return refuse({ code: 'seats-taken-beyond', seats: beyond.sort() });
  return accept({ ...changes, availableSeats: next.totalSeats - held });
}

/** A flight any booking ever reserved seats on stays (its reservations refer to it). */
export function flightDeletionRefusal(flightId: number, everReserved: boolean): Refusal | undefined {
  return everReserved ? { code: 'flight-has-reservations', flightId } : undefined;
}
