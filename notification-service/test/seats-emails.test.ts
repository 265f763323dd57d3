import request from 'supertest';
import { composeEmail } from '../src/domain/emails';
import { decideOnEvent } from '../src/domain/bookings';
import { parseBookingEvent } from '../src/events/booking-events';
import type { NotificationService } from '../src/main';
import { bookingEvent, newBookingId } from './helpers/events';
import { TestWorld } from './helpers/service';
import { SmtpSink } from './helpers/smtp-sink';
import { eventually, sleep } from './helpers/wait';

const passengers = [
  { name: 'Asha Rao', seat: '12A' },
  { name: 'Zoë Müller', seat: '12B' },
];
const facts = {
  bookingId: 7,
  flightNumber: 'AI-101',
  departureAirportCode: 'DEL',
  arrivalAirportCode: 'BOM',
  departureTime: '2030-01-15T06:30:00.000Z',
  noOfSeats: 2,
  totalCost: 900000,
  locator: 'K7QP2M',
  passengers,
};

describe('emails name the locator and each passenger with their seat', () => {
  test.each(['confirmation', 'cancellation', 'reminder'] as const)('%s', (kind) => {
    const email = composeEmail(kind, facts, 'INR');
    expect(email.text).toContain('Locator:   K7QP2M');
    expect(email.text).toContain('  1. Asha Rao, seat 12A');
    expect(email.text).toContain('  2. Zoë Müller, seat 12B');
    if (kind !== 'reminder') expect(email.subject).toContain('K7QP2M (booking 7)');
  });

  test('a nameless passenger (count-only booking) and a seat not known yet', () => {
    const email = composeEmail(
      'confirmation',
      {
        ...facts,
        passengers: [
          { name: null, seat: '3C' },
          { name: null, seat: null },
        ],
      },
      'INR',
    );
    expect(email.text).toContain('  1. Passenger 1, seat 3C');
    expect(email.text).toContain('  2. Passenger 2, seat to be confirmed');
  });

  test('seats-changed: the new seats in the subject and the body', () => {
    const email = composeEmail(
      'seats-changed',
      {
        ...facts,
        passengers: [
          { name: 'Asha Rao', seat: '14C' },
          { name: 'Zoë Müller', seat: '14D' },
        ],
      },
      'INR',
    );
    expect(email.subject).toBe('Booking K7QP2M (booking 7): new seats 14C, 14D on flight AI-101');
    expect(email.text).toContain('Your seats now:\n\n  1. Asha Rao, seat 14C\n  2. Zoë Müller, seat 14D');
    // Listed once: the facts below the new seats do not repeat the passengers.
    expect(email.text.match(/Asha Rao/g)).toHaveLength(1);
    expect(email.text).not.toContain('Passengers:');
    expect(email.text).toContain('Locator:   K7QP2M');
  });

  test('booking.seats-changed of a BOOKED booking asks for an email; of an unpaid one, none', () => {
    const booked = bookingEvent('booking.seats-changed', 8, {
      status: 'BOOKED',
      previousStatus: 'BOOKED',
      passengers,
    });
    expect(parseBookingEvent(Buffer.from(JSON.stringify(booked)))).toEqual(booked);
    expect(decideOnEvent(undefined, booked, 'INR').email).toMatchObject({
      kind: 'seats-changed',
      eventId: booked.eventId,
    });
    const unpaid = bookingEvent('booking.seats-changed', 8, { status: 'INITIATED', passengers });
    expect(decideOnEvent(undefined, unpaid, 'INR').email).toBeNull();
    // What we remember feeds the reminders: the newest passengers and the locator.
    expect(decideOnEvent(undefined, booked, 'INR').booking).toMatchObject({ passengers, status: 'BOOKED' });
  });
});

describe('through RabbitMQ', () => {
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

  test('a confirmation names the locator and each passenger with their seat', async () => {
    const bookingId = newBookingId();
    await world.broker.publishEvent(
      service.amqp.exchange,
      bookingEvent('booking.confirmed', bookingId, { locator: 'K7QP2M', passengers }),
    );
    const [email] = await eventually(
      () => sink.about(bookingId, 'confirmation').length === 1 && sink.about(bookingId),
    );
    expect(email.subject).toBe(`Booking K7QP2M (booking ${bookingId}) confirmed: flight AI-101 DEL → BOM`);
    expect(email.text).toContain('Locator:   K7QP2M');
    expect(email.text).toContain('  1. Asha Rao, seat 12A\n  2. Zoë Müller, seat 12B');
  });

  test('each seat change of a BOOKED booking is one email naming the new seats; a redelivery sends none', async () => {
    const bookingId = newBookingId();
    await world.broker.publishEvent(
      service.amqp.exchange,
      bookingEvent('booking.confirmed', bookingId, { locator: 'Q2W3E4', passengers }),
    );
    await eventually(() => sink.about(bookingId, 'confirmation').length === 1);
    const first = bookingEvent('booking.seats-changed', bookingId, {
      status: 'BOOKED',
      previousStatus: 'BOOKED',
      locator: 'Q2W3E4',
      passengers: [
        { name: 'Asha Rao', seat: '14C' },
        { name: 'Zoë Müller', seat: '14D' },
      ],
    });
    await world.broker.publishEvent(service.amqp.exchange, first);
    await world.broker.publishEvent(service.amqp.exchange, first);
    const second = bookingEvent('booking.seats-changed', bookingId, {
      status: 'BOOKED',
      previousStatus: 'BOOKED',
      locator: 'Q2W3E4',
      passengers: [
        { name: 'Asha Rao', seat: '2A' },
        { name: 'Zoë Müller', seat: '2B' },
      ],
    });
    await world.broker.publishEvent(service.amqp.exchange, second);
    const emails = await eventually(
      () => sink.about(bookingId, 'seats-changed').length === 2 && sink.about(bookingId, 'seats-changed'),
    );
    expect(emails.map((e) => e.subject).sort()).toEqual([
      `Booking Q2W3E4 (booking ${bookingId}): new seats 14C, 14D on flight AI-101`,
      `Booking Q2W3E4 (booking ${bookingId}): new seats 2A, 2B on flight AI-101`,
    ]);
    // The duplicate of the first event went through before a later marker: still two.
    const marker = newBookingId();
    await world.broker.publishEvent(service.amqp.exchange, bookingEvent('booking.confirmed', marker));
    await eventually(() => sink.about(marker).length === 1);
    await sleep(300);
    expect(sink.about(bookingId, 'seats-changed')).toHaveLength(2);
    const rows = await world.notifications(service, bookingId);
    expect(rows.map((r) => [r.kind, r.status])).toEqual([
      ['confirmation', 'SENT'],
      ['seats-changed', 'SENT'],
      ['seats-changed', 'SENT'],
    ]);
  });

  test('a seat change of an unpaid booking sends nothing', async () => {
    const bookingId = newBookingId();
    await world.broker.publishEvent(
      service.amqp.exchange,
      bookingEvent('booking.seats-changed', bookingId, { status: 'INITIATED', passengers }),
    );
    const marker = newBookingId();
    await world.broker.publishEvent(service.amqp.exchange, bookingEvent('booking.confirmed', marker));
    await eventually(() => sink.about(marker).length === 1);
    await sleep(300);
    expect(sink.about(bookingId)).toEqual([]);
    expect(await world.notifications(service, bookingId)).toEqual([]);
  });
});
