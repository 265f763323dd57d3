import request from 'supertest';
import { DEV_INTERNAL_TOKEN, type BookingEvent } from '@skyway/common';
import type { NotificationService } from '../src/main';
import { bookingEvent, newBookingId } from './helpers/events';
import { TestWorld } from './helpers/service';
import { SmtpSink } from './helpers/smtp-sink';
import { eventually, sleep } from './helpers/wait';
import { loadConfig } from '../src/config';
import { createLogger, createSequelize } from '@skyway/common';
import { testDbServer } from '@skyway/common/testing';
import { bookingEventHandler, parseBookingEvent } from '../src/events/booking-events';
import { createMailer } from '../src/clients/mailer';
import { NotificationsStore } from '../src/db/notifications-store';

const world = new TestWorld();
const sink = new SmtpSink();
let service: NotificationService;

beforeAll(async () => {
  await sink.start();
  service = await world.start({ SMTP_URL: sink.url });
  await eventually(async () => (await request(service.url).get('/ready')).status === 200, 20_000, 'ready');
});

afterAll(async () => {
  await world.cleanup();
  await sink.stop();
});

describe('when booking-service publishes booking.confirmed', () => {
  it('sends exactly one confirmation to the customer, naming every fact the contract lists', async () => {
    const bookingId = newBookingId();
    const event = bookingEvent('booking.confirmed', bookingId, {
      userEmail: 'asha@example.com',
      departureTime: '2030-01-15T06:30:00Z',
      noOfSeats: 3,
      totalCost: 900000,
    });

    await world.broker.publishEvent(service.amqp.exchange, event);

    const [email] = await eventually(() => sink.about(bookingId).length === 1 && sink.about(bookingId));
    expect(email.to).toEqual(['asha@example.com']);
    expect(email.from).toContain('no-reply@skyway.local');
    expect(email.subject).toBe(`Booking ${bookingId} confirmed: flight AI-101 DEL → BOM`);
    expect(email.text).toContain(`Booking:   ${bookingId}`);
    expect(email.text).toContain('Flight:    AI-101');
    expect(email.text).toContain('Route:     DEL → BOM');
    expect(email.text).toContain('Departure: 2030-01-15T06:30:00.000Z');
    expect(email.text).toContain('Seats:     3');
    expect(email.text).toContain('Total:     INR 9000.00');

    const rows = await eventually(async () => {
      const list = await world.notifications(service, bookingId);
      return list[0]?.status === 'SENT' && list;
    });
    expect(rows).toEqual([
      expect.objectContaining({
        eventId: event.eventId,
        bookingId,
        kind: 'confirmation',
        recipient: 'asha@example.com',
        subject: email.subject,
        status: 'SENT',
        attempts: 1,
        sentAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      }),
    ]);
    await sleep(300);
    expect(sink.about(bookingId)).toHaveLength(1);
  });
});

describe('when other booking events arrive', () => {
  it('a cancellation of a BOOKED booking sends one cancellation notice', async () => {
    const bookingId = newBookingId();
    const event = bookingEvent('booking.cancelled', bookingId, {
      previousStatus: 'BOOKED',
      totalCost: 123456,
    });
    await world.broker.publishEvent(service.amqp.exchange, event);
    const [email] = await eventually(
      () => sink.about(bookingId, 'cancellation').length === 1 && sink.about(bookingId),
    );
    expect(email.subject).toBe(`Booking ${bookingId} cancelled: flight AI-101 DEL → BOM`);
    expect(email.text).toContain('Total:     INR 1234.56');
    expect(email.text).toContain('Departure: 2030-01-15T06:30:00.000Z');
  });

  it('a cancellation without previousStatus still gets a notice when we saw the booking confirmed', async () => {
    const bookingId = newBookingId();
    await world.broker.publishEvent(service.amqp.exchange, bookingEvent('booking.confirmed', bookingId));
    await eventually(() => sink.about(bookingId, 'confirmation').length === 1);
    await world.broker.publishEvent(service.amqp.exchange, bookingEvent('booking.cancelled', bookingId));
    await eventually(() => sink.about(bookingId, 'cancellation').length === 1);
    const rows = await world.notifications(service, bookingId);
    expect(rows.map((r) => r.kind)).toEqual(['confirmation', 'cancellation']);
  });

  it('sends nothing for booking.created, booking.expired, or the cancellation of an unpaid booking', async () => {
    const bookingId = newBookingId();
    await world.broker.publishEvent(service.amqp.exchange, bookingEvent('booking.created', bookingId));
    await world.broker.publishEvent(service.amqp.exchange, bookingEvent('booking.expired', bookingId));
    const other = newBookingId();
    await world.broker.publishEvent(service.amqp.exchange, bookingEvent('booking.created', other));
    await world.broker.publishEvent(
      service.amqp.exchange,
      bookingEvent('booking.cancelled', other, { previousStatus: 'INITIATED' }),
    );
    const marker = newBookingId();
    await world.broker.publishEvent(service.amqp.exchange, bookingEvent('booking.confirmed', marker));
    await eventually(() => sink.about(marker).length === 1);
    await sleep(300);
    expect(sink.about(bookingId)).toEqual([]);
    expect(sink.about(other)).toEqual([]);
    expect(await world.notifications(service, bookingId)).toEqual([]);
  });
});

