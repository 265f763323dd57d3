import { claimReminder, findDueReminders } from '../db/repository';
import { composeEmail } from '../domain/emails';
import { deliver } from '../mail/deliver';
import { failurePlanForJob, type NotifierDeps } from '../notifier';

/**
 * Sends one departure reminder to every BOOKED booking departing within REMINDER_LEAD_HOURS. The reminder
 * row is claimed under the booking's row lock and a unique (bookingId, kind) index, so it is sent once even
 * with several replicas and across restarts; a cancelled booking is not BOOKED and gets none. A reminder
 * whose send fails is left FAILED for the retry job. Returns how many reminders went out.
 */
export async function sendDueReminders(deps: NotifierDeps, now = new Date()): Promise<number> {
  const leadMs = deps.config.REMINDER_LEAD_HOURS * 3_600_000;
  let sent = 0;
  for (const bookingId of await findDueReminders(deps.sequelize, now, leadMs)) {
    const row = await claimReminder(
      deps.sequelize,
      bookingId,
      (booking) => composeEmail('reminder', booking, deps.config.CURRENCY),
      leadMs,
      deps.config.SEND_LEASE_MS,
      now,
    );
    if (!row) continue;
    const result = await deliver(deps, row, (n) => failurePlanForJob(deps.config, n));
    if (result.sent) sent++;
  }
  return sent;
}
