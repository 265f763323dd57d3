import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { createLogger, type Logger } from '@skyway/common';
import { retryDelayMs, retryDelaySchedule } from '../src/domain/delivery';
import { DependencyDownError, EventConsumer, type DeliveryContext } from '../src/events/consumer';
import { amqpNames, type AmqpNames } from '../src/events/topology';
import { FaultProxy } from '@skyway/testkit';
import { AMQP_URL, TestBroker } from './helpers/amqp';
import { bookingEvent, newBookingId } from './helpers/events';
import { TestWorld } from './helpers/service';
import { SmtpSink } from './helpers/smtp-sink';
import { eventually, sleep } from './helpers/wait';

const world = new TestWorld();
const sink = new SmtpSink();
/** A TCP proxy in front of the shared broker: cut, RabbitMQ is "down" for whoever connects through it. */
let proxy: FaultProxy;
const proxyUrl = () => {
  const url = new URL(AMQP_URL);
  url.port = String(proxy.port);
  return url.toString();
};
let broker: TestBroker;
const consumerNames: AmqpNames[] = [];
/** Stopped after the file too, so a test that fails half-way leaves no consumer running. */
const consumers: Array<EventConsumer<string>> = [];

beforeAll(async () => {
  await sink.start();
  proxy = await FaultProxy.start(Number(new URL(AMQP_URL).port || 5672), new URL(AMQP_URL).hostname);
  await proxy.cut();
  broker = await TestBroker.open();
});

afterAll(async () => {
  for (const c of consumers) await c.stop().catch(() => undefined);
  await world.cleanup();
  for (const names of consumerNames) await broker.deleteTopology(names);
  await broker.close();
  await proxy.close();
  await sink.stop();
});

describe('when RabbitMQ is down', () => {
  it('the service starts anyway, is not ready, and consumes once the broker is back (and again after a drop)', async () => {
    const service = await world.start({ SMTP_URL: sink.url, AMQP_URL: proxyUrl() });
    await request(service.url).get('/health').expect(200);
    const down = await request(service.url).get('/ready').expect(503);
    expect(down.body.checks).toEqual({ database: 'ok', broker: expect.stringMatching(/^down: /) });

    await proxy.heal();
    await eventually(async () => (await request(service.url).get('/ready')).status === 200);
    const first = newBookingId();
    await broker.publishEvent(service.amqp.exchange, bookingEvent('booking.confirmed', first));
    await eventually(() => sink.about(first).length === 1);

    // The connection drops; an event published meanwhile waits in the durable queue.
    await proxy.cut();
    await eventually(async () => (await request(service.url).get('/ready')).status === 503);
    const second = newBookingId();
    await broker.publishEvent(service.amqp.exchange, bookingEvent('booking.confirmed', second));
    await sleep(300);
    expect(sink.about(second)).toEqual([]);

    await proxy.heal();
    await eventually(() => sink.about(second).length === 1, 40_000);
    expect(sink.about(first)).toHaveLength(1);
    await request(service.url).get('/ready').expect(200);
  });
});

/** The names an EventConsumer on its own queues uses (deleted after the file). */
function consumerNamesFor(maxAttempts: number): AmqpNames {
  const names = amqpNames(
    `test.consumer.${randomUUID()}.`,
    retryDelaySchedule(Math.max(2, maxAttempts), 100, 1000),
  );
  consumerNames.push(names);
  return names;
}

/** An EventConsumer on its own queues, with a handler the test controls. */
async function startConsumer(
  maxAttempts: number,
  handle: (body: string, ctx: DeliveryContext) => Promise<void>,
  opts: { names?: AmqpNames; logger?: Logger; waitReady?: boolean } = {},
): Promise<{ consumer: EventConsumer<string>; names: AmqpNames }> {
  const names = opts.names ?? consumerNamesFor(maxAttempts);
  const consumer = new EventConsumer<string>({
    url: AMQP_URL,
    names,
    prefetch: 5,
    maxAttempts,
    retryDelayMs: (n) => retryDelayMs(n, 100, 1000),
    parse: (content) => content.toString('utf8'),
    handle,
    logger: opts.logger ?? createLogger('consumer-test', 'error'),
    reconnectDelayMs: { initial: 50, max: 200 },
  });
  consumers.push(consumer);
  await consumer.start();
  if (opts.waitReady ?? true) await eventually(() => consumer.isReady());
  return { consumer, names };
}

/** What v1 declared: classic queues, the work queue and DLQ without arguments, the retry queues with TTL. */
async function declareV1ClassicQueues(names: AmqpNames): Promise<void> {
  await broker.channel.assertQueue(names.queue, { durable: true });
  await broker.channel.assertQueue(names.dlq, { durable: true });
  for (const r of names.retryQueues) {
    await broker.channel.assertQueue(r.name, {
      durable: true,
      messageTtl: r.delayMs,
      deadLetterExchange: '',
      deadLetterRoutingKey: names.queue,
    });
  }
}

