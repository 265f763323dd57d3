import type { ErrorRequestHandler } from 'express';
import { HttpProblem, type FieldError } from '@skyway/common';
import { Refused, type Refusal, type RefusalCode } from '../domain/refusals';

const URN = 'urn:skyway:problem:';
export const REFERENCE_MISSING = `${URN}reference-missing`;
export const STILL_REFERENCED = `${URN}still-referenced`;
/** A 400 of the seat routes (internal API: booking-service reads `errors[].path`). */
export const VALIDATION = `${URN}validation`;

interface Problem {
  status: number;
  /** `about:blank` when left out. */
  type?: string;
  detail: string;
  errors?: FieldError[];
  /** Extension members beside the standard ones. */
  extensions?: Record<string, unknown>;
}

type Table = { [C in RefusalCode]: (r: Extract<Refusal, { code: C }>) => Problem };

const BODY_INVALID = 'The body is invalid';

/** Every refusal of the service's use cases, and the problem+json it is answered with. */
const PROBLEMS: Table = {
  'not-found': (r) => ({ status: 404, detail: `${r.noun} ${r.id} does not exist` }),
  'invalid-query': (r) => ({ status: 400, detail: 'The query is invalid', errors: r.errors }),
  'unknown-reference': (r) => ({
    status: 400,
    detail: BODY_INVALID,
    errors: r.missing.map((m) => ({ path: m.path, message: `${m.noun} ${m.value} does not exist` })),
  }),
  'capacity-below-seats': (r) => ({
    status: 400,
    detail: BODY_INVALID,
    errors: [{ path: 'capacity', message: `a flight of this airplane already has ${r.largestSeats} seats` }],
  }),
  'flight-rules': (r) => ({ status: 400, detail: 'The flight breaks a rule', errors: r.errors }),
  'airplane-rules': (r) => ({ status: 400, detail: BODY_INVALID, errors: r.errors }),
  'seats-below-held': (r) => ({
    status: 409,
    detail: `${r.held} seats are already held; totalSeats cannot go below that`,
  }),
  'flight-has-reservations': (r) => ({
    status: 409,
    detail: `Flight ${r.flightId} has seat reservations and cannot be deleted`,
  }),
  duplicate: (r) => ({ status: 409, detail: `A ${r.noun.toLowerCase()} with these values already exists` }),
  'reference-missing': (r) => {
    const noun = r.noun.toLowerCase();
    if (!r.column) {
      return {
        status: 409,
        type: REFERENCE_MISSING,
        detail: `The ${noun} refers to a ${r.parent} that does not exist (it may just have been deleted)`,
      };
    }
    const missing = r.value === undefined ? `the ${r.parent}` : `${r.parent} ${r.value}`;
    return {
      status: 409,
      type: REFERENCE_MISSING,
      detail: `The ${noun}'s ${r.column} refers to ${missing}, which does not exist (it may just have been deleted)`,
      errors: [{ path: r.column, message: `${missing} does not exist` }],
    };
  },
  'still-referenced': (r) => ({
    status: 409,
    type: STILL_REFERENCED,
    detail: `${r.noun} ${String(r.id)} is still referenced by ${r.by}`,
  }),
  'flight-departed': (r) => ({
    status: 409,
    type: `${URN}flight-departed`,
    detail: `Flight ${r.flightId} has already departed`,
  }),
  'not-enough-seats': (r) => ({
    status: 409,
    type: `${URN}not-enough-seats`,
    detail: `Flight ${r.flightId} has ${r.availableSeats} seats left`,
  }),
  'reservation-released': (r) => ({
    status: 409,
    type: `${URN}reservation-released`,
    detail: `The reservation of booking ${r.bookingId} was released`,
  }),
  'reservation-mismatch': (r) => ({
    status: 409,
    type: `${URN}reservation-mismatch`,
    detail: `Booking ${r.bookingId} already holds ${r.heldSeats} seats`,
  }),
  'booking-on-other-flight': (r) => ({
    status: 409,
    type: `${URN}booking-on-other-flight`,
    detail: `Booking ${r.bookingId} holds seats on another flight`,
  }),
  'seat-numbers-invalid': (r) => ({
    status: 400,
    type: VALIDATION,
    detail: BODY_INVALID,
    errors: r.errors,
  }),
  'seat-taken': (r) => ({
    status: 409,
    type: `${URN}seat-taken`,
    detail: `Seat${r.seats.length > 1 ? 's' : ''} ${r.seats.join(', ')} on flight ${r.flightId} ${r.seats.length > 1 ? 'are' : 'is'} taken`,
    extensions: { seats: r.seats },
  }),
  'change-id-reused': (r) => ({
    status: 409,
    type: `${URN}change-id-reused`,
    detail: `Change ${r.changeId} of booking ${r.bookingId} was made with other seats`,
  }),
  'seats-taken-beyond': (r) => ({
    status: 409,
    type: `${URN}seats-taken-beyond`,
    detail: `Seats ${r.seats.join(', ')} are taken; totalSeats cannot end the map before them`,
    extensions: { seats: r.seats },
  }),
  'layout-has-live-seats': (r) => ({
    status: 409,
    type: `${URN}layout-has-live-seats`,
    detail: `${r.noun} ${r.id} has flights with taken seats; its seats per row cannot change`,
  }),
};

export function problemFor(refusal: Refusal): HttpProblem {
  const p = (PROBLEMS[refusal.code] as (r: Refusal) => Problem)(refusal);
  return new HttpProblem(p.status, p.detail, p.errors, p.type, undefined, p.extensions);
}

/** Before common's error handler: a refused use case becomes its problem. */
export const refusalsAsProblems: ErrorRequestHandler = (err, _req, _res, next) => {
  next(err instanceof Refused ? problemFor(err.refusal) : err);
};
