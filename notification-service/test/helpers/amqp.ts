import { connect, type ChannelModel, type ConfirmChannel, type Options } from 'amqplib';
import type { BookingEvent } from '@skyway/common';
import type { AmqpNames } from '../../src/events/topology';

export const AMQP_URL = process.env.AMQP_URL || 'amqp://guest:guest@127.0.0.1:5672';

/** A publisher like booking-service's: persistent JSON, messageId = eventId, routing key = event type. */
export class TestBroker {
  private constructor(
    readonly connection: ChannelModel,
    readonly channel: ConfirmChannel,
  ) {}

  static async open(url = AMQP_URL): Promise<TestBroker> {
    const connection = await connect(url);
    const channel = await connection.createConfirmChannel();
    channel.on('error', () => undefined);
    connection.on('error', () => undefined);
    return new TestBroker(connection, channel);
  }

  async publishEvent(exchange: string, event: BookingEvent): Promise<void> {
    await this.publishRaw(exchange, event.type, Buffer.from(JSON.stringify(event)), event.eventId);
  }

  async publishRaw(exchange: string, routingKey: string, body: Buffer, messageId?: string): Promise<void> {
    this.channel.publish(exchange, routingKey, body, {
      persistent: true,
      contentType: 'application/json',
      messageId,
    });
    await this.channel.waitForConfirms();
  }

  /** Everything waiting in `queue` (taken off it). */
  async drain(queue: string): Promise<Array<{ body: string; headers: Record<string, unknown> }>> {
    const out: Array<{ body: string; headers: Record<string, unknown> }> = [];
    for (;;) {
      const msg = await this.channel.get(queue, { noAck: true });
      if (!msg) return out;
      out.push({
        body: msg.content.toString('utf8'),
        headers: (msg.properties.headers ?? {}) as Record<string, unknown>,
      });
    }
  }

  async messageCount(queue: string): Promise<number> {
    return (await this.channel.checkQueue(queue)).messageCount;
  }

  /**
   * Declares `queue` (non-passive: it tells whether the queue has exactly these arguments) on a channel of its
   * own, as a failed declaration closes its channel. Resolves 'ok' or the broker's error message.
   */
  async tryDeclare(queue: string, options: Options.AssertQueue): Promise<string> {
    const ch = await this.connection.createChannel();
    ch.on('error', () => undefined);
    try {
      await ch.assertQueue(queue, options);
      await ch.close();
      return 'ok';
    } catch (err) {
      return (err as Error).message;
    }
  }

  /** Removes a test's exchange and queues. */
  async deleteTopology(names: AmqpNames): Promise<void> {
    for (const q of [names.queue, names.dlq, ...names.retryQueues.map((r) => r.name)]) {
      await this.channel.deleteQueue(q);
    }
    await this.channel.deleteExchange(names.exchange);
  }

  async close(): Promise<void> {
    await this.channel.close().catch(() => undefined);
    await this.connection.close().catch(() => undefined);
  }
}
