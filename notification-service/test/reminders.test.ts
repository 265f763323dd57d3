import request from 'supertest';
import type { NotificationService } from '../src/main';
import { bookingEvent, HOUR, newBookingId } from './helpers/events';
import { TestWorld } from './helpers/service';
import { SmtpSink } from './helpers/smtp-sink';
import { eventually, sleep } from './helpers/wait';

const world = new TestWorld();
const sink = new SmtpSink();
let a: NotificationService;
let b: NotificationService;

const soon = () => new Date(Date.now() + 2 * HOUR).toISOString();

beforeAll(async () => {
  await sink.start();
  a = await world.start({ SMTP_URL: sink.url, REMINDER_LEAD_HOURS: '24' });
  b = await world.start({ SMTP_URL: sink.url, REMINDER_LEAD_HOURS: '24' });
  for (const s of [a, b]) await eventually(async () => (await request(s.url).get('/ready')).status === 200);
});

afterAll(async () => {
  await world.cleanup();
  await sink.stop();
});

/** Publishes the events and waits until the service has applied each one (and sent what it calls for). */
async function publishAndSettle(...events: ReturnType<typeof bookingEvent>[]): Promise<void> {
  for (const e of events) await world.broker.publishEvent(a.amqp.exchange, e);
  for (const e of events) {
    await eventually(async () => {
      const [booking] = await world.query<{ lastEventAt: Date }>(
        'SELECT lastEventAt FROM bookings WHERE bookingId = ?',
        [e.data.bookingId],
      );
      if (!booking || booking.lastEventAt.getTime() < Date.parse(e.occurredAt)) return false;
      const rows = await world.notifications(a, e.data.bookingId);
      return rows.every((r) => r.status === 'SENT');
    });
  }
}

describe('departure reminders', () => {
  it('a BOOKED booking departing within the lead time gets exactly one, with two replicas running the job at once', async () => {
    const due = newBookingId();
    const later = newBookingId();
    const cancelled = newBookingId();
    const unpaid = newBookingId();
    const departure = soon();
    await publishAndSettle(
      bookingEvent('booking.confirmed', due, { departureTime: departure, totalCost: 450000, noOfSeats: 1 }),
      bookingEvent('booking.confirmed', later, {
        departureTime: new Date(Date.now() + 48 * HOUR).toISOString(),
      }),
      bookingEvent('booking.confirmed', cancelled, { departureTime: soon() }),
      bookingEvent('booking.created', unpaid, { departureTime: soon() }),
    );
    await publishAndSettle(bookingEvent('booking.cancelled', cancelled, { departureTime: soon() }));
    expect(sink.about(cancelled, 'cancellation')).toHaveLength(1);

    for (let round = 0; round < 3; round++) {
      await Promise.all([a.jobs.reminders(), b.jobs.reminders()]);
    }

    const [reminder, ...more] = sink.about(due, 'reminder');
    expect(more).toEqual([]);
    expect(reminder.to).toEqual([`customer${due}@example.com`]);
    expect(reminder.subject).toBe(`Reminder: flight AI-101 DEL → BOM departs ${departure}`);
    expect(reminder.text).toContain(`Booking:   ${due}`);
    expect(reminder.text).toContain('Seats:     1');
    expect(reminder.text).toContain('Total:     INR 4500.00');
    expect(sink.about(later, 'reminder')).toEqual([]);
    expect(sink.about(cancelled, 'reminder')).toEqual([]);
    expect(sink.about(unpaid)).toEqual([]);
    const rows = await world.notifications(a, due);
    expect(rows.map((r) => [r.kind, r.status, r.eventId])).toEqual([
      ['confirmation', 'SENT', expect.any(String)],
      ['reminder', 'SENT', null],
    ]);
  });

  it('a restarted service sends no second reminder', async () => {
    const due = newBookingId();
    await publishAndSettle(bookingEvent('booking.confirmed', due, { departureTime: soon() }));
    await a.jobs.reminders();
    expect(sink.about(due, 'reminder')).toHaveLength(1);
    await a.close();
    a = await world.start({ SMTP_URL: sink.url });
    await Promise.all([a.jobs.reminders(), b.jobs.reminders()]);
    expect(sink.about(due, 'reminder')).toHaveLength(1);
  });

  it('the cron sends them on schedule: two replicas ticking every second still send one', async () => {
    const due = newBookingId();
    await publishAndSettle(bookingEvent('booking.confirmed', due, { departureTime: soon() }));
    const ticking = [
      await world.start({ SMTP_URL: sink.url, REMINDER_CRON: '* * * * * *' }),
      await world.start({ SMTP_URL: sink.url, REMINDER_CRON: '* * * * * *' }),
    ];
    await eventually(() => sink.about(due, 'reminder').length > 0, 10_000);
    await sleep(2500); // at least two more ticks on each replica
    expect(sink.about(due, 'reminder')).toHaveLength(1);
    for (const s of ticking) await s.close();
  });
});
