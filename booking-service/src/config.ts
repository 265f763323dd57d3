import { z } from 'zod';
import cron from 'node-cron';
import {
  baseEnvShape,
  envBool,
  envInt,
  envPort,
  envServiceUrl,
  envString,
  parseServiceConfig,
  type ServiceConfig,
} from '@skyway/common';

const cronExpression = (def: string) =>
  envString(def).pipe(z.string().refine((s) => cron.validate(s), 'must be a valid cron expression'));

const schema = z.object({
  ...baseEnvShape,
  BOOKING_SERVICE_PORT: envPort('booking'),
  /** Default: http://127.0.0.1:<FLIGHT_SERVICE_PORT>, from this same environment. */
  FLIGHT_SERVICE_URL: envServiceUrl('flight'),
  MIGRATE_ON_START: envBool(true),
  DB_POOL_MAX: envInt(20, 2, 500),
  BOOKING_TTL_SECONDS: envInt(600, 1, 7 * 24 * 3600),
  /** Unpaid seats (INITIATED or PENDING bookings) one customer may hold across all flights… */
  MAX_UNPAID_SEATS_PER_USER: envInt(20, 1, 100_000),
  /** …and on any one flight (a booking has at most 10 seats). */
  MAX_UNPAID_SEATS_PER_USER_PER_FLIGHT: envInt(10, 1, 100_000),
  SWEEPER_CRON: cronExpression('*/30 * * * * *'),
  SWEEPER_BATCH_SIZE: envInt(50, 1, 1000),
  /** How long a sweeper or canceller owns a pending seat release before another may retry it. */
  RELEASE_RETRY_SECONDS: envInt(30, 1, 3600),
  /** How long a payment may stay PENDING past expiresAt before the sweeper may expire it. */
  PAYMENT_TIMEOUT_SECONDS: envInt(30, 1, 3600),
  /** Attempts per flight-service call that may be retried (timeouts, 5xx, unreachable). */
  FLIGHT_CALL_ATTEMPTS: envInt(3, 1, 10),
  /** How long a flight looked up for a booking may be reused (0: never); refusals always look again. */
  FLIGHT_CACHE_TTL_MS: envInt(2000, 0, 60_000),
  AMQP_URL: envString('amqp://guest:guest@127.0.0.1:5672').pipe(
    z.string().regex(/^amqps?:\/\//, 'must be an amqp:// or amqps:// URL'),
  ),
  AMQP_NAME_PREFIX: envString('').pipe(
    z.string().regex(/^[A-Za-z0-9._-]*$/, 'may contain only letters, digits, ".", "_" and "-"'),
  ),
  OUTBOX_RELAY_INTERVAL_MS: envInt(1000, 10, 600000),
  OUTBOX_BATCH_SIZE: envInt(100, 1, 1000),
  /** Idempotency keys are kept at least this long (the contract asks for 24 h at least). */
  IDEMPOTENCY_KEY_TTL_HOURS: envInt(24, 24, 24 * 365),
  /** When expired idempotency keys and old published outbox rows are purged. */
  PURGE_CRON: cronExpression('0 17 * * * *'),
  /** Published outbox rows are kept this long for inspection, then purged. */
  OUTBOX_RETENTION_HOURS: envInt(168, 1, 24 * 365),
});

export type BookingConfig = ServiceConfig<typeof schema>;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): BookingConfig {
  return parseServiceConfig(schema, 'bookings', env);
}
