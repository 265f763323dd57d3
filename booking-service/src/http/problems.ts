import type { ErrorRequestHandler } from 'express';
import { HttpProblem, type FieldError } from '@skyway/common';
import { Refused, type Refusal } from '../app/refusals';

const PROBLEM = 'urn:skyway:problem:';

interface Problem {
  status: number;
  detail: string;
  /** `about:blank` when absent. */
  type?: string;
  errors?: FieldError[];
  /** A state that passes by itself: the client should retry after this many seconds (and no key stores it). */
  retryAfter?: number;
  /** RFC 9457 extension members, sent beside the standard ones (e.g. seat-taken's `seats`). */
  extensions?: Record<string, unknown>;
}

type ProblemTable = { [K in Refusal['kind']]: (r: Extract<Refusal, { kind: K }>) => Problem };

/** Every refusal of a use case, as the problem a client gets: status, problem type, detail. */
const PROBLEMS: ProblemTable = {
  'booking-not-found': (r) => ({ status: 404, detail: `Booking ${r.bookingId} not found` }),
  'cancel-while-paying': (r) => ({
    status: 409,
    detail: `A payment for booking ${r.bookingId} is in progress; try again shortly`,
    retryAfter: 1,
  }),
  'cancel-after-departure': (r) => ({
    status: 409,
    detail: `The flight of booking ${r.bookingId} has departed; it can no longer be cancelled`,
  }),
  'flight-not-found': (r) => ({ status: 404, detail: `Flight ${r.flightId} does not exist` }),
  'flight-departed': (r) => ({
    status: 409,
    type: `${PROBLEM}flight-departed`,
    detail: `Flight ${r.flightId} has already departed`,
  }),
  'not-enough-seats': (r) => ({
    status: 409,
    type: `${PROBLEM}not-enough-seats`,
    detail: `Flight ${r.flightId} has ${r.availableSeats} seats left`,
  }),
  'unpaid-seats-limit': (r) => ({
    status: 409,
    type: `${PROBLEM}unpaid-seats-limit`,
    detail: `At most ${r.limit} unpaid seats per customer ${
      r.cap === 'per-flight' ? `on flight ${r.flightId}` : 'in all'
    }; you hold ${r.unpaid}. Pay or cancel a booking first`,
  }),
  'flight-service-down': (r) => ({
    status: 503,
    detail:
      r.before === 'lookup'
        ? 'flight-service cannot be reached; try again shortly'
        : 'flight-service cannot be reached; no booking was made',
  }),
  'hold-refused': (r) => ({
    status: 409,
    type: r.type ?? 'about:blank',
    detail: r.detail ?? 'The seats could not be held',
  }),
  'hold-refused-unexpectedly': () => ({ status: 502, detail: 'flight-service refused the seat hold' }),
  'booking-not-recorded': () => ({
    status: 503,
    detail: 'The booking could not be recorded; no booking was made. Try again shortly',
  }),
  'cancelled-while-held': (r) => ({
    status: 409,
    detail: `Booking ${r.bookingId} was cancelled while its seats were held`,
  }),
  'idempotency-superseded': () => ({
    status: 409,
    detail: 'A retry with the same Idempotency-Key has taken this request over; no booking was made',
  }),
  'seats-invalid': (r) => ({
    status: 400,
    detail: 'A requested seat is not on this flight',
    errors: r.errors,
  }),
  'seat-taken': (r) => ({
    status: 409,
    type: `${PROBLEM}seat-taken`,
    detail: `Seat${r.seats.length === 1 ? '' : 's'} ${r.seats.join(', ')} ${
      r.seats.length === 1 ? 'is' : 'are'
    } taken; nothing was held or changed`,
    extensions: { seats: r.seats },
  }),
  'seat-count-mismatch': (r) => ({
    status: 400,
    detail: `Booking ${r.bookingId} has ${r.expected} passengers`,
    errors: [{ path: 'seats', message: `must name one seat per passenger (${r.expected})` }],
  }),
  'seat-change-not-allowed': (r) => ({
    status: 409,
    detail: `The seats of booking ${r.bookingId} can no longer be changed (${
      r.expired ? 'expired' : r.status
    }); only INITIATED and BOOKED bookings can change seats`,
  }),
  'seat-change-after-departure': (r) => ({
    status: 409,
    type: `${PROBLEM}flight-departed`,
    detail: `The flight of booking ${r.bookingId} has departed; its seats can no longer be changed`,
  }),
  'seat-change-while-paying': (r) => ({
    status: 409,
    detail: `A payment for booking ${r.bookingId} is in progress; try again shortly`,
    retryAfter: 1,
  }),
  'seat-change-in-progress': (r) => ({
    status: 409,
    detail: `Another seat change of booking ${r.bookingId} is in progress; try again shortly`,
    retryAfter: 1,
  }),
  'seat-change-unconfirmed': (r) => ({
    status: 503,
    detail: `flight-service did not confirm the seat change of booking ${r.bookingId}; read the booking again shortly to see its seats`,
  }),
  'seat-change-refused-unexpectedly': () => ({
    status: 502,
    detail: 'flight-service refused the seat change',
  }),
  'already-paid': (r) => ({ status: 409, detail: `Booking ${r.bookingId} is already paid` }),
  'payment-in-progress': (r) => ({
    status: 409,
    detail: `A payment for booking ${r.bookingId} is already in progress`,
    retryAfter: 1,
  }),
  'booking-cancelled': (r) => ({ status: 410, detail: `Booking ${r.bookingId} is cancelled` }),
  'booking-expired': (r) => ({
    status: 410,
    detail: `Booking ${r.bookingId} expired at ${r.expiresAt.toISOString()}`,
  }),
  'pay-after-departure': (r) => ({
    status: 409,
    type: `${PROBLEM}flight-departed`,
    detail: `The flight of booking ${r.bookingId} departed at ${r.departureTime.toISOString()}; it can no longer be paid`,
  }),
  'wrong-amount': (r) => ({
    status: 400,
    detail: 'The amount does not match the booking',
    errors: [{ path: 'amount', message: `must equal the booking's totalCost (${r.totalCost})` }],
  }),
  'payment-declined': (r) => ({ status: 402, detail: `The payment was declined: ${r.reason}` }),
  'changed-while-paying': (r) => ({
    status: 409,
    detail: `Booking ${r.bookingId} changed while it was being paid`,
  }),
  'payment-unconfirmed': () => ({
    status: 502,
    detail: 'The payment provider did not confirm the charge; retry with the same Idempotency-Key',
  }),
  'payment-not-started': () => ({
    status: 503,
    detail:
      'The database did not confirm the payment; nothing was charged. Retry with the same Idempotency-Key',
  }),
  'payment-not-recorded': () => ({
    status: 503,
    detail: 'The payment could not be recorded; retry with the same Idempotency-Key',
  }),
};

const problemOf = (refusal: Refusal): Problem => (PROBLEMS[refusal.kind] as (r: Refusal) => Problem)(refusal);

export function problemFor(refusal: Refusal): HttpProblem {
  const p = problemOf(refusal);
  return new HttpProblem(p.status, p.detail, p.errors, p.type, undefined, p.extensions);
}

/** Turns a use case's refusal into its problem, for common's error handler to send. */
export const refusalProblems: ErrorRequestHandler = (err, _req, res, next) => {
  if (!(err instanceof Refused)) return next(err);
  const { retryAfter } = problemOf(err.refusal);
  if (retryAfter !== undefined) res.set('Retry-After', String(retryAfter));
  const problem = problemFor(err.refusal);
  // Where the use case refused, for the 5xx log line.
  problem.stack = err.stack;
  next(problem);
};
