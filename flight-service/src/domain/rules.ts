import type { FieldError } from '@skyway/common';

/** Cross-field rules for a flight (checked on create and on every change). */
export interface FlightShape {
  departureAirportCode: string;
  arrivalAirportCode: string;
  departureTime: Date;
  arrivalTime: Date;
  totalSeats: number;
}

export function flightRuleErrors(f: FlightShape, airplaneCapacity: number): FieldError[] {
  const errors: FieldError[] = [];
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

/** Checked while the flight's row is locked; the same rule booking-service applies early (common). */
export { reservationRefusal, type ReservationRefusal } from '@skyway/common';
