import {
  connect,
  type ChannelModel,
  type ConfirmChannel,
  type ConsumeMessage,
  type RecoveringChannelModel,
} from 'amqplib';
import { contextFromHeaders, SpanKind, withSpan, type Logger } from '@skyway/common';
import { nextStepAfter, type DeliveryFailure } from '../domain/delivery';
import { NO_METRICS, type NotificationMetrics } from '../metrics';
import { assertTopology, deliveryLimitFor, QueueMismatchError, type AmqpNames } from './topology';

/** The message cannot be understood (not JSON, wrong shape): retrying cannot help, it goes to the DLQ at once. */
export class InvalidMessageError extends Error {
  override name = 'InvalidMessageError';
}

/**
 * Infrastructure this service depends on is down (its database): not the message's fault, so the retry does
 * not count as one of the message's attempts and an outage cannot push good events into the DLQ.
 */
export class DependencyDownError extends Error {
  override name = 'DependencyDownError';
}

export interface DeliveryContext {
  /** 1 for the first delivery; counts our retries (redeliveries of an unacked message do not count). */
  attempt: number;
  maxAttempts: number;
  redelivered: boolean;
}

export interface ConsumerOptions<T> {
  url: string;
  names: AmqpNames;
  prefetch: number;
  maxAttempts: number;
  /** Delay before attempt n + 1 after attempt n failed; must be one of `names.retryQueues`. */
  retryDelayMs: (failedAttempt: number) => number;
  parse: (content: Buffer) => T;
  /** Resolves: ack. Throws: retry with back-off, or the DLQ after `maxAttempts`. */
  handle: (message: T, ctx: DeliveryContext) => Promise<void>;
  logger: Logger;
  reconnectDelayMs?: { initial: number; max: number };
  metrics?: NotificationMetrics;
}

export const ATTEMPT_HEADER = 'x-delivery-attempt';
export const DLQ_REASON_HEADER = 'x-dead-letter-reason';

function attemptOf(msg: ConsumeMessage): number {
  const n = Number(msg.properties.headers?.[ATTEMPT_HEADER]);
  return Number.isInteger(n) && n >= 1 ? n : 1;
}

/**
 * Consumes the work queue with manual acks and bounded prefetch. The connection recovers by itself
 * (amqplib's recovery with exponential back-off); a channel that closes under a live connection closes the
 * connection too, so the same recovery path re-creates everything. A failed message is re-published to the
 * retry queue for its attempt (publisher-confirmed before the original is acked); after `maxAttempts` it
 * goes to the DLQ, as do unparsable messages at once.
 */
