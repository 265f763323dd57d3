import { Counter, Gauge } from 'prom-client';
import { metric, type ServiceMetrics } from '@skyway/common';

/** notification-service's own counters: what the consumer did with each message, and each email's outcome. */
export interface NotificationMetrics {
  /** A message handled and acked (`consumed`), sent to a retry queue (`retried`) or to the DLQ (`dead-lettered`). */
  message(outcome: 'consumed' | 'retried' | 'dead-lettered'): void;
  email(outcome: 'sent' | 'failed', kind: string): void;
}

export const NO_METRICS: NotificationMetrics = { message: () => undefined, email: () => undefined };

/** Email kinds as labels; anything unexpected is `other`, so the label stays bounded. */
const KINDS = /^[a-z_.-]{1,40}$/;

export function notificationMetrics(
  metrics: ServiceMetrics,
  dlqDepth: () => Promise<number | undefined>,
): NotificationMetrics {
  if (!metrics.enabled) return NO_METRICS;
  const messages = metric(metrics.registry, Counter, {
    name: 'notification_events_total',
    help: 'Booking events taken off the queue, by outcome (consumed, retried, dead-lettered)',
    labelNames: ['outcome'],
  });
  const emails = metric(metrics.registry, Counter, {
    name: 'notification_emails_total',
    help: 'Emails handed to the SMTP server (sent) or refused by it (failed), by kind',
    labelNames: ['outcome', 'kind'],
  });
  metric(metrics.registry, Gauge, {
    name: 'notification_dlq_depth',
    help: 'Messages waiting in the dead-letter queue (read from RabbitMQ at scrape time; absent while disconnected)',
    async collect() {
      const depth = await dlqDepth().catch(() => undefined);
      if (depth === undefined) this.reset();
      else this.set(depth);
    },
  });
  return {
    message: (outcome) => messages.inc({ outcome }),
    email: (outcome, kind) => emails.inc({ outcome, kind: KINDS.test(kind) ? kind : 'other' }),
  };
}
