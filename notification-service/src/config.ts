import { z } from 'zod';
import cron from 'node-cron';
import {
  baseEnvShape,
  envBool,
  envInt,
  envPort,
  envString,
  parseServiceConfig,
  type ServiceConfig,
} from '@skyway/common';

const emptyToUndefined = (v: unknown) => (v === '' ? undefined : v);

const envCron = (def: string) =>
  z.preprocess(
    emptyToUndefined,
    z
      .string()
      .default(def)
      .refine((expr) => cron.validate(expr), 'must be a node-cron expression (seconds field allowed)'),
  );

const schema = z.object({
  ...baseEnvShape,
  NOTIFICATION_SERVICE_PORT: envPort('notification'),
  MIGRATE_ON_START: envBool(true),
  DB_POOL_MAX: envInt(10, 2, 500),
  AMQP_URL: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .default('amqp://guest:guest@127.0.0.1:5672')
      .refine((u) => /^amqps?:\/\/.+/.test(u), 'must be an amqp:// or amqps:// URL'),
  ),
  /** Prepended to the exchange and queue names so tests (or environments sharing a broker) stay apart. */
  AMQP_NAME_PREFIX: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .regex(/^[A-Za-z0-9._-]*$/, 'may contain only letters, digits, ".", "_" and "-"')
      .max(60)
      .default(''),
  ),
  AMQP_PREFETCH: envInt(10, 1, 1000),
  SMTP_URL: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .refine((u) => /^smtps?:\/\/.+/.test(u), 'must be an smtp:// or smtps:// URL')
      .optional(),
  ),
  SMTP_TIMEOUT_MS: envInt(10_000, 100, 600_000),
  MAIL_FROM: envString('Skyway <no-reply@skyway.local>'),
  CURRENCY: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .regex(/^[A-Z]{3}$/, 'must be a 3-letter code')
      .default('INR'),
  ),
  MAX_DELIVERY_ATTEMPTS: envInt(5, 1, 50),
  RETRY_BASE_DELAY_MS: envInt(2000, 10, 3_600_000),
  RETRY_MAX_DELAY_MS: envInt(300_000, 10, 86_400_000),
  SEND_LEASE_MS: envInt(120_000, 1000, 3_600_000),
  FAILED_RETRY_CRON: envCron('30 * * * * *'),
  FAILED_RETRY_MAX_ATTEMPTS: envInt(10, 1, 1000),
  REMINDER_CRON: envCron('0 */5 * * * *'),
  REMINDER_LEAD_HOURS: envInt(24, 1, 24 * 30),
});

export type NotificationConfig = ServiceConfig<typeof schema>;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): NotificationConfig {
  return parseServiceConfig(schema, 'notifications', env);
}
