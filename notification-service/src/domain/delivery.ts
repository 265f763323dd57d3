/** How often and how late a booking event is tried again, and when it goes to the dead-letter queue. */

/** Delay before delivery attempt `failedAttempt + 1`: doubles from `baseMs`, capped at `maxMs`. */
export function retryDelayMs(failedAttempt: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, failedAttempt - 1));
}

/** Distinct retry delays used when a message may be tried `maxAttempts` times (one per retry queue). */
export function retryDelaySchedule(maxAttempts: number, baseMs: number, maxMs: number): number[] {
  const delays: number[] = [];
  for (let n = 1; n < maxAttempts; n++) delays.push(retryDelayMs(n, baseMs, maxMs));
  return [...new Set(delays)];
}

/** Why a delivery of a message did not succeed. */
export type DeliveryFailure =
  /** The message cannot be understood (not JSON, wrong shape): retrying cannot help. */
  | { kind: 'invalid'; reason: string }
  /** Handling threw; `dependencyDown` when our own infrastructure (the database) was unreachable. */
  | { kind: 'failed'; attempt: number; maxAttempts: number; dependencyDown: boolean; error: string };

export type NextStep =
  | { action: 'dead-letter'; reason: string }
  /** `failedAttempt` picks the delay (and so the retry queue); `nextAttempt` is what the copy carries. */
  | { action: 'retry'; failedAttempt: number; nextAttempt: number };

/**
 * Invalid → DLQ at once; a failure on the last attempt → DLQ; otherwise retry. An outage of our database
 * is not the message's fault: its retry does not count as an attempt, so it can never reach the DLQ.
 */
export function nextStepAfter(failure: DeliveryFailure): NextStep {
  if (failure.kind === 'invalid') {
    return { action: 'dead-letter', reason: `invalid message: ${failure.reason}` };
  }
  const { attempt, maxAttempts, dependencyDown, error } = failure;
  if (!dependencyDown && attempt >= maxAttempts) {
    return { action: 'dead-letter', reason: `failed ${attempt} times; last error: ${error}` };
  }
  return {
    action: 'retry',
    failedAttempt: Math.min(attempt, Math.max(1, maxAttempts - 1)),
    nextAttempt: dependencyDown ? attempt : attempt + 1,
  };
}
