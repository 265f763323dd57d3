export type ReservationRefusal = 'departed' | 'not-enough-seats';

/**
 * Whether `seats` seats can be held on a flight right now. flight-service decides with it while the flight's row
 * is locked; booking-service asks it first, to refuse early without writing anything.
 */
export function reservationRefusal(
  flight: { availableSeats: number; departureTime: Date },
  seats: number,
  now: Date,
): ReservationRefusal | undefined {
  if (flight.departureTime.getTime() <= now.getTime()) return 'departed';
  if (flight.availableSeats < seats) return 'not-enough-seats';
  return undefined;
}
