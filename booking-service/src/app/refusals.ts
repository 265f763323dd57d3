/**
 * Every way a use case can refuse a request, as typed outcomes (no HTTP here: http/problems.ts maps each kind
 * to its status, problem type and detail). Use cases throw them as `Refused`.
 */
export type Refusal =
  // Reads, cancel and pay
  | { kind: 'booking-not-found'; bookingId: number }
  | { kind: 'cancel-while-paying'; bookingId: number }
  | { kind: 'cancel-after-departure'; bookingId: number }
  // The booking saga
  | { kind: 'flight-not-found'; flightId: number }
  | { kind: 'flight-departed'; flightId: number }
  | { kind: 'not-enough-seats'; flightId: number; availableSeats: number }
  | {
      kind: 'unpaid-seats-limit';
      flightId: number;
      cap: 'per-flight' | 'total';
      limit: number;
      unpaid: number;
    }
  | { kind: 'flight-service-down'; before: 'lookup' | 'hold' }
  | { kind: 'hold-refused'; type?: string; detail?: string }
  | { kind: 'hold-refused-unexpectedly' }
  | { kind: 'booking-not-recorded' }
  | { kind: 'cancelled-while-held'; bookingId: number }
  | { kind: 'idempotency-superseded' }
  // Seats (the booking saga and seat changes)
  /** A seat not on the flight's map (or named twice): `errors` name each, e.g. `passengers.1.seat` or `seats.0`. */
  | { kind: 'seats-invalid'; errors: Array<{ path: string; message: string }> }
  | { kind: 'seat-taken'; seats: string[] }
  | { kind: 'seat-count-mismatch'; bookingId: number; expected: number }
  | { kind: 'seat-change-not-allowed'; bookingId: number; status: string; expired: boolean }
  | { kind: 'seat-change-after-departure'; bookingId: number }
  | { kind: 'seat-change-while-paying'; bookingId: number }
  | { kind: 'seat-change-in-progress'; bookingId: number }
  /** flight-service could not be asked: the recorded change is finished later (same changeId), seats as before. */
  | { kind: 'seat-change-unconfirmed'; bookingId: number }
  | { kind: 'seat-change-refused-unexpectedly' }
  // Payments
  | { kind: 'already-paid'; bookingId: number }
  | { kind: 'payment-in-progress'; bookingId: number }
  | { kind: 'booking-cancelled'; bookingId: number }
  | { kind: 'booking-expired'; bookingId: number; expiresAt: Date }
  | { kind: 'pay-after-departure'; bookingId: number; departureTime: Date }
  | { kind: 'wrong-amount'; totalCost: number }
  | { kind: 'payment-declined'; reason: string }
  | { kind: 'changed-while-paying'; bookingId: number }
  /**
   * The payment failed after the booking went PENDING. When the booking could not be put back to INITIATED at
   * once (the database was away) that happens in the background: `settled` resolves once it is done, and the
   * Idempotency-Key must not be released before.
   */
  | { kind: 'payment-unconfirmed'; settled?: Promise<unknown> }
  | { kind: 'payment-not-started'; settled?: Promise<unknown> }
  | { kind: 'payment-not-recorded'; settled?: Promise<unknown> };

/** A use case's refusal, thrown. */
export class Refused extends Error {
  override name = 'Refused';
  constructor(readonly refusal: Refusal) {
    super(refusal.kind);
  }
}

/** Work a refused request left running, which its Idempotency-Key must wait for (see releaseKeyAfter). */
export const settledOf = (err: unknown): Promise<unknown> | undefined =>
  err instanceof Refused && 'settled' in err.refusal ? err.refusal.settled : undefined;
