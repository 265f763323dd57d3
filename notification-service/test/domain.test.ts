import fc from 'fast-check';
import { applyEvent, emailKindFor, isDueReminder } from '../src/domain/bookings';
import { retryDelayMs, retryDelaySchedule } from '../src/domain/delivery';
import { composeEmail, formatMoney } from '../src/domain/emails';
import { loadConfig } from '../src/config';
import { bookingEvent, HOUR } from './helpers/events';

describe('formatMoney', () => {
  it('shows integer minor units with two decimals, the currency code and no thousands separator', () => {
    expect(formatMoney(900000, 'INR')).toBe('INR 9000.00');
    expect(formatMoney(123456789, 'INR')).toBe('INR 1234567.89');
    expect(formatMoney(5, 'INR')).toBe('INR 0.05');
    expect(formatMoney(0, 'USD')).toBe('USD 0.00');
  });

  it('is exact for every safe integer (no floating-point rounding)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (n) => {
        const [, amount] = formatMoney(n, 'INR').split(' ');
        expect(amount).toMatch(/^\d+\.\d{2}$/);
        expect(BigInt(amount.replace('.', ''))).toBe(BigInt(n));
      }),
    );
  });

  it('refuses fractions', () => {
    expect(() => formatMoney(1.5, 'INR')).toThrow(RangeError);
  });
});

describe('composeEmail', () => {
  const facts = {
    bookingId: 42,
    flightNumber: 'AI-101',
    departureAirportCode: 'DEL',
    arrivalAirportCode: 'BOM',
    departureTime: '2030-01-15T12:00:00+05:30',
    noOfSeats: 2,
    totalCost: 900000,
  };

  it.each(['confirmation', 'cancellation', 'reminder'] as const)('a %s names every fact, in UTC', (kind) => {
    const { subject, text } = composeEmail(kind, facts, 'INR');
    expect(subject).toContain('AI-101 DEL → BOM');
    for (const line of [
      'Booking:   42',
      'Flight:    AI-101',
      'Route:     DEL → BOM',
      'Departure: 2030-01-15T06:30:00.000Z',
      'Seats:     2',
      'Total:     INR 9000.00',
    ]) {
      expect(text).toContain(line);
    }
  });
});

describe('which email an event calls for', () => {
  it('confirmation for booking.confirmed; nothing for created and expired', () => {
    expect(emailKindFor(bookingEvent('booking.confirmed', 1), undefined)).toBe('confirmation');
    expect(emailKindFor(bookingEvent('booking.created', 1), undefined)).toBeNull();
    expect(emailKindFor(bookingEvent('booking.expired', 1), undefined)).toBeNull();
  });

  it('a cancellation notice only when the booking was BOOKED (the event says so, or we saw it confirmed)', () => {
    const cancelled = bookingEvent('booking.cancelled', 1);
    expect(emailKindFor(cancelled, undefined)).toBeNull();
    expect(emailKindFor(bookingEvent('booking.cancelled', 1, { previousStatus: 'BOOKED' }), undefined)).toBe(
      'cancellation',
    );
    expect(
      emailKindFor(bookingEvent('booking.cancelled', 1, { previousStatus: 'INITIATED' }), undefined),
    ).toBeNull();
    const confirmed = applyEvent(undefined, bookingEvent('booking.confirmed', 1));
    expect(emailKindFor(cancelled, confirmed)).toBe('cancellation');
  });
});

describe('the booking record', () => {
  it('an older event arriving late does not roll the status back, but still records that it was BOOKED', () => {
    const t0 = new Date('2030-01-01T00:00:00Z');
    const t1 = new Date('2030-01-01T00:05:00Z');
    const cancelled = applyEvent(undefined, bookingEvent('booking.cancelled', 1, {}, t1));
    const late = applyEvent(cancelled, bookingEvent('booking.confirmed', 1, {}, t0));
    expect(late.status).toBe('CANCELLED');
    expect(late.confirmedAt).toEqual(t0);
  });

  it('is due a reminder only when BOOKED and departing within the lead time', () => {
    const now = new Date('2030-01-01T00:00:00Z');
    const at = (h: number) => new Date(now.getTime() + h * HOUR);
    expect(isDueReminder({ status: 'BOOKED', departureTime: at(23) }, now, 24 * HOUR)).toBe(true);
    expect(isDueReminder({ status: 'BOOKED', departureTime: at(24) }, now, 24 * HOUR)).toBe(true);
    expect(isDueReminder({ status: 'BOOKED', departureTime: at(25) }, now, 24 * HOUR)).toBe(false);
    expect(isDueReminder({ status: 'BOOKED', departureTime: at(-1) }, now, 24 * HOUR)).toBe(false);
    expect(isDueReminder({ status: 'CANCELLED', departureTime: at(2) }, now, 24 * HOUR)).toBe(false);
  });
});

describe('retry delays', () => {
  it('double from the base up to the cap, one retry queue per distinct delay', () => {
    expect([1, 2, 3, 4, 5].map((n) => retryDelayMs(n, 2000, 10_000))).toEqual([
      2000, 4000, 8000, 10_000, 10_000,
    ]);
    expect(retryDelaySchedule(5, 2000, 300_000)).toEqual([2000, 4000, 8000, 16_000]);
    expect(retryDelaySchedule(6, 2000, 10_000)).toEqual([2000, 4000, 8000, 10_000]);
  });
});

describe('configuration', () => {
  it('has the documented defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      NOTIFICATION_SERVICE_PORT: 3003,
      AMQP_URL: 'amqp://guest:guest@127.0.0.1:5672',
      AMQP_NAME_PREFIX: '',
      MAIL_FROM: 'Skyway <no-reply@skyway.local>',
      CURRENCY: 'INR',
      MAX_DELIVERY_ATTEMPTS: 5,
      REMINDER_LEAD_HOURS: 24,
      MIGRATE_ON_START: true,
      dbName: 'notifications',
    });
    expect(c.SMTP_URL).toBeUndefined();
  });

  it.each([
    [{ SMTP_URL: 'http://mail' }, 'SMTP_URL'],
    [{ REMINDER_CRON: 'every day' }, 'REMINDER_CRON'],
    [{ MAX_DELIVERY_ATTEMPTS: '0' }, 'MAX_DELIVERY_ATTEMPTS'],
    [{ AMQP_URL: 'http://rabbit' }, 'AMQP_URL'],
    [{ CURRENCY: 'rupees' }, 'CURRENCY'],
  ])('names the bad variable in one line: %j', (env, name) => {
    expect(() => loadConfig(env)).toThrow(new RegExp(`^Invalid configuration: ${name} `));
  });
});
