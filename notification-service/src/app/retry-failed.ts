import { failurePlanForJob } from '../domain/notifications';
import { deliver } from './deliver';
import type { NotifierDeps } from './deps';

/**
 * Sends again the notifications whose sending failed (FAILED) or whose sender died mid-send (PENDING with
 * an expired lease), at most FAILED_RETRY_MAX_ATTEMPTS attempts each. Every row is claimed with one
 * conditional write in the store, so replicas running this at the same time never send the same row twice.
 * Returns how many emails went out.
 */
export async function retryFailedSends(deps: NotifierDeps, now = new Date()): Promise<number> {
  const cap = deps.config.FAILED_RETRY_MAX_ATTEMPTS;
  let sent = 0;
  for (const id of await deps.store.findRetryable(now, cap)) {
    const row = await deps.store.claimForRetry(id, cap, deps.config.SEND_LEASE_MS);
    if (!row) continue;
    const result = await deliver(deps, row, (n) => failurePlanForJob(deps.config, n, new Date()));
    if (result.sent) sent++;
    else if (row.attempts >= cap) {
      deps.logger.error('giving up on an email after its last attempt', {
        notificationId: row.id,
        bookingId: row.bookingId,
        kind: row.kind,
        attempts: row.attempts,
      });
    }
  }
  return sent;
}
