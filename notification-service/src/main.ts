import path from 'node:path';
import {
  closeServer,
  Lifecycle,
  listen,
  listeningPort,
  type BookingEvent,
  type RunningService,
  openService,
  serveMain,
} from '@skyway/common';
import { buildApp } from './app';
import { loadConfig, type NotificationConfig } from './config';
import type { NotifierDeps } from './app/deps';
import { createMailer, mailDomain } from './clients/mailer';
import { NotificationsStore } from './db/notifications-store';
import { retryDelayMs, retryDelaySchedule } from './domain/delivery';
import { bookingEventHandler, parseBookingEvent } from './events/booking-events';
import { EventConsumer } from './events/consumer';
import { amqpNames, type AmqpNames } from './events/topology';
import { scheduleReminders } from './jobs/reminders';
import { scheduleFailedRetry } from './jobs/retry-failed';
import { notificationMetrics } from './metrics';

export const MIGRATIONS_DIR = path.join(__dirname, 'db', 'migrations');

/** The exchange and queue names this configuration uses (tests delete them afterwards). */
export function amqpNamesFor(config: NotificationConfig): AmqpNames {
  const delays = retryDelaySchedule(
    Math.max(2, config.MAX_DELIVERY_ATTEMPTS),
    config.RETRY_BASE_DELAY_MS,
    config.RETRY_MAX_DELAY_MS,
  );
  return amqpNames(config.AMQP_NAME_PREFIX, delays);
}

export interface NotificationService extends RunningService {
  amqp: AmqpNames;
  /** Runs a job at once (the crons run them on schedule), e.g. from tests; resolves when that run is done. */
  jobs: { retryFailed(): Promise<void>; reminders(): Promise<void> };
}

/**
 * Starts notification-service: config, database bootstrap, the mailer, the booking-event consumer (which
 * connects in the background and keeps reconnecting, so the service runs while RabbitMQ is down and says so
 * on /ready), the FAILED-retry and reminder crons, and HTTP.
 */
export async function startNotificationService(
  env: NodeJS.ProcessEnv = process.env,
): Promise<NotificationService> {
  const config = loadConfig(env);
  const lifecycle = new Lifecycle();
  return lifecycle.start(async () => {
    const { logger, sequelize, metrics } = await openService('notification-service', config, MIGRATIONS_DIR);
    lifecycle.add('database pool', () => sequelize.close());
    if (!config.SMTP_URL)
      logger.warn('SMTP_URL is not set: emails are written to the log instead of being sent');
    const mailer = createMailer(config, logger);
    lifecycle.add('mailer', () => mailer.close());
    const names = amqpNamesFor(config);
    // The DLQ gauge asks the consumer (made below, before anything can scrape) at scrape time.
    const counters = notificationMetrics(metrics, () => consumer.queueDepth(names.dlq));
    const deps: NotifierDeps = {
      config,
      logger,
      store: new NotificationsStore(sequelize),
      mailer,
      mailDomain: mailDomain(config.MAIL_FROM),
      retryDelayMs: (n) => retryDelayMs(n, config.RETRY_BASE_DELAY_MS, config.RETRY_MAX_DELAY_MS),
      metrics: counters,
    };
    const consumer = new EventConsumer<BookingEvent>({
      url: config.AMQP_URL,
      names,
      prefetch: config.AMQP_PREFETCH,
      maxAttempts: config.MAX_DELIVERY_ATTEMPTS,
      retryDelayMs: deps.retryDelayMs,
      parse: parseBookingEvent,
      handle: bookingEventHandler(deps),
      logger,
      metrics: counters,
    });
    await consumer.start();
    lifecycle.add('event consumer', () => consumer.stop());
    const retryJob = scheduleFailedRetry(deps);
    const reminderJob = scheduleReminders(deps);
    lifecycle.add('cron jobs', () => Promise.all([retryJob.stop(), reminderJob.stop()]));

    const app = buildApp({
      config,
      logger,
      metrics,
      sequelize,
      store: deps.store,
      brokerReady: () => consumer.isReady(),
    });
    const server = await listen(app, config.NOTIFICATION_SERVICE_PORT, config);
    lifecycle.add('HTTP server', () => closeServer(server));
    const port = listeningPort(server);
    logger.info('notification-service listening', { port });
    return {
      port,
      url: `http://127.0.0.1:${port}`,
      server,
      amqp: names,
      jobs: { retryFailed: () => retryJob.runNow(), reminders: () => reminderJob.runNow() },
      close: () => lifecycle.close(),
    };
  });
}

if (require.main === module) serveMain('notification-service', () => startNotificationService(), 20_000);
