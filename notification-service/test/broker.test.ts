import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { createLogger } from '@skyway/common';
import { retryDelayMs, retryDelaySchedule } from '../src/domain/delivery';
import { DependencyDownError, EventConsumer, type DeliveryContext } from '../src/events/consumer';
import { amqpNames, type AmqpNames } from '../src/events/topology';
import { FaultProxy } from '../../e2e/test/support/fault-proxy';
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

beforeAll(async () => {
  await sink.start();
  proxy = await FaultProxy.start(Number(new URL(AMQP_URL).port || 5672), new URL(AMQP_URL).hostname);
  await proxy.cut();
  broker = await TestBroker.open();
});

afterAll(async () => {
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

/** An EventConsumer on its own queues, with a handler the test controls. */
async function startConsumer(
  maxAttempts: number,
  handle: (body: string, ctx: DeliveryContext) => Promise<void>,
): Promise<{ consumer: EventConsumer<string>; names: AmqpNames }> {
  const base = 100;
  const max = 1000;
  const names = amqpNames(
    `test.consumer.${randomUUID()}.`,
    retryDelaySchedule(Math.max(2, maxAttempts), base, max),
  );
  consumerNames.push(names);
  const consumer = new EventConsumer<string>({
    url: AMQP_URL,
    names,
    prefetch: 5,
    maxAttempts,
    retryDelayMs: (n) => retryDelayMs(n, base, max),
    parse: (content) => content.toString('utf8'),
    handle,
    logger: createLogger('consumer-test', 'error'),
  });
  await consumer.start();
  await eventually(() => consumer.isReady());
  return { consumer, names };
}

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