describe('when a message is malformed', () => {
  it('goes to the DLQ at once, and the consumer keeps processing the next ones', async () => {
    const { exchange, dlq } = service.amqp;
    await world.broker.publishRaw(exchange, 'booking.confirmed', Buffer.from('{not json'), 'bad-1');
    const invalid = bookingEvent('booking.confirmed', newBookingId(), { userEmail: 'not-an-address' });
    await world.broker.publishEvent(exchange, invalid);
    const noId: Partial<BookingEvent> = bookingEvent('booking.created', newBookingId());
    delete noId.eventId;
    await world.broker.publishRaw(exchange, 'booking.created', Buffer.from(JSON.stringify(noId)));
    const bookingId = newBookingId();
    await world.broker.publishEvent(exchange, bookingEvent('booking.confirmed', bookingId));

    await eventually(() => sink.about(bookingId).length === 1);
    const dead = await eventually(async () => {
      const n = await world.broker.messageCount(dlq);
      return n >= 3 && (await world.broker.drain(dlq));
    });
    expect(dead).toHaveLength(3);
    expect(dead.map((m) => m.body)).toEqual(
      expect.arrayContaining(['{not json', JSON.stringify(invalid), JSON.stringify(noId)]),
    );
    for (const m of dead) {
      expect(m.headers['x-dead-letter-reason']).toMatch(/^invalid message: /);
      expect(m.headers['x-delivery-attempt']).toBe(1);
    }
    expect(sink.about(invalid.data.bookingId)).toEqual([]);
  });
});

describe('GET /internal/v1/notifications', () => {
  it('needs the internal token', async () => {
    const res = await request(service.url).get('/internal/v1/notifications?bookingId=1');
    expect(res.status).toBe(401);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
  });

  it('needs a positive integer bookingId', async () => {
    for (const q of ['', '?bookingId=', '?bookingId=abc', '?bookingId=0', '?bookingId=1&bookingId=2']) {
      const res = await request(service.url)
        .get(`/internal/v1/notifications${q}`)
        .set('X-Internal-Token', DEV_INTERNAL_TOKEN);
      expect(res.status).toBe(400);
      expect(res.body.errors).toEqual([expect.objectContaining({ path: 'bookingId' })]);
    }
  });

  it('answers an empty list for a booking without notifications; /health and /ready need no token', async () => {
    expect(await world.notifications(service, 4_000_000_000)).toEqual([]);
    await request(service.url).get('/health').expect(200, { status: 'ok' });
    const ready = await request(service.url).get('/ready').expect(200);
    expect(ready.body.checks).toEqual({ database: 'ok', broker: 'ok' });
  });
});

