import request from 'supertest';
import type { NotificationService } from '../src/main';
import { bookingEvent, newBookingId } from './helpers/events';
import { TestWorld } from './helpers/service';
import { SmtpSink } from './helpers/smtp-sink';
import { eventually, sleep } from './helpers/wait';

const world = new TestWorld();
const sink = new SmtpSink();
let service: NotificationService;
let replica: NotificationService;

const settings = { MAX_DELIVERY_ATTEMPTS: '3', FAILED_RETRY_MAX_ATTEMPTS: '4', SMTP_TIMEOUT_MS: '2000' };

beforeAll(async () => {
  await sink.start();
  await sink.stop(); // the port is known; the mail server is down
  service = await world.start({ ...settings, SMTP_URL: sink.url });
  replica = await world.start({ ...settings, SMTP_URL: sink.url });
  for (const s of [service, replica]) {
    await eventually(async () => (await request(s.url).get('/ready')).status === 200);
  }
});

afterAll(async () => {
  await world.cleanup();
  await sink.stop();
});

const row = async (bookingId: number) => (await world.notifications(service, bookingId))[0];

describe('when the mail server is down', () => {
  it('retries the event with back-off, then marks the email FAILED after MAX_DELIVERY_ATTEMPTS', async () => {
    const bookingId = newBookingId();
    await world.broker.publishEvent(service.amqp.exchange, bookingEvent('booking.confirmed', bookingId));

    const failed = await eventually(async () => {
      const r = await row(bookingId);
      return r?.status === 'FAILED' && r;
    });
    expect(failed).toMatchObject({ kind: 'confirmation', attempts: 3, sentAt: null });
    // The row now carries the email and the retry job owns it: the message is acked, not dead-lettered.
    expect(await world.broker.messageCount(service.amqp.queue)).toBe(0);
    expect(await world.broker.messageCount(service.amqp.dlq)).toBe(0);
    expect(sink.messages).toEqual([]);
  });

  it('when the mail server is back, the retry job sends it once, even with two replicas running the job', async () => {
    const bookingId = newBookingId();
    await world.broker.publishEvent(service.amqp.exchange, bookingEvent('booking.confirmed', bookingId));
    await eventually(async () => (await row(bookingId))?.status === 'FAILED');

    await sink.start();
    await eventually(async () => {
      await Promise.all([service.jobs.retryFailed(), replica.jobs.retryFailed()]);
      return sink.about(bookingId).length > 0;
    });
    await Promise.all([service.jobs.retryFailed(), replica.jobs.retryFailed()]);
    await sleep(200);

    expect(sink.about(bookingId)).toHaveLength(1);
    expect(await row(bookingId)).toMatchObject({ status: 'SENT', attempts: 4 });
    // The first test's email was FAILED too: it went out with this one, also once.
    expect(sink.messages).toHaveLength(2);
  });

  it('gives up after FAILED_RETRY_MAX_ATTEMPTS attempts in all: the email stays FAILED', async () => {
    await sink.stop();
    const bookingId = newBookingId();
    await world.broker.publishEvent(service.amqp.exchange, bookingEvent('booking.confirmed', bookingId));
    await eventually(async () => (await row(bookingId))?.status === 'FAILED');
    await eventually(async () => {
      await service.jobs.retryFailed();
      return (await row(bookingId)).attempts === 4;
    });

    await sink.start();
    await sleep(500); // past any retry delay
    await Promise.all([service.jobs.retryFailed(), replica.jobs.retryFailed()]);

    expect(sink.about(bookingId)).toEqual([]);
    expect(await row(bookingId)).toMatchObject({ status: 'FAILED', attempts: 4, sentAt: null });
  });
});
