import { reminderFor } from '../domain/bookings';
import { failurePlanForJob } from '../domain/notifications';
import { deliver } from './deliver';
import type { NotifierDeps } from './deps';

/**
 * Sends one departure reminder to every BOOKED booking departing within REMINDER_LEAD_HOURS. The reminder
 * row is claimed under the booking's row lock and a unique (bookingId, kind) index, so it is sent once even
 * with several replicas and across restarts; a cancelled booking is not BOOKED and gets none. A reminder
 * whose send fails is left FAILED for the retry job. Returns how many reminders went out.
 */
export async function sendDueReminders(deps: NotifierDeps, now = new Date()): Promise<number> {
  const { config, store } = deps;
  const leadMs = config.REMINDER_LEAD_HOURS * 3_600_000;
  let sent = 0;
  for (const bookingId of await store.findDueReminders(now, new Date(now.getTime() + leadMs))) {
    const row = await store.claimReminder(
      bookingId,
      (booking) => reminderFor(booking, now, leadMs, config.CURRENCY),
      config.SEND_LEASE_MS,
      now,
    );
    if (!row) continue;
    const result = await deliver(deps, row, (n) => failurePlanForJob(config, n, new Date()));
    if (result.sent) sent++;
  }
  return sent;
}
