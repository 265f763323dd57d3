import type { Channel } from 'amqplib';
import { amqpName, EVENTS_EXCHANGE } from '@skyway/common';

/** The queue this service consumes (bound to `booking.*`) and its dead-letter queue. */
export const NOTIFICATION_QUEUE = 'notification.booking-events';
export const NOTIFICATION_DLQ = 'notification.booking-events.dlq';

export interface RetryQueue {
  name: string;
  delayMs: number;
}

export interface AmqpNames {
  exchange: string;
  queue: string;
  dlq: string;
  /** One per distinct retry delay: a message waits there `delayMs`, then is dead-lettered back to `queue`. */
  retryQueues: RetryQueue[];
}

export const BINDING_KEY = 'booking.*';

export function amqpNames(prefix: string, retryDelaysMs: number[]): AmqpNames {
  const queue = amqpName(prefix, NOTIFICATION_QUEUE);
  return {
    exchange: amqpName(prefix, EVENTS_EXCHANGE),
    queue,
    dlq: amqpName(prefix, NOTIFICATION_DLQ),
    // The delay is part of the name: queue arguments cannot change once declared, so a new schedule
    // simply declares new queues instead of failing on the old ones.
    retryQueues: retryDelaysMs.map((delayMs) => ({ name: `${queue}.retry.${delayMs}`, delayMs })),
  };
}

/**
 * Declares the exchange, the work queue and its binding, the retry queues and the DLQ. The work queue takes
 * no extra arguments, so any other service may declare it too (durable) without a PRECONDITION_FAILED.
 */
export async function assertTopology(ch: Channel, names: AmqpNames): Promise<void> {
  await ch.assertExchange(names.exchange, 'topic', { durable: true });
  await ch.assertQueue(names.queue, { durable: true });
  await ch.bindQueue(names.queue, names.exchange, BINDING_KEY);
  await ch.assertQueue(names.dlq, { durable: true });
  for (const r of names.retryQueues) {
    await ch.assertQueue(r.name, {
      durable: true,
      messageTtl: r.delayMs,
      deadLetterExchange: '',
      deadLetterRoutingKey: names.queue,
    });
  }
}
