import path from 'node:path';
import cron, { type ScheduledTask } from 'node-cron';
import {
  amqpName,
  closeServer,
  EVENTS_EXCHANGE,
  Lifecycle,
  listen,
  listeningPort,
  type RunningService,
  openService,
  serveMain,
} from '@skyway/common';
import { buildApp } from './app';
import { BookingService } from './app/bookings';
import { Expiry } from './app/expire';
import { PaymentService } from './app/payments';
import { purgeOldRows } from './app/purge';
import { SeatReleaser } from './app/release-seats';
import { SeatChanges } from './app/seat-changes';
import { FlightCache } from './clients/flight-cache';
import { FlightClient } from './clients/flight-client';
import { loadConfig } from './config';
import { BookingsStore } from './db/bookings-store';
import { IdempotencyStore } from './db/idempotency-store';
import { OutboxStore } from './db/outbox-store';
import { PaymentsStore } from './db/payments-store';
import { SimulatedPaymentProvider, type PaymentProvider } from './domain/payment-provider';
import { OutboxRelay } from './events/relay';
import { Sweeper } from './jobs/sweeper';
import { bookingMetrics } from './metrics';

export const MIGRATIONS_DIR = path.join(__dirname, 'db', 'migrations');

/** A claim on an Idempotency-Key older than this belongs to a request that died with its process. */
const IDEMPOTENCY_LOCK_MS = 120_000;

export interface BookingServiceOptions {
  /** A real gateway; the simulated one is used when absent. */
  paymentProvider?: PaymentProvider;
}

/** RunningService plus the background workers, so tests and operators can run them on demand. */
export interface RunningBookingService extends RunningService {
  sweeper: Sweeper;
  relay: OutboxRelay;
  paymentProvider: PaymentProvider;
}

/**
 * Starts booking-service: config, database bootstrap, the outbox relay (not waiting for RabbitMQ), the
 * sweeper and purge cron jobs, and HTTP. Used by `main` and by tests.
 */