const deleteQueues = async (names: AmqpNames) => {
  for (const q of [names.queue, names.dlq, ...names.retryQueues.map((r) => r.name)]) {
    await broker.channel.deleteQueue(q);
  }
};

describe('the consumer', () => {
  it('retries a failing message with growing delays, then moves it to the DLQ after MAX_DELIVERY_ATTEMPTS', async () => {
    const calls: Array<{ at: number; attempt: number }> = [];
    const { consumer, names } = await startConsumer(4, async (_body, ctx) => {
      calls.push({ at: Date.now(), attempt: ctx.attempt });
      throw new Error('the handler always fails');
    });
    await broker.publishRaw(names.exchange, 'booking.confirmed', Buffer.from('hello'), 'm-1');

    const [dead] = await eventually(
      async () => (await broker.messageCount(names.dlq)) === 1 && broker.drain(names.dlq),
    );
    await consumer.stop();
    expect(calls.map((c) => c.attempt)).toEqual([1, 2, 3, 4]);
    const gaps = calls.slice(1).map((c, i) => c.at - calls[i].at);
    // Each wait is at least its retry queue's TTL: 100, 200, 400 ms.
    expect(gaps[0]).toBeGreaterThanOrEqual(100);
    expect(gaps[1]).toBeGreaterThanOrEqual(200);
    expect(gaps[2]).toBeGreaterThanOrEqual(400);
    expect(dead.body).toBe('hello');
    expect(dead.headers).toMatchObject({
      'x-delivery-attempt': 4,
      'x-dead-letter-reason': 'failed 4 times; last error: the handler always fails',
      'x-original-routing-key': 'booking.confirmed',
    });
    expect(await broker.messageCount(names.queue)).toBe(0);
  });

  it('does not count retries caused by its database being down, so an outage cannot dead-letter good events', async () => {
    const calls: number[] = [];
    const { consumer, names } = await startConsumer(2, async (_body, ctx) => {
      calls.push(ctx.attempt);
      if (calls.length <= 3) throw new DependencyDownError('database unavailable');
    });
    await broker.publishRaw(names.exchange, 'booking.confirmed', Buffer.from('hello'), 'm-2');
    await eventually(() => calls.length === 4, 20_000);
    await consumer.stop();
    expect(calls).toEqual([1, 1, 1, 1]);
    expect(await broker.messageCount(names.dlq)).toBe(0);
    expect(await broker.messageCount(names.queue)).toBe(0);
  });

  it('stops gracefully: no new deliveries, the one in flight finishes and is acked', async () => {
    let started = 0;
    let finished = 0;
    const { consumer, names } = await startConsumer(3, async () => {
      started++;
      await sleep(500);
      finished++;
    });
    await broker.publishRaw(names.exchange, 'booking.created', Buffer.from('slow'), 'm-3');
    await eventually(() => started === 1);
    await consumer.stop();
    expect(finished).toBe(1);
    expect(consumer.isReady()).toBe(false);
    await broker.publishRaw(names.exchange, 'booking.created', Buffer.from('after stop'), 'm-4');
    await sleep(200);
    expect(started).toBe(1);
    // The finished one was acked; only the one published after the stop waits in the queue.
    expect(await broker.messageCount(names.queue)).toBe(1);
  });

  it('recovers when the broker cancels it (its queue was deleted): re-declares the queue and consumes again', async () => {
    const seen: string[] = [];
    const { consumer, names } = await startConsumer(3, async (body) => {
      seen.push(body);
    });
    await broker.channel.deleteQueue(names.queue);
    // Until the consumer has re-declared the queue, what is published to the exchange has nowhere to go.
    let n = 0;
    await eventually(async () => {
      await broker.publishRaw(names.exchange, 'booking.created', Buffer.from(`after deletion ${++n}`));
      await sleep(100);
      return seen.length > 0;
    });
    await consumer.stop();
    expect(consumer.isReady()).toBe(false);
    expect(seen[0]).toMatch(/^after deletion \d+$/);
  });
});

