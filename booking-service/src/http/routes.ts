import { Router } from 'express';
import { requireIdentity, validate, type Logger } from '@skyway/common';
import type { BookingService } from '../domain/bookings';
import { PaymentInterrupted, type PaymentService } from '../domain/payments';
import type { IdempotencyStore } from '../db/idempotency-store';
import { IDEMPOTENCY_HEADER, idempotency, releaseKeyAfter } from './idempotency';
import { bookingCreate, idParams, pageQuery, paymentCreate } from './schemas';

export interface RouteDeps {
  bookings: BookingService;
  payments: PaymentService;
  idempotencyStore: IdempotencyStore;
  logger: Logger;
}

/** /api/v1/bookings and /api/v1/payments. Identity comes only from the gateway's X-User-* headers. */
export function bookingRoutes({ bookings, payments, idempotencyStore, logger }: RouteDeps): Router {
  const router = Router();

  router.post(
    '/api/v1/bookings',
    idempotency({ store: idempotencyStore, scope: 'bookings', required: false, logger }),
    async (req, res) => {
      const who = requireIdentity(req);
      const input = validate(bookingCreate, req.body, 'body');
      res.status(201).json(await bookings.create(who, input));
    },
  );

  router.get('/api/v1/bookings', async (req, res) => {
    const who = requireIdentity(req);
    const { page, limit } = validate(pageQuery, req.query, 'query');
    res.json(await bookings.list(who, page, limit));
  });

  router.get('/api/v1/bookings/:id', async (req, res) => {
    const who = requireIdentity(req);
    const { id } = validate(idParams, req.params, 'path');
    res.json(await bookings.get(who, id));
  });

  router.post('/api/v1/bookings/:id/cancel', async (req, res) => {
    const who = requireIdentity(req);
    const { id } = validate(idParams, req.params, 'path');
    res.json(await bookings.cancel(who, id));
  });

  router.post(
    '/api/v1/payments',
    idempotency({ store: idempotencyStore, scope: 'payments', required: true, logger }),
    async (req, res) => {
      const who = requireIdentity(req);
      const input = validate(paymentCreate, req.body, 'body');
      try {
        res.status(201).json(await payments.pay(who, req.get(IDEMPOTENCY_HEADER) as string, input));
      } catch (err) {
        if (err instanceof PaymentInterrupted) releaseKeyAfter(res, err.settled);
        throw err;
      }
    },
  );

  return router;
}
