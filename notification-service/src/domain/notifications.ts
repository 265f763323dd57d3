import { retryDelayMs } from './delivery';
import type { ComposedEmail, NotificationKind } from './emails';

export type NotificationStatus = 'PENDING' | 'SENT' | 'FAILED';

/** One email about one booking, and where sending it stands. */
export interface Notification {
  id: number;
  /** The event that asked for it; `null` for reminders, which no event asks for. */
  eventId: string | null;
  bookingId: number;
  kind: NotificationKind;
  recipient: string;
  subject: string;
  body: string;
  status: NotificationStatus;
  attempts: number;
  /** A sender holds the row until then; after it, the sender is presumed dead and anyone may take over. */
  leaseUntil: Date | null;
  /** When the FAILED-retry job may take it; `null`: never (SENT, or given up). */
  nextAttemptAt: Date | null;
  lastError: string | null;
  sentAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/** A notification to record (and then send): deduplicated by `eventId` and by `(bookingId, kind)`. */
export interface NewNotification {
  eventId: string | null;
  bookingId: number;
  kind: NotificationKind;
  recipient: string;
  email: ComposedEmail;
}

export const leaseIsLive = (n: Pick<Notification, 'leaseUntil'>, now: Date): boolean =>
  n.leaseUntil !== null && n.leaseUntil > now;

/**
 * What to do about a notification that already exists for the same email:
 * - `sent`: it was sent (a redelivery or a duplicate event): send nothing;
 * - `busy`: another sender holds the lease right now; if that sender dies, the retry job takes over after it;
 * - `reclaim`: unsent and its lease has expired (its sender failed or died): take the lease and send it.
 */
export type ExistingDecision = 'sent' | 'busy' | 'reclaim';

export function decideOnExisting(
  n: Pick<Notification, 'status' | 'leaseUntil'>,
  now: Date,
): ExistingDecision {
  if (n.status === 'SENT') return 'sent';
  if (leaseIsLive(n, now)) return 'busy';
  return 'reclaim';
}

/** What recording a failed send does to the row. */
export interface FailurePlan {
  status: 'PENDING' | 'FAILED';
  /** When the retry job may take it; `null` when we give up on it. */
  nextAttemptAt: Date | null;
}

export interface JobRetryLimits {
  FAILED_RETRY_MAX_ATTEMPTS: number;
  RETRY_BASE_DELAY_MS: number;
  RETRY_MAX_DELAY_MS: number;
}

/** A failed send the retry job owns: FAILED, tried again after a growing delay, until the cap. */
export function failurePlanForJob(
  limits: JobRetryLimits,
  n: Pick<Notification, 'attempts'>,
  now: Date,
): FailurePlan {
  if (n.attempts >= limits.FAILED_RETRY_MAX_ATTEMPTS) return { status: 'FAILED', nextAttemptAt: null };
  const delay = retryDelayMs(n.attempts, limits.RETRY_BASE_DELAY_MS, limits.RETRY_MAX_DELAY_MS);
  return { status: 'FAILED', nextAttemptAt: new Date(now.getTime() + delay) };
}

/**
 * A send that failed while handling an event's delivery `attempt` of `maxAttempts`. Before the last attempt
 * the message retry comes back after its delay (the row stays PENDING; the retry job only steps in if it never
 * does); on the last one the row becomes the retry job's.
 */
export function failurePlanForDelivery(
  delivery: { attempt: number; maxAttempts: number },
  n: Pick<Notification, 'attempts'>,
  limits: JobRetryLimits & { SEND_LEASE_MS: number },
  now: Date,
  messageRetryDelayMs: (failedAttempt: number) => number,
): FailurePlan {
  if (isLastAttempt(delivery)) return failurePlanForJob(limits, n, now);
  const retryAt = now.getTime() + messageRetryDelayMs(delivery.attempt) + limits.SEND_LEASE_MS;
  return { status: 'PENDING', nextAttemptAt: new Date(retryAt) };
}

export const isLastAttempt = (delivery: { attempt: number; maxAttempts: number }): boolean =>
  delivery.attempt >= delivery.maxAttempts;