export async function startBookingService(
  env: NodeJS.ProcessEnv = process.env,
  options: BookingServiceOptions = {},
): Promise<RunningBookingService> {
  const config = loadConfig(env);
  const lifecycle = new Lifecycle();
  return lifecycle.start(async () => {
    // Several statements per round trip in the stores (src/db/); values are always escaped.
    const { logger, sequelize, metrics } = await openService('booking-service', config, MIGRATIONS_DIR, {
      multipleStatements: true,
    });
    lifecycle.add('database pool', () => sequelize.close());
    // Stores → use cases → routes and jobs.
    const bookingsStore = new BookingsStore(sequelize);
    const paymentsStore = new PaymentsStore(sequelize);
    const outboxStore = new OutboxStore(sequelize);
    const idempotencyStore = new IdempotencyStore(sequelize, {
      ttlMs: config.IDEMPOTENCY_KEY_TTL_HOURS * 3600_000,
      lockMs: IDEMPOTENCY_LOCK_MS,
    });

    const counters = bookingMetrics(metrics, () => outboxStore.backlog());
    const relay = new OutboxRelay({
      outbox: outboxStore,
      logger,
      metrics: counters,
      amqpUrl: config.AMQP_URL,
      exchange: amqpName(config.AMQP_NAME_PREFIX, EVENTS_EXCHANGE),
      intervalMs: config.OUTBOX_RELAY_INTERVAL_MS,
      batchSize: config.OUTBOX_BATCH_SIZE,
    });
    await relay.start();
    lifecycle.add('outbox relay', () => relay.stop());
    const onEvents = () => relay.wake();

    const flights = new FlightClient({
      baseUrls: config.FLIGHT_SERVICE_URL,
      internalToken: config.INTERNAL_TOKEN,
      timeoutMs: config.UPSTREAM_TIMEOUT_MS,
      attempts: config.FLIGHT_CALL_ATTEMPTS,
      logger,
    });
    const flightCache = new FlightCache(flights, config.FLIGHT_CACHE_TTL_MS);
    const releaser = new SeatReleaser(flights, bookingsStore, logger);
    const paymentProvider = options.paymentProvider ?? new SimulatedPaymentProvider();
    const bookings = new BookingService({
      store: bookingsStore,
      flights,
      flightCache,
      releaser,
      logger,
      ttlSeconds: config.BOOKING_TTL_SECONDS,
      releaseRetrySeconds: config.RELEASE_RETRY_SECONDS,
      unpaidSeatCaps: {
        perFlight: config.MAX_UNPAID_SEATS_PER_USER_PER_FLIGHT,
        total: config.MAX_UNPAID_SEATS_PER_USER,
      },
      metrics: counters,
      onEvents,
    });
    const payments = new PaymentService({
      payments: paymentsStore,
      bookings: bookingsStore,
      provider: paymentProvider,
      logger,
      paymentTimeoutSeconds: config.PAYMENT_TIMEOUT_SECONDS,
      metrics: counters,
      onEvents,
    });
    // Every flight-service attempt timing out, with its back-off, plus the request's own database writes.
    const longestFlightCallMs = config.FLIGHT_CALL_ATTEMPTS * (config.UPSTREAM_TIMEOUT_MS + 1000) + 30_000;
    const seatChanges = new SeatChanges({
      store: bookingsStore,
      flights,
      logger,
      leaseMs: longestFlightCallMs,
      batchSize: config.SWEEPER_BATCH_SIZE,
      onEvents,
    });
    const expiry = new Expiry({
      store: bookingsStore,
      batchSize: config.SWEEPER_BATCH_SIZE,
      paymentTimeoutSeconds: config.PAYMENT_TIMEOUT_SECONDS,
      releaseRetrySeconds: config.RELEASE_RETRY_SECONDS,
      staleHoldMs: longestFlightCallMs,
      metrics: counters,
    });
    const sweeper = new Sweeper({ expiry, releaser, seatChanges, logger, onEvents });

    // Runs of the cron jobs still in progress, so close() can wait for them before closing the pool.
    const inFlight = new Set<Promise<unknown>>();
    const track = (run: () => Promise<unknown>) => () => {
      const p = run().finally(() => inFlight.delete(p));
      inFlight.add(p);
      return p;
    };
    const jobs: ScheduledTask[] = [
      cron.schedule(
        config.SWEEPER_CRON,
        track(() => sweeper.tick().catch((err: unknown) => logger.error('sweeper run failed', { err }))),
        { name: 'booking-sweeper', noOverlap: true },
      ),
      cron.schedule(
        config.PURGE_CRON,
        track(() =>
          purgeOldRows(idempotencyStore, outboxStore, config.OUTBOX_RETENTION_HOURS)
            .then((purged) => logger.info('purged old rows', purged))
            .catch((err: unknown) => logger.error('purge failed', { err })),
        ),
        { name: 'booking-purge', noOverlap: true },
      ),
    ];
    lifecycle.add('cron jobs', async () => {
      for (const job of jobs) await job.destroy();
      await Promise.allSettled([...inFlight]);
      await sweeper.idle();
    });

    const app = buildApp({
      internalToken: config.INTERNAL_TOKEN,
      logger,
      metrics,
      bookingMetrics: counters,
      sequelize,
      bookings,
      payments,
      seatChanges,
      idempotencyStore,
      brokerConnected: () => relay.isConnected(),
    });
    const server = await listen(app, config.BOOKING_SERVICE_PORT, config);
    lifecycle.add('HTTP server', () => closeServer(server));
    const port = listeningPort(server);
    logger.info('booking-service listening', { port });
    return {
      port,
      url: `http://127.0.0.1:${port}`,
      server,
      sweeper,
      relay,
      paymentProvider,
      close: () => lifecycle.close(),
    };
  });
}

if (require.main === module) serveMain('booking-service', () => startBookingService());
