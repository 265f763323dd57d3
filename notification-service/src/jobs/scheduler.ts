import cron from 'node-cron';
import type { Logger } from '@skyway/common';

export interface ScheduledJob {
  /** Runs the job now unless a run is already going on (then waits for that one). */
  runNow(): Promise<void>;
  /** No new runs; resolves when the current run (if any) has finished. */
  stop(): Promise<void>;
}

/** A node-cron job that never overlaps itself and can be stopped gracefully. */
export function scheduleJob(
  name: string,
  expression: string,
  work: () => Promise<unknown>,
  logger: Logger,
): ScheduledJob {
  let running: Promise<void> | null = null;
  let stopped = false;
  const run = (): Promise<void> => {
    if (running) return running;
    if (stopped) return Promise.resolve();
    const current = work()
      .then((result) => {
        if (typeof result === 'number' && result > 0) logger.info(`${name} done`, { count: result });
      })
      .catch((err: Error) => {
        logger.warn(`${name} failed; the next run tries again`, { error: err.message });
      })
      .finally(() => {
        running = null;
      });
    running = current;
    return current;
  };
  const task = cron.schedule(expression, () => run(), { name, noOverlap: true });
  return {
    runNow: run,
    async stop() {
      stopped = true;
      await task.destroy();
      if (running) await running;
    },
  };
}
