import amqp, { type Channel, type ChannelModel, type GetMessage } from 'amqplib';
import request from 'supertest';
import {
  amqpName,
  bookingEventSchema,
  createSequelize,
  EVENTS_EXCHANGE,
  type BookingEvent,
} from '@skyway/common';
import { testDbServer } from '@skyway/common/testing';
import { OutboxStore } from '../src/db/outbox-store';
import {
  AMQP_URL,
  book,
  createFlight,
  DEAD_AMQP_URL,
  eventually,
  outboxRows,
  startStack,
  user,
  type Stack,
  type TestFlight,
} from './support';

let stack: Stack;
let flight: TestFlight;
let conn: ChannelModel;
let ch: Channel;
let queue: string;

beforeAll(async () => {
  stack = await startStack({ bookingEnv: { AMQP_URL: DEAD_AMQP_URL } });
  flight = await createFlight(stack, 100);
  conn = await amqp.connect(AMQP_URL);
  ch = await conn.createChannel();
  const exchange = amqpName(stack.amqpPrefix, EVENTS_EXCHANGE);
  await ch.assertExchange(exchange, 'topic', { durable: true });
  queue = amqpName(stack.amqpPrefix, 'test.booking-events');
  await ch.assertQueue(queue, { durable: false });
  await ch.bindQueue(queue, exchange, 'booking.*');
});
afterAll(async () => {
  await ch.deleteQueue(queue);
  await conn.close();
  await stack.stop();
});

/** Every message now in the queue (acknowledged as read). */
async function drain(): Promise<GetMessage[]> {
  const out: GetMessage[] = [];
  for (;;) {
    const m = await ch.get(queue, { noAck: true });
    if (!m) return out;
    out.push(m);
  }
}

const bodyOf = (m: GetMessage): BookingEvent =>
  bookingEventSchema.parse(JSON.parse(m.content.toString('utf8')));

test('RabbitMQ unreachable: the service starts and serves, the payment succeeds, and the event waits in the outbox', async () => {
  await request(stack.booking.url).get('/health').expect(200);
  const ready = await request(stack.booking.url).get('/ready').expect(503);
  expect(ready.body.checks.database).toBe('ok');
  expect(ready.body.checks.broker).toMatch(/^down/);

  const b = await book(stack, 600, { flightId: flight.id, noOfSeats: 2 }).expect(201);
  await stack
    .http()
    .post('/api/v1/payments')
    .set(user(600))
    .set('Idempotency-Key', 'pay-while-broker-down')
    .send({ bookingId: b.body.id, amount: b.body.totalCost })
    .expect(201);
  // Several relay intervals pass; nothing can be published.
  await new Promise((r) => setTimeout(r, 1000));
  const events = await outboxRows(stack, b.body.id);
  expect(events.map((e) => [e.type, e.published_at])).toEqual([
    ['booking.created', null],
    ['booking.confirmed', null],
  ]);
  expect(await drain()).toEqual([]);

  // The broker is reachable again (the relay is pointed at it): each waiting event is published exactly once.
  await stack.booking.close();
  stack.booking = await stack.startBooking({ AMQP_URL });
  await eventually(async () => (await outboxRows(stack, b.body.id)).every((e) => e.published_at !== null));
  await eventually(async () => (await request(stack.booking.url).get('/ready')).status === 200);
  // Give a duplicate every chance to show up before counting.
  await new Promise((r) => setTimeout(r, 1000));
  const messages = await drain();
  expect(messages.map((m) => m.fields.routingKey)).toEqual(['booking.created', 'booking.confirmed']);
  const confirmed = messages[1];
  const body = bodyOf(confirmed);
  expect(confirmed.properties).toMatchObject({
    contentType: 'application/json',
    deliveryMode: 2,
    messageId: body.eventId,
  });
  expect(body).toMatchObject({
    eventId: events[1].event_id,
    type: 'booking.confirmed',
    data: {
      bookingId: b.body.id,
      userId: 600,
      userEmail: 'user600@example.test',
      flightId: flight.id,
      flightNumber: flight.flightNumber,
      departureAirportCode: 'DEL',
      arrivalAirportCode: 'BOM',
      noOfSeats: 2,
      totalCost: b.body.totalCost,
      status: 'BOOKED',
      previousStatus: 'PENDING',
    },
  });
});

test('events of each booking arrive in order, each once, with two replicas relaying the same outbox', async () => {
  const second = await stack.startBooking({ AMQP_URL });
  const services = [stack.booking.url, second.url];
  const ids = await Promise.all(
    Array.from({ length: 10 }, async (_, i) => {
      const http = () => request(services[i % 2]);
      const b = await http()
        .post('/api/v1/bookings')
        .set(user(700 + i))
        .send({ flightId: flight.id, noOfSeats: 1 })
        .expect(201);
      await http()
        .post('/api/v1/payments')
        .set(user(700 + i))
        .set('Idempotency-Key', `order-${i}`)
        .send({ bookingId: b.body.id, amount: b.body.totalCost })
        .expect(201);
      await request(services[(i + 1) % 2])
        .post(`/api/v1/bookings/${b.body.id}/cancel`)
        .set(user(700 + i))
        .expect(200);
      return b.body.id as number;
    }),
  );
  await eventually(async () => (await outboxRows(stack)).every((e) => e.published_at !== null));
  await new Promise((r) => setTimeout(r, 1000));
  const messages = (await drain()).map(bodyOf);
  expect(new Set(messages.map((m) => m.eventId)).size).toBe(messages.length);
  for (const id of ids) {
    expect(messages.filter((m) => m.data.bookingId === id).map((m) => m.type)).toEqual([
      'booking.created',
      'booking.confirmed',
      'booking.cancelled',
    ]);
  }
  await second.close();
});

test('one relay at a time across replicas: the lease is a row, given up on stop, taken over once expired', async () => {
  const db = createSequelize(testDbServer(), stack.bookingsDb.getDatabaseName(), {
    poolMax: 2,
    multipleStatements: true,
  });
  // The running replicas must not hold the lease meanwhile: stop theirs first.
  await stack.booking.relay.stop();
  try {
    const a = new OutboxStore(db);
    const b = new OutboxStore(db);
    const seen: Record<string, number> = {};
    const batch = (store: OutboxStore, holder: string, ms = 60_000) =>
      store.relayBatch({ holder, ms }, 5, async (rows) => {
        seen[holder] = (seen[holder] ?? 0) + rows.length;
        return []; // nothing confirmed: the rows stay for the next batch
      });
    await book(stack, 750, { flightId: flight.id, noOfSeats: 1 }).expect(201);

    expect(await batch(a, 'replica-a')).toMatchObject({ confirmed: 0 });
    expect(seen['replica-a']).toBeGreaterThan(0);
    expect(await batch(b, 'replica-b')).toBeUndefined(); // a holds it
    expect(await batch(a, 'replica-a')).toBeDefined(); // a renews it

    await a.releaseLease('replica-a'); // a stops: b relays at once
    expect(await batch(b, 'replica-b', 300)).toBeDefined();
    expect(await batch(a, 'replica-a')).toBeUndefined();

    // b dies without giving it up: a takes over once b's lease (300 ms) has expired, and not before.
    await new Promise((r) => setTimeout(r, 600));
    expect(await batch(a, 'replica-a')).toBeDefined();
    expect(await batch(b, 'replica-b')).toBeUndefined();
    await a.releaseLease('replica-a');
  } finally {
    await db.close();
  }
});
