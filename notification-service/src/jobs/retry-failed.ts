import type { NotifierDeps } from '../app/deps';
import { retryFailedSends } from '../app/retry-failed';
import { scheduleJob, type ScheduledJob } from './scheduler';

/** The FAILED-retry use case on FAILED_RETRY_CRON; `runNow()` runs the same code path at once. */
export const scheduleFailedRetry = (deps: NotifierDeps): ScheduledJob =>
  scheduleJob('failed-email retry', deps.config.FAILED_RETRY_CRON, () => retryFailedSends(deps), deps.logger);
