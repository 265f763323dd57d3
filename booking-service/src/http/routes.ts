import { Router } from 'express';
import { requireIdentity, validate, type Logger } from '@skyway/common';
import type { BookingService, BookingView } from '../app/bookings';
import type { IdempotencyKeys } from '../app/idempotency';
import type { PaymentService } from '../app/payments';
import { settledOf } from '../app/refusals';
import type { SeatChanges } from '../app/seat-changes';
import { claimFenceOf, idempotencyKeyOf, idempotency, releaseKeyAfter } from './idempotency';
import type { BookingMetrics } from '../metrics';
import { bookingCreate, idParams, pageQuery, paymentCreate, seatChange } from './schemas';

export interface RouteDeps {
  bookings: BookingService;
  payments: PaymentService;
  seatChanges: SeatChanges;
  idempotencyStore: IdempotencyKeys;
  logger: Logger;
  bookingMetrics?: BookingMetrics;
}

const bookingLocation = (id: number) => `/api/v1/bookings/${id}`;

/**
 * /api/v1/bookings and /api/v1/payments. Identity comes only from the gateway's X-User-* headers; a use case's
 * refusal becomes its problem in http/problems.ts (refusalProblems, installed by app.ts).
 */
export function bookingRoutes({
  bookings,
  payments,
  seatChanges,
  idempotencyStore,
  logger,
  bookingMetrics: metrics,
}: RouteDeps): Router {
  const router = Router();

  router.post(
    '/api/v1/bookings',
    idempotency({ store: idempotencyStore, scope: 'bookings', required: false, logger, metrics }),
    async (req, res) => {
      const who = requireIdentity(req);
      const input = validate(bookingCreate, req.body, 'body');
      const fence = claimFenceOf(res);
      // With an Idempotency-Key the answer is stored in the booking's own transaction, exactly as sent here.
      const answer = (view: BookingView) => ({
        status: 201,
        type: 'application/json; charset=utf-8',
        location: bookingLocation(view.id),
        body: JSON.stringify(view),
      });
      const view = await bookings.create(who, input, fence && { fence, answer });
      res.status(201).location(bookingLocation(view.id)).json(view);
    },
  );

  router.get('/api/v1/bookings', async (req, res) => {
    const who = requireIdentity(req);
    const { page, limit, locator } = validate(pageQuery, req.query, 'query');
    res.json(await bookings.list(who, page, limit, locator));
  });

  router.get('/api/v1/bookings/:id', async (req, res) => {
    const who = requireIdentity(req);
    const { id } = validate(idParams, req.params, 'path');
    res.json(await bookings.get(who, id));
  });

  router.put('/api/v1/bookings/:id/seats', async (req, res) => {
    const who = requireIdentity(req);
    const { id } = validate(idParams, req.params, 'path');
    const { seats } = validate(seatChange, req.body, 'body');
    res.json(await seatChanges.change(who, id, seats));
  });

  router.post('/api/v1/bookings/:id/cancel', async (req, res) => {
    const who = requireIdentity(req);
    const { id } = validate(idParams, req.params, 'path');
    res.json(await bookings.cancel(who, id));
  });

  router.post(
    '/api/v1/payments',
    idempotency({ store: idempotencyStore, scope: 'payments', required: true, logger, metrics }),
    async (req, res) => {
      const who = requireIdentity(req);
      const input = validate(paymentCreate, req.body, 'body');
      try {
        const payment = await payments.pay(
          who,
          // Required on this route: the middleware has parsed and claimed it.
          idempotencyKeyOf(res) as string,
          input,
        );
        // No payment resource of its own: its effect is the booking it paid.
        res.status(201).location(bookingLocation(payment.bookingId)).json(payment);
      } catch (err) {
        // A payment that failed while the booking could not be put back yet: the key waits for that to finish.
        const settled = settledOf(err);
        if (settled) releaseKeyAfter(res, settled);
        throw err;
      }
    },
  );

  return router;
}
