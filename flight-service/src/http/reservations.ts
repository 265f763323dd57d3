import { Router } from 'express';
import { validate } from '@skyway/common';
import type { HoldUseCases } from '../app/holds';
import { reservationBody, reservationParams } from './schemas';

/** Internal seat reservations (booking-service only; the gateway never proxies /internal). */
export function reservationRoutes(holds: HoldUseCases): Router {
  const router = Router();
  const path = '/internal/v1/flights/:id/reservations/:bookingId';

  router.put(path, async (req, res) => {
    const { id, bookingId } = validate(reservationParams, req.params, 'path');
    const { seats } = validate(reservationBody, req.body, 'body');
    const outcome = await holds.holdSeats({ flightId: id, bookingId, seats });
    // A new reservation lives at the URL it was PUT to (RFC 9110 allows leaving Location out then; it is sent
    // so that every 201 of this service says where its resource is).
    if (outcome.created) res.status(201).location(`/internal/v1/flights/${id}/reservations/${bookingId}`);
    res.json(outcome.reservation);
  });

  router.delete(path, async (req, res) => {
    const { id, bookingId } = validate(reservationParams, req.params, 'path');
    const released = await holds.releaseSeats(id, bookingId);
    if (released) res.json(released);
    else res.status(204).end();
  });

  return router;
}