describe('when the same event arrives more than once', () => {
  it('published twice (and once more concurrently): one email, one row', async () => {
    const bookingId = newBookingId();
    const event = bookingEvent('booking.confirmed', bookingId);

    await Promise.all([
      world.broker.publishEvent(service.amqp.exchange, event),
      world.broker.publishEvent(service.amqp.exchange, event),
    ]);
    await eventually(() => sink.about(bookingId).length === 1);
    await world.broker.publishEvent(service.amqp.exchange, event);
    // A later, unrelated event going through proves the duplicate was consumed before we count.
    const marker = newBookingId();
    await world.broker.publishEvent(service.amqp.exchange, bookingEvent('booking.confirmed', marker));
    await eventually(() => sink.about(marker).length === 1);
    await sleep(300);

    expect(sink.about(bookingId)).toHaveLength(1);
    const rows = await world.notifications(service, bookingId);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: 'SENT', attempts: 1 });
  });

  it('a second confirmation event (new eventId) for the same booking sends no second confirmation', async () => {
    const bookingId = newBookingId();
    await world.broker.publishEvent(service.amqp.exchange, bookingEvent('booking.confirmed', bookingId));
    await eventually(() => sink.about(bookingId).length === 1);
    await world.broker.publishEvent(service.amqp.exchange, bookingEvent('booking.confirmed', bookingId));
    const marker = newBookingId();
    await world.broker.publishEvent(service.amqp.exchange, bookingEvent('booking.confirmed', marker));
    await eventually(() => sink.about(marker).length === 1);
    await sleep(300);
    expect(sink.about(bookingId)).toHaveLength(1);
    expect(await world.notifications(service, bookingId)).toHaveLength(1);
  });

  it('redelivered after a consumer crashed before its ack: no second email', async () => {
    const bookingId = newBookingId();
    const event = bookingEvent('booking.confirmed', bookingId);
    await stopService();
    // Another replica takes the message, does all the work with the service's own handler (records the
    // notification, sends the email, marks it SENT)...
    const replica = await world.broker.connection.createChannel();
    await replica.prefetch(1);
    const taken = new Promise<Buffer>((resolve) => {
      void replica.consume(service.amqp.queue, (msg) => msg && resolve(msg.content), { noAck: false });
    });
    await world.broker.publishEvent(service.amqp.exchange, event);
    await runHandlerOnce(await taken);
    expect(sink.about(bookingId)).toHaveLength(1);
    // ...and dies before its ack: RabbitMQ hands the message to the next consumer.
    await replica.close();
    service = await world.start({ SMTP_URL: sink.url });
    const marker = newBookingId();
    await world.broker.publishEvent(service.amqp.exchange, bookingEvent('booking.confirmed', marker));
    await eventually(() => sink.about(marker).length === 1);
    // A graceful stop acks what it finished: an empty queue means the redelivery was consumed and acked.
    await stopService();
    expect(await world.broker.messageCount(service.amqp.queue)).toBe(0);
    expect(sink.about(bookingId)).toHaveLength(1);
    service = await world.start({ SMTP_URL: sink.url });
    expect(await world.notifications(service, bookingId)).toEqual([
      expect.objectContaining({ status: 'SENT', attempts: 1 }),
    ]);
  });

  it('taken by a consumer that crashed before doing anything: the next consumer sends it, once', async () => {
    const bookingId = newBookingId();
    await stopService();
    const replica = await world.broker.connection.createChannel();
    const taken = new Promise<void>((resolve) => {
      void replica.consume(service.amqp.queue, (msg) => msg && resolve(), { noAck: false });
    });
    await world.broker.publishEvent(service.amqp.exchange, bookingEvent('booking.confirmed', bookingId));
    await taken;
    await replica.close();
    service = await world.start({ SMTP_URL: sink.url });
    await eventually(() => sink.about(bookingId).length === 1);
    await sleep(300);
    expect(sink.about(bookingId)).toHaveLength(1);
  });
});

async function stopService(): Promise<void> {
  await service.close();
}

/** What a replica's consumer does with one message before it would ack it. */
async function runHandlerOnce(content: Buffer): Promise<void> {
  const config = loadConfig(world.env({ SMTP_URL: sink.url }));
  const logger = createLogger('replica', 'error');
  const sequelize = createSequelize(testDbServer(), config.dbName);
  const mailer = createMailer(config, logger);
  try {
    const handle = bookingEventHandler({
      config,
      logger,
      store: new NotificationsStore(sequelize),
      mailer,
      mailDomain: 'skyway.local',
      retryDelayMs: () => 100,
    });
    await handle(parseBookingEvent(content), { attempt: 1, maxAttempts: 5, redelivered: false });
  } finally {
    mailer.close();
    await sequelize.close();
  }
}
