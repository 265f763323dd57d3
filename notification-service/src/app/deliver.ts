import type { Logger } from '@skyway/common';
import type { Mailer } from '../clients/mailer';
import type { NotificationsStore } from '../db/notifications-store';
import { messageIdFor } from '../domain/emails';
import type { FailurePlan, Notification } from '../domain/notifications';
import type { NotificationMetrics } from '../metrics';

export interface DeliveryDeps {
  store: Pick<NotificationsStore, 'markSent' | 'markSendFailed'>;
  mailer: Mailer;
  logger: Logger;
  mailDomain: string;
  metrics?: NotificationMetrics;
}

export type DeliveryResult = { sent: true } | { sent: false; error: string };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Recording SENT right after the SMTP server accepted the message is the one step whose loss would cause a
 * duplicate (the lease would expire and the row be sent again), so it is retried through a short DB blip.
 */
async function recordSent(deps: DeliveryDeps, id: number): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await deps.store.markSent(id);
      return;
    } catch (err) {
      if (attempt >= 6) throw err;
      await sleep(100 * 2 ** attempt);
    }
  }
}

/**
 * Sends a notification whose lease the caller holds, then records the outcome: SENT, or the failure plan
 * `onFailure` chooses (PENDING for a message retry still to come, FAILED for the retry job).
 */
export async function deliver(
  deps: DeliveryDeps,
  n: Notification,
  onFailure: (n: Notification) => FailurePlan,
): Promise<DeliveryResult> {
  try {
    await deps.mailer.send({
      to: n.recipient,
      subject: n.subject,
      text: n.body,
      messageId: messageIdFor(n.bookingId, n.kind, deps.mailDomain, n.eventId),
    });
  } catch (err) {
    const error = (err as Error).message || String(err);
    const plan = onFailure(n);
    deps.metrics?.email('failed', n.kind);
    // At info like 'email sent' (contract: one line per email either way); the consumer warns about the retry.
    deps.logger.info('email not sent', {
      notificationId: n.id,
      bookingId: n.bookingId,
      kind: n.kind,
      attempts: n.attempts,
      status: plan.status,
      error,
    });
    await deps.store.markSendFailed(n.id, plan, error);
    return { sent: false, error };
  }
  await recordSent(deps, n.id);
  deps.metrics?.email('sent', n.kind);
  deps.logger.info('email sent', {
    notificationId: n.id,
    bookingId: n.bookingId,
    kind: n.kind,
    attempts: n.attempts,
  });
  return { sent: true };
}
