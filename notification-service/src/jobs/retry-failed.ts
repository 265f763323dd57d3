import { claimForRetry, findRetryable } from '../db/repository';
import { deliver } from '../mail/deliver';
import { failurePlanForJob, type NotifierDeps } from '../notifier';

/**
 * Sends again the notifications whose sending failed (FAILED) or whose sender died mid-send (PENDING with
 * an expired lease), at most FAILED_RETRY_MAX_ATTEMPTS attempts each. Every row is claimed with one
 * conditional UPDATE, so replicas running this job at the same time never send the same row twice.
 * Returns how many emails went out.
 */
export async function retryFailedSends(deps: NotifierDeps, now = new Date()): Promise<number> {
  const cap = deps.config.FAILED_RETRY_MAX_ATTEMPTS;
  let sent = 0;
  for (const id of await findRetryable(deps.sequelize, now, cap)) {
    const row = await claimForRetry(deps.sequelize, id, cap, deps.config.SEND_LEASE_MS);
    if (!row) continue;
    const result = await deliver(deps, row, (n) => failurePlanForJob(deps.config, n));
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
