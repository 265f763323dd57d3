import type { Logger } from '@skyway/common';
import type { Mailer } from '../clients/mailer';
import type { NotificationConfig } from '../config';
import type { NotificationsStore } from '../db/notifications-store';
import type { NotificationMetrics } from '../metrics';

/** What the use cases share: the consumer's handler and both jobs get the same. */
export interface NotifierDeps {
  config: NotificationConfig;
  logger: Logger;
  store: NotificationsStore;
  mailer: Mailer;
  mailDomain: string;
  /** Delay before message delivery attempt n + 1 after attempt n failed (one of the retry queues' delays). */
  retryDelayMs: (failedAttempt: number) => number;
  /** Counts emails sent and failed; nothing is counted when absent. */
  metrics?: NotificationMetrics;
}
