import type { Sequelize } from 'sequelize';
import type { Logger } from '@skyway/common';
import type { NotificationConfig } from './config';
import type { FailurePlan, NotificationRow } from './db/repository';
import { retryDelayMs } from './domain/bookings';
import type { Mailer } from './mail/mailer';

/** What the consumer's handler and the jobs share. */
export interface NotifierDeps {
  config: NotificationConfig;
  logger: Logger;
  sequelize: Sequelize;
  mailer: Mailer;
  mailDomain: string;
  retryDelayMs: (failedAttempt: number) => number;
}

/** A failed send the retry job owns: FAILED, tried again after a growing delay, until the cap. */
export function failurePlanForJob(
  config: NotificationConfig,
  n: NotificationRow,
  now = new Date(),
): FailurePlan {
  if (n.attempts >= config.FAILED_RETRY_MAX_ATTEMPTS) return { status: 'FAILED', nextAttemptAt: null };
  const delay = retryDelayMs(n.attempts, config.RETRY_BASE_DELAY_MS, config.RETRY_MAX_DELAY_MS);
  return { status: 'FAILED', nextAttemptAt: new Date(now.getTime() + delay) };
}

const DB_DOWN_NAMES = new Set([
  'SequelizeConnectionError',
  'SequelizeConnectionRefusedError',
  'SequelizeConnectionTimedOutError',
  'SequelizeHostNotReachableError',
  'SequelizeAccessDeniedError',
  'SequelizeConnectionAcquireTimeoutError',
  'ConnectionAcquireTimeoutError',
]);
const DB_DOWN_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'PROTOCOL_CONNECTION_LOST',
  'EPIPE',
]);

/** True when the error says the database could not be reached (as opposed to a bad statement). */
export function isDatabaseDown(err: unknown): boolean {
  const e = err as { name?: string; code?: string; parent?: { code?: string }; original?: { code?: string } };
  if (e?.name && DB_DOWN_NAMES.has(e.name)) return true;
  const code = e?.parent?.code ?? e?.original?.code ?? e?.code;
  return typeof code === 'string' && DB_DOWN_CODES.has(code);
}