describe('the queues', () => {
  it('are quorum queues: the work queue with a delivery limit of MAX_DELIVERY_ATTEMPTS, all dead-lettering at-least-once', async () => {
    const { consumer, names } = await startConsumer(3, async () => undefined);
    await consumer.stop();
    const atLeastOnce = { 'x-dead-letter-strategy': 'at-least-once', 'x-overflow': 'reject-publish' };
    const expected = [
      { queue: names.dlq, args: { 'x-queue-type': 'quorum' } },
      {
        queue: names.queue,
        args: {
          'x-queue-type': 'quorum',
          'x-delivery-limit': 3,
          'x-dead-letter-exchange': '',
          'x-dead-letter-routing-key': names.dlq,
          ...atLeastOnce,
        },
      },
      ...names.retryQueues.map((r) => ({
        queue: r.name,
        args: {
          'x-queue-type': 'quorum',
          'x-message-ttl': r.delayMs,
          'x-dead-letter-exchange': '',
          'x-dead-letter-routing-key': names.queue,
          ...atLeastOnce,
        },
      })),
    ];
    for (const { queue, args } of expected) {
      // A declaration that differs in any argument (or lacks one the queue has) fails with 406, so an 'ok'
      // says the queue has exactly these; `checkQueue` (passive) would not compare them at all.
      expect(await broker.tryDeclare(queue, { durable: true, arguments: args })).toBe('ok');
      expect(
        await broker.tryDeclare(queue, { durable: true, arguments: { ...args, 'x-queue-type': 'classic' } }),
      ).toMatch(/406 .*inequivalent arg 'x-queue-type'.*received 'classic' but current is 'quorum'/);
    }
  });

  it('dead-letter a message redelivered without ack more often than the delivery limit (a consumer crashing on it)', async () => {
    const { consumer, names } = await startConsumer(3, async () => undefined);
    await consumer.stop();
    await broker.publishRaw(names.exchange, 'booking.confirmed', Buffer.from('poison'), 'm-poison');
    // Each "crashing consumer" takes the message and dies (its channel closes) before acking it.
    const deliveryCounts: unknown[] = [];
    for (let i = 0; i < 10; i++) {
      const ch = await broker.connection.createChannel();
      const msg = await ch.get(names.queue, { noAck: false });
      await ch.close();
      if (!msg) break;
      deliveryCounts.push(msg.properties.headers?.['x-delivery-count']);
    }
    // The first delivery and 3 redeliveries (x-delivery-limit = MAX_DELIVERY_ATTEMPTS = 3), then the DLQ.
    expect(deliveryCounts).toEqual([0, 1, 2, 3]);
    const [dead] = await eventually(
      async () => (await broker.messageCount(names.dlq)) === 1 && broker.drain(names.dlq),
    );
    expect(dead.body).toBe('poison');
    expect(dead.headers).toMatchObject({ 'x-first-death-reason': 'delivery_limit' });
    expect(await broker.messageCount(names.queue)).toBe(0);
  });

  it('meeting v1 classic queues: one error naming the upgrade procedure, not ready, consumes once they are replaced', async () => {
    const names = consumerNamesFor(3);
    await declareV1ClassicQueues(names);
    const logger = createLogger('consumer-test', 'error');
    const errors = jest.spyOn(logger, 'error');
    const seen: string[] = [];
    const { consumer } = await startConsumer(
      3,
      async (body) => {
        seen.push(body);
      },
      { names, logger, waitReady: false },
    );
    await sleep(1500); // several reconnect attempts (50 → 200 ms back-off)
    expect(consumer.isReady()).toBe(false);
    expect(errors).toHaveBeenCalledTimes(1);
    expect(String(errors.mock.calls[0][0])).toMatch(
      new RegExp(
        `queue ${names.dlq.replace(/\./g, '\\.')} exists with other arguments.*Upgrading from classic queues`,
      ),
    );
    // Nothing of ours was changed: the classic queues are still there as v1 declared them.
    expect(await broker.tryDeclare(names.queue, { durable: true })).toBe('ok');

    await deleteQueues(names); // the operator's last step of the upgrade
    await eventually(() => consumer.isReady(), 10_000);
    await broker.publishRaw(names.exchange, 'booking.created', Buffer.from('after the upgrade'));
    await eventually(() => seen.length === 1);
    await consumer.stop();
    expect(
      await broker.tryDeclare(names.queue, { durable: true, arguments: { 'x-queue-type': 'classic' } }),
    ).toMatch(/406/);
  });

  it('the service meeting a v1 classic work queue stays unready (503) and serves once it is replaced', async () => {
    const prefix = `${world.amqpPrefix}v1.`;
    const names = amqpNames(prefix, []);
    await broker.channel.assertQueue(names.queue, { durable: true });
    const service = await world.start({ SMTP_URL: sink.url, AMQP_NAME_PREFIX: prefix });
    await sleep(1500);
    const res = await request(service.url).get('/ready').expect(503);
    expect(res.body.checks).toEqual({ database: 'ok', broker: expect.stringMatching(/^down: /) });

    await broker.channel.deleteQueue(names.queue);
    await eventually(async () => (await request(service.url).get('/ready')).status === 200, 40_000);
    const bookingId = newBookingId();
    await broker.publishEvent(service.amqp.exchange, bookingEvent('booking.confirmed', bookingId));
    await eventually(() => sink.about(bookingId).length === 1);
    await service.close();
  });
});