export class EventConsumer<T> {
  private model: RecoveringChannelModel | null = null;
  private channel: ConfirmChannel | null = null;
  private consumerTag: string | null = null;
  private stopping = false;
  /** The queue mismatch last logged, so a start blocked on it logs one error, not one per reconnect. */
  private mismatchLogged: string | null = null;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly opts: ConsumerOptions<T>) {}

  /** Returns at once; the first connection (and every later one) is made in the background. */
  async start(): Promise<void> {
    const { logger } = this.opts;
    const delays = this.opts.reconnectDelayMs ?? { initial: 500, max: 30_000 };
    this.model = await connect(this.opts.url, {
      recovery: {
        waitForConnect: false,
        initialDelay: delays.initial,
        maxDelay: delays.max,
        setup: (model: ChannelModel) => this.setup(model),
      },
    });
    this.model.on('connect', () => logger.info('consuming booking events', { queue: this.opts.names.queue }));
    this.model.on('disconnect', (err: Error) => {
      this.channel = null;
      this.consumerTag = null;
      if (!this.stopping) logger.warn('broker connection lost; reconnecting', { error: err.message });
    });
    this.model.on('reconnect-scheduled', (info: { attempt: number; delay: number; error: Error }) => {
      // Already logged once as an error; the next attempts only say they are still waiting for it.
      const level = info.error instanceof QueueMismatchError ? 'debug' : 'warn';
      logger.log(level, 'broker unavailable; retrying', {
        attempt: info.attempt,
        delayMs: info.delay,
        error: info.error.message,
      });
    });
    this.model.on('error', (err: Error) => logger.warn('broker connection error', { error: err.message }));
  }

  /**
   * How many messages wait in `queue` (the DLQ gauge), on a channel of its own: a failed check closes the
   * channel it runs on, which must not be the consumer's. Undefined while disconnected.
   */
  async queueDepth(queue: string): Promise<number | undefined> {
    if (!this.channel || !this.model) return undefined;
    const ch = await (this.model as unknown as ChannelModel).createChannel();
    ch.on('error', () => undefined);
    try {
      return (await ch.checkQueue(queue)).messageCount;
    } finally {
      await ch.close().catch(() => undefined);
    }
  }

  /** Connected, topology declared, and consuming. */
  isReady(): boolean {
    return this.channel !== null && this.consumerTag !== null;
  }

  private async setup(model: ChannelModel): Promise<void> {
    // amqplib's recovery attaches its 'error' listener only after setup succeeds: a connection that breaks
    // while the topology is being declared would emit an unhandled 'error' and kill the process (the crash
    // test found it). The failed setup itself is reported through recovery's 'reconnect-scheduled'.
    model.on('error', () => undefined);
    const ch = await model.createConfirmChannel();
    ch.on('error', (err: Error) => this.opts.logger.warn('broker channel error', { error: err.message }));
    ch.on('close', () => {
      if (this.channel === ch) {
        this.channel = null;
        this.consumerTag = null;
      }
      if (!this.stopping) model.close().catch(() => undefined);
    });
    await ch.prefetch(this.opts.prefetch);
    await this.declareTopology(model);
    this.channel = ch;
    const { consumerTag } = await ch.consume(this.opts.names.queue, (msg) => this.onMessage(ch, model, msg), {
      noAck: false,
    });
    this.consumerTag = consumerTag;
  }

  /**
   * Declares the quorum queues. One that exists with other arguments (a v1 classic queue) is logged once as an
   * error naming the upgrade procedure, and fails this setup: the service stays unready (`/ready` 503) and
   * recovery tries again with back-off, so it consumes once an operator has replaced the queue.
   */
  private async declareTopology(model: ChannelModel): Promise<void> {
    const { names, logger, maxAttempts } = this.opts;
    try {
      const declared = await assertTopology(model, names, { deliveryLimit: deliveryLimitFor(maxAttempts) });
      if (declared.deliveryLimitKept)
        logger.warn('work queue keeps the delivery limit it was declared with; re-create it to change it', {
          queue: names.queue,
          wanted: deliveryLimitFor(maxAttempts),
          broker: declared.deliveryLimitKept,
        });
      this.mismatchLogged = null;
    } catch (err) {
      if (err instanceof QueueMismatchError && this.mismatchLogged !== err.message) {
        this.mismatchLogged = err.message;
        logger.error(err.message, { queue: err.queue });
      }
      throw err;
    }
  }

  private onMessage(ch: ConfirmChannel, model: ChannelModel, msg: ConsumeMessage | null): void {
    if (!msg) {
      // The broker cancelled us (the queue was deleted): reconnecting re-declares it.
      this.opts.logger.warn('consumer cancelled by the broker; reconnecting');
      if (!this.stopping) model.close().catch(() => undefined);
      return;
    }
    const work = this.process(ch, msg)
      .catch((err: Error) => {
        this.opts.logger.error('message left unacked; the broker will redeliver it', { error: err.message });
      })
      .finally(() => this.inFlight.delete(work));
    this.inFlight.add(work);
  }

  /** Each message is handled in a consumer span continuing the trace its headers carry (the booking's request). */
  private process(ch: ConfirmChannel, msg: ConsumeMessage): Promise<void> {
    const parent = contextFromHeaders(msg.properties.headers as Record<string, unknown> | undefined);
    const name = `consume ${String(msg.properties.type ?? msg.fields.routingKey)}`;
    return withSpan(name, SpanKind.CONSUMER, () => this.processMessage(ch, msg), parent);
  }

  private async processMessage(ch: ConfirmChannel, msg: ConsumeMessage): Promise<void> {
    const { maxAttempts } = this.opts;
    const attempt = attemptOf(msg);
    const routingKey = msg.properties.headers?.['x-original-routing-key'] ?? msg.fields.routingKey;
    const meta = { messageId: msg.properties.messageId, routingKey, attempt };
    let message: T;
    try {
      message = this.opts.parse(msg.content);
    } catch (err) {
      return this.afterFailure(ch, msg, meta, { kind: 'invalid', reason: (err as Error).message });
    }
    try {
      await this.opts.handle(message, { attempt, maxAttempts, redelivered: msg.fields.redelivered });
      ch.ack(msg);
      (this.opts.metrics ?? NO_METRICS).message('consumed');
      return;
    } catch (err) {
      const error = (err as Error).message || String(err);
      const dependencyDown = err instanceof DependencyDownError;
      return this.afterFailure(ch, msg, meta, {
        kind: 'failed',
        attempt,
        maxAttempts,
        dependencyDown,
        error,
      });
    }
  }

  /** Re-publishes a failed message where the domain's decision sends it (DLQ or a retry queue), then acks it. */
  private async afterFailure(
    ch: ConfirmChannel,
    msg: ConsumeMessage,
    meta: { messageId: unknown; routingKey: unknown; attempt: number },
    failure: DeliveryFailure,
  ): Promise<void> {
    const { logger } = this.opts;
    const step = nextStepAfter(failure);
    if (step.action === 'dead-letter') {
      if (failure.kind === 'invalid') logger.warn('message dead-lettered', { ...meta, reason: step.reason });
      else logger.error('message dead-lettered after its last attempt', { ...meta, error: failure.error });
      await this.republish(ch, this.opts.names.dlq, msg, meta.attempt, {
        [DLQ_REASON_HEADER]: step.reason.slice(0, 1000),
      });
      ch.ack(msg);
      (this.opts.metrics ?? NO_METRICS).message('dead-lettered');
      return;
    }
    const error = failure.kind === 'failed' ? failure.error : '';
    const delayMs = this.opts.retryDelayMs(step.failedAttempt);
    const queue = this.opts.names.retryQueues.find((r) => r.delayMs === delayMs);
    if (!queue) throw new Error(`no retry queue for a delay of ${delayMs} ms`);
    logger.warn('message will be retried', { ...meta, nextAttempt: step.nextAttempt, delayMs, error });
    await this.republish(ch, queue.name, msg, step.nextAttempt, { 'x-last-error': error.slice(0, 1000) });
    ch.ack(msg);
    (this.opts.metrics ?? NO_METRICS).message('retried');
  }

  /** Publishes a copy to `queue` and waits for the broker's confirm, so the ack that follows never loses it. */
  private republish(
    ch: ConfirmChannel,
    queue: string,
    msg: ConsumeMessage,
    attempt: number,
    extraHeaders: Record<string, string>,
  ): Promise<void> {
    const p = msg.properties;
    const headers = {
      ...(p.headers ?? {}),
      ...extraHeaders,
      [ATTEMPT_HEADER]: attempt,
      // A retried copy comes back through the default exchange: keep where the event first came from.
      'x-original-exchange': p.headers?.['x-original-exchange'] ?? msg.fields.exchange,
      'x-original-routing-key': p.headers?.['x-original-routing-key'] ?? msg.fields.routingKey,
    };
    // x-death is the broker's own bookkeeping of earlier dead-letterings; copying it into a fresh publish
    // would only make it grow without bound.
    delete headers['x-death'];
    return new Promise((resolve, reject) => {
      ch.sendToQueue(
        queue,
        msg.content,
        {
          persistent: true,
          contentType: p.contentType,
          messageId: p.messageId,
          type: p.type,
          timestamp: p.timestamp,
          correlationId: p.correlationId,
          headers,
        },
        (err: unknown) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve()),
      );
    });
  }

  /** Stops consuming, lets the messages already delivered finish (and ack), then closes channel and connection. */
  async stop(): Promise<void> {
    this.stopping = true;
    const ch = this.channel;
    if (ch && this.consumerTag) await ch.cancel(this.consumerTag).catch(() => undefined);
    await Promise.allSettled([...this.inFlight]);
    if (ch) await ch.close().catch(() => undefined);
    this.channel = null;
    this.consumerTag = null;
    await this.model?.close();
  }
}
