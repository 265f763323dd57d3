import { Router } from 'express';
import type { z } from 'zod';
import { HttpProblem, validate } from '@skyway/common';
import type { HoldUseCases } from '../app/holds';
import { VALIDATION } from './problems';
import { reservationBody, reservationParams, seatChangeBody } from './schemas';

/** A body check whose 400 carries the validation problem type the internal seat API promises. */
function validateBody<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  try {
    return validate(schema, body, 'body');
  } catch (err) {
    if (err instanceof HttpProblem && err.status === 400) {
      throw new HttpProblem(400, err.message, err.errors, VALIDATION);
    }
    throw err;
  }
}

/** Internal seat reservations (booking-service only; the gateway never proxies /internal). */
export function reservationRoutes(holds: HoldUseCases): Router {
  const router = Router();
  const path = '/internal/v1/flights/:id/reservations/:bookingId';

  router.put(path, async (req, res) => {
    const { id, bookingId } = validate(reservationParams, req.params, 'path');
    const { seats, seatNumbers } = validateBody(reservationBody, req.body);
    const outcome = await holds.holdSeats({ flightId: id, bookingId, seats, seatNumbers });
    // A new reservation lives at the URL it was PUT to (RFC 9110 allows leaving Location out then; it is sent
    // so that every 201 of this service says where its resource is).
    if (outcome.created) res.status(201).location(`/internal/v1/flights/${id}/reservations/${bookingId}`);
    res.json(outcome.reservation);
  });

  router.get(path, async (req, res) => {
    const { id, bookingId } = validate(reservationParams, req.params, 'path');
    res.json(await holds.reservation(id, bookingId));
  });

  router.put(`${path}/seats`, async (req, res) => {
    const { id, bookingId } = validate(reservationParams, req.params, 'path');
    const { changeId, seatNumbers } = validateBody(seatChangeBody, req.body);
    res.json(await holds.changeSeats({ flightId: id, bookingId, changeId, seatNumbers }));
  });

  router.delete(path, async (req, res) => {
    const { id, bookingId } = validate(reservationParams, req.params, 'path');
    const released = await holds.releaseSeats(id, bookingId);
    if (released) res.json(released);
    else res.status(204).end();
  });

  return router;
}
