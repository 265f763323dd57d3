import { randomUUID } from 'node:crypto';
import amqp, { type ChannelModel, type ConfirmChannel, type RecoveringChannelModel } from 'amqplib';
import {
  contextFromHeaders,
  contextWithSpan,
  injectTraceHeaders,
  SpanKind,
  startSpan,
  type Logger,
} from '@skyway/common';
import type { OutboxStore, PendingEvent } from '../db/outbox-store';
import { NO_METRICS, type BookingMetrics } from '../metrics';

export interface OutboxRelayOptions {
  outbox: OutboxStore;
  logger: Logger;
  amqpUrl: string;
  /** The durable topic exchange (skyway.events, with the optional test prefix). */
  exchange: string;
  intervalMs: number;
  batchSize: number;
  /** How long to wait for the broker to confirm a batch before treating it as not published. */
  confirmTimeoutMs?: number;
  /**
   * How long the relay lease lasts unless renewed (every batch renews it): how long the other replicas wait
   * after this one died without giving it up. Default: the confirm timeout + 5 s.
   */
  leaseMs?: number;
  metrics?: BookingMetrics;
}

/**
 * Publishes the outbox to RabbitMQ. Rows are sent in id order on one confirm channel and marked published
 * only after the broker confirmed them; a lease row in the database keeps a single relay active across replicas
 * (and across the nodes of a Galera cluster, where a named lock would be per node),
 * which is what keeps every booking's events in order (a booking's events get increasing ids because each
 * state change locks the booking row first). The broker connection uses amqplib's recovery, so the
 * service starts and keeps serving while RabbitMQ is down; the outbox simply waits.
 */
export class OutboxRelay {
  private connection?: RecoveringChannelModel;
  private model?: ChannelModel;
  private channel?: ConfirmChannel;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private again = false;
  private stopped = false;
  /** This relay's name on the lease: one per process start. */
  private readonly holder = randomUUID();

  constructor(private readonly opts: OutboxRelayOptions) {}

  async start(): Promise<void> {
    const { logger } = this.opts;
    this.connection = await amqp.connect(this.opts.amqpUrl, {
      timeout: 5000,
      recovery: { waitForConnect: false, initialDelay: 200, maxDelay: 5000, maxRetries: Infinity },
    });
    this.connection.on('connect', (model: ChannelModel) => {
      this.model = model;
      logger.info('connected to RabbitMQ');
      this.wake();
    });
    this.connection.on('disconnect', (err: Error) => {
      this.model = undefined;
      this.channel = undefined;
      logger.warn('RabbitMQ connection lost; events wait in the outbox', { reason: err.message });
    });
    this.connection.on('connect-failed', (err: Error) => {
      logger.debug('RabbitMQ not reachable yet', { reason: err.message });
    });
    this.connection.on('error', (err: Error) =>
      logger.warn('RabbitMQ connection error', { reason: err.message }),
    );
    this.schedule();
  }

  /** True while a broker connection is up (for /ready). */
  isConnected(): boolean {
    return this.model !== undefined;
  }

  /** Publish soon (after a state change committed) instead of waiting for the next tick. */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.tick(), 0);
  }

  private schedule(): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.tick(), this.opts.intervalMs);
  }

  private tick(): void {
    if (this.running || this.stopped) return;
    this.running = (async () => {
      do {
        this.again = false;
        try {
          while ((await this.publishBatch()) === this.opts.batchSize && !this.stopped);
        } catch (err) {
          this.opts.logger.warn('outbox relay cycle failed', { reason: (err as Error).message });
        }
      } while (this.again && !this.stopped);
    })().finally(() => {
      this.running = undefined;
      this.schedule();
    });
  }

  private async ensureChannel(): Promise<ConfirmChannel | undefined> {
    if (this.channel) return this.channel;
    const model = this.model;
    if (!model) return undefined;
    const ch = await model.createConfirmChannel();
    ch.on('error', (err: Error) => this.opts.logger.warn('RabbitMQ channel error', { reason: err.message }));
    ch.on('close', () => {
      if (this.channel === ch) this.channel = undefined;
    });
    await ch.assertExchange(this.opts.exchange, 'topic', { durable: true });
    this.channel = ch;
    return ch;
  }

  /**
   * One batch: takes or renews the relay lease (or returns 0 when another replica holds it), publishes the oldest
   * unpublished rows and marks the confirmed ones (OutboxStore.relayBatch). Returns how many rows were
   * published.
   */
  async publishBatch(): Promise<number> {
    const channel = await this.ensureChannel();
    if (!channel) return 0;
    // Longer than a batch can take (the confirm wait), so a batch never outlives the lease it was read under.
    const lease = {
      holder: this.holder,
      ms: this.opts.leaseMs ?? (this.opts.confirmTimeoutMs ?? 10_000) + 5_000,
    };
    const batch = await this.opts.outbox.relayBatch(lease, this.opts.batchSize, (rows) =>
      this.publish(channel, rows),
    );
    if (!batch) return 0;
    if (batch.confirmed < batch.read) {
      (this.opts.metrics ?? NO_METRICS).publishFailed(batch.read - batch.confirmed);
      throw new Error('the broker did not confirm every event');
    }
    return batch.confirmed;
  }

  /**
   * Publishes rows in order; returns the ids of the confirmed prefix (a later row never overtakes a failed one).
   * Each message carries, in its headers, the trace context its outbox row was written in (a producer span of it).
   */
  private async publish(channel: ConfirmChannel, rows: PendingEvent[]): Promise<number[]> {
    const timeoutMs = this.opts.confirmTimeoutMs ?? 10_000;
    const outcomes = rows.map((row) => {
      const parent = contextFromHeaders(row.traceparent ? { traceparent: row.traceparent } : undefined);
      const span = startSpan(`publish ${row.type}`, SpanKind.PRODUCER, parent);
      const headers = injectTraceHeaders({}, contextWithSpan(span, parent));
      return new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), timeoutMs);
        try {
          channel.publish(
            this.opts.exchange,
            row.type,
            Buffer.from(row.payload, 'utf8'),
            {
              persistent: true,
              contentType: 'application/json',
              messageId: row.eventId,
              type: row.type,
              headers,
            },
            (err) => {
              clearTimeout(timer);
              resolve(!err);
            },
          );
        } catch {
          clearTimeout(timer);
          resolve(false);
        }
      }).then((ok) => {
        span.end();
        return ok;
      });
    });
    const results = await Promise.all(outcomes);
    const firstFailure = results.indexOf(false);
    const confirmed = firstFailure === -1 ? rows : rows.slice(0, firstFailure);
    const byType = new Map<string, number>();
    for (const r of confirmed) byType.set(r.type, (byType.get(r.type) ?? 0) + 1);
    for (const [type, n] of byType) (this.opts.metrics ?? NO_METRICS).published(type, n);
    return confirmed.map((r) => Number(r.id));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
    await this.opts.outbox.releaseLease(this.holder).catch((err: unknown) => {
      this.opts.logger.warn(
        'could not give up the outbox relay lease; another replica takes it when it expires',
        {
          err,
        },
      );
    });
    const ch = this.channel;
    this.channel = undefined;
    await ch?.close().catch(() => undefined);
    await this.connection?.close().catch(() => undefined);
    this.model = undefined;
  }
}
