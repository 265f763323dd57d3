import { Router } from 'express';
import { z } from 'zod';
import { validate } from '@skyway/common';
import { listNotifications, type ListNotificationsDeps, type Notification } from '../app/list-notifications';

const listQuery = z.object({
  bookingId: z
    .string({ message: 'is required' })
    .regex(/^[1-9]\d{0,9}$/, 'must be a positive integer')
    .transform(Number)
    .pipe(z.number().max(4_294_967_295, 'must be a positive integer')),
});

const iso = (t: Date | null) => (t ? new Date(t).toISOString() : null);

/** The public shape of a notification (contract), plus bookingId, kind and createdAt. */
export function notificationView(n: Notification) {
  return {
    id: n.id,
    eventId: n.eventId,
    bookingId: n.bookingId,
    kind: n.kind,
    recipient: n.recipient,
    subject: n.subject,
    status: n.status,
    attempts: n.attempts,
    sentAt: iso(n.sentAt),
    createdAt: iso(n.createdAt),
  };
}

export function notificationRoutes(deps: ListNotificationsDeps): Router {
  const router = Router();
  router.get('/internal/v1/notifications', async (req, res) => {
    const { bookingId } = validate(listQuery, { bookingId: req.query.bookingId }, 'query');
    const rows = await listNotifications(deps, bookingId);
    res.json({ data: rows.map(notificationView) });
  });
  return router;
}
