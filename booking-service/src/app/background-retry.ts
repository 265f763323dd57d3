import type { Logger } from '@skyway/common';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms).unref());

/**
 * Keeps retrying a small write the database refused (it went away mid-request) after the request has been
 * answered, with growing pauses, for at most `budgetMs`. Resolves true once it succeeded, false when it gave up;
 * never rejects. The budget stays below the idempotency claim's lock (2 min), so a late retry can never touch a
 * claim another request has taken over.
 */
export async function retryInBackground(
  what: string,
  op: () => Promise<unknown>,
  logger: Logger,
  budgetMs = 60_000,
): Promise<boolean> {
  const deadline = Date.now() + budgetMs;
  for (let delay = 250; ; delay = Math.min(delay * 2, 2000)) {
    await sleep(delay);
    try {
      await op();
      logger.info(`${what}: done after the database came back`);
      return true;
    } catch (err) {
      if (Date.now() + delay > deadline) {
        logger.error(`${what}: gave up`, { err });
        return false;
      }
    }
  }
}
