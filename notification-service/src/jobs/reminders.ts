import type { NotifierDeps } from '../app/deps';
import { sendDueReminders } from '../app/send-reminders';
import { scheduleJob, type ScheduledJob } from './scheduler';

/** The departure-reminder use case on REMINDER_CRON; `runNow()` runs the same code path at once. */
export const scheduleReminders = (deps: NotifierDeps): ScheduledJob =>
  scheduleJob('departure reminders', deps.config.REMINDER_CRON, () => sendDueReminders(deps), deps.logger);
