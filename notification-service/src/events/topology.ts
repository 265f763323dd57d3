import type { Channel, Options } from 'amqplib';
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

/** Where the upgrade from v1's classic queues is described (named in the error the service logs). */
export const UPGRADE_DOC = 'notification-service/README.md, "Upgrading from classic queues"';

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
 * The broker's own cap on deliveries of one message that is never acked (the consumer crashed on it, or its
 * connection died): after `deliveryLimit` redeliveries, i.e. on its (deliveryLimit + 1)th return, the work
 * queue dead-letters it to the DLQ. Our own counter (`x-delivery-attempt`) already caps every failure the
 * handler sees at MAX_DELIVERY_ATTEMPTS; this only catches what it cannot see, with the same budget.
 */
export function deliveryLimitFor(maxAttempts: number): number {
  return maxAttempts;
}

/**
 * Quorum queues, dead-lettering at-least-once (the broker keeps a dead-lettered message in its source queue
 * until the target queue confirmed it; that strategy requires `x-overflow: reject-publish`, which never
 * triggers here: no length limit is set).
 */
const DEAD_LETTER_AT_LEAST_ONCE = {
  'x-dead-letter-strategy': 'at-least-once',
  'x-overflow': 'reject-publish',
};

export interface QueueDeclaration {
  queue: string;
  options: Options.AssertQueue;
}

/** Every queue of the topology with exactly the options it is declared with, DLQ first (the others' target). */
export function queueDeclarations(names: AmqpNames, deliveryLimit: number): QueueDeclaration[] {
  return [
    { queue: names.dlq, options: { durable: true, arguments: { 'x-queue-type': 'quorum' } } },
    {
      queue: names.queue,
      options: {
        durable: true,
        arguments: {
          'x-queue-type': 'quorum',
          'x-delivery-limit': deliveryLimit,
          'x-dead-letter-exchange': '',
          'x-dead-letter-routing-key': names.dlq,
          ...DEAD_LETTER_AT_LEAST_ONCE,
        },
      },
    },
    ...names.retryQueues.map((r) => ({
      queue: r.name,
      options: {
        durable: true,
        arguments: {
          'x-queue-type': 'quorum',
          'x-message-ttl': r.delayMs,
          'x-dead-letter-exchange': '',
          'x-dead-letter-routing-key': names.queue,
          ...DEAD_LETTER_AT_LEAST_ONCE,
        },
      },
    })),
  ];
}

/**
 * A queue of ours exists with other arguments than this version declares: in practice a classic queue left
 * by v1 (RabbitMQ cannot turn a classic queue into a quorum queue; it must be drained and re-created).
 */
export class QueueMismatchError extends Error {
  override name = 'QueueMismatchError';
  constructor(
    readonly queue: string,
    readonly brokerMessage: string,
  ) {
    super(
      `queue ${queue} exists with other arguments than this version declares (most likely a classic queue ` +
        `from v1; v1.1 needs quorum queues): ${brokerMessage}. Not consuming until it is replaced; ` +
        `follow ${UPGRADE_DOC}`,
    );
  }
}

export interface TopologyDeclared {
  /** The work queue already existed with another `x-delivery-limit` (declared under another MAX_DELIVERY_ATTEMPTS). */
  deliveryLimitKept?: string;
}

const isPreconditionFailed = (err: unknown) => (err as { code?: unknown }).code === 406;

/**
 * Declares the exchange, the DLQ, the work queue and its binding, and the retry queues, on channels of its
 * own (a failed declaration closes the channel it was made on). A queue that exists with other arguments
 * throws a QueueMismatchError, except a work queue whose only difference is its delivery limit (every other
 * argument is compared before that one): it is a quorum queue of ours all the same, and is used as it is.
 */
export async function assertTopology(
  model: { createChannel(): Promise<Channel> },
  names: AmqpNames,
  opts: { deliveryLimit: number },
): Promise<TopologyDeclared> {
  const result: TopologyDeclared = {};
  let ch = await model.createChannel();
  ch.on('error', () => undefined);
  try {
    await ch.assertExchange(names.exchange, 'topic', { durable: true });
    for (const { queue, options } of queueDeclarations(names, opts.deliveryLimit)) {
      try {
        await ch.assertQueue(queue, options);
      } catch (err) {
        if (!isPreconditionFailed(err)) throw err;
        const brokerMessage = (err as Error).message
          .replace(/^.*PRECONDITION_FAILED - /, '')
          .replace(/"$/, '');
        if (queue !== names.queue || !/inequivalent arg 'x-delivery-limit'/.test(brokerMessage)) {
          throw new QueueMismatchError(queue, brokerMessage);
        }
        result.deliveryLimitKept = brokerMessage;
        ch = await model.createChannel();
        ch.on('error', () => undefined);
        await ch.checkQueue(queue);
      }
      if (queue === names.queue) await ch.bindQueue(names.queue, names.exchange, BINDING_KEY);
    }
  } finally {
    await ch.close().catch(() => undefined);
  }
  return result;
}
