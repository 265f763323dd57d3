import fc from 'fast-check';
import { bookingEventSchema } from '@skyway/common';
import { loadConfig } from '../src/config';
import {
  buildEvent,
  cancelRefusal,
  paymentRefusal,
  toBookingView,
  totalCostOf,
  type BookingRecord,
} from '../src/domain/booking';
import { SimulatedPaymentProvider } from '../src/domain/payment-provider';
import {
  abandonPayment,
  cancelByUser,
  confirmPayment,
  expire,
  giveUpHold,
  startPayment,
} from '../src/domain/transitions';
import { canonicalJson, requestFingerprint } from '../src/http/idempotency';

const now = new Date('2026-12-01T10:00:00.000Z');
const booking = (over: Partial<BookingRecord> = {}): BookingRecord => ({
  id: 7,
  flightId: 3,
  userId: 42,
  userEmail: 'a@b.test',
  flightNumber: 'SW1',
  departureAirportCode: 'DEL',
  arrivalAirportCode: 'BOM',
  departureTime: new Date('2026-12-08T10:00:00.000Z'),
  noOfSeats: 2,
  totalCost: 9000,
  status: 'INITIATED',
  cancelReason: null,
  seatsState: 'HELD',
  expiresAt: new Date('2026-12-01T10:10:00.000Z'),
  createdAt: now,
  updatedAt: now,
  ...over,
});

describe('booking rules', () => {
  test('payment refusals follow the contract order of concerns', () => {
    expect(paymentRefusal(booking(), 9000, now)).toBeUndefined();
    expect(paymentRefusal(booking(), 9001, now)).toBe('wrong-amount');
    expect(paymentRefusal(booking({ status: 'BOOKED' }), 9000, now)).toBe('already-booked');
    expect(paymentRefusal(booking({ status: 'PENDING' }), 9000, now)).toBe('in-progress');
    // A PENDING booking untouched since before the abandonment instant belongs to a dead attempt.
    const stale = booking({ status: 'PENDING', updatedAt: new Date(now.getTime() - 60_000) });
    expect(paymentRefusal(stale, 9000, now, new Date(now.getTime() - 35_000))).toBeUndefined();
    expect(paymentRefusal(stale, 9000, now, new Date(now.getTime() - 90_000))).toBe('in-progress');
    expect(paymentRefusal(stale, 9001, now, new Date(now.getTime() - 35_000))).toBe('wrong-amount');
    expect(paymentRefusal(booking({ status: 'CANCELLED' }), 9000, now)).toBe('cancelled');
    expect(paymentRefusal(booking({ expiresAt: now }), 9000, now)).toBe('expired');
  });

  test('cancel refusals: a payment in progress, a departed BOOKED flight', () => {
    expect(cancelRefusal(booking(), now)).toBeUndefined();
    expect(cancelRefusal(booking({ status: 'BOOKED' }), now)).toBeUndefined();
    expect(cancelRefusal(booking({ status: 'PENDING' }), now)).toBe('payment-in-progress');
    expect(cancelRefusal(booking({ status: 'BOOKED', departureTime: now }), now)).toBe('departed');
  });

  test('totalCost is price × seats in minor units', () => {
    expect(totalCostOf(450000, 3)).toBe(1350000);
  });

  test('the view has the contract fields and ISO-8601 UTC times', () => {
    expect(toBookingView(booking())).toEqual({
      id: 7,
      flightId: 3,
      userId: 42,
      noOfSeats: 2,
      totalCost: 9000,
      status: 'INITIATED',
      cancelReason: null,
      expiresAt: '2026-12-01T10:10:00.000Z',
      createdAt: '2026-12-01T10:00:00.000Z',
      updatedAt: '2026-12-01T10:00:00.000Z',
    });
  });

  test('events match the shared event schema and carry the previous status', () => {
    const e = buildEvent('booking.cancelled', booking({ status: 'CANCELLED' }), 'BOOKED', now);
    expect(bookingEventSchema.parse(e)).toEqual(e);
    expect(e.data).toMatchObject({
      status: 'CANCELLED',
      previousStatus: 'BOOKED',
      departureTime: '2026-12-08T10:00:00.000Z',
    });
    expect(buildEvent('booking.created', booking(), undefined, now).data).not.toHaveProperty(
      'previousStatus',
    );
  });
});

describe('idempotency fingerprints', () => {
  test('the same JSON written in another key order has the same fingerprint', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (obj) => {
        const reversed = Object.fromEntries(Object.entries(obj).reverse());
        expect(canonicalJson(reversed)).toBe(canonicalJson(obj));
        expect(requestFingerprint('POST', '/p', reversed)).toBe(requestFingerprint('POST', '/p', obj));
      }),
    );
  });

  test('another value, path or method changes the fingerprint', () => {
    const f = requestFingerprint('POST', '/api/v1/payments', { bookingId: 1, amount: 5 });
    expect(requestFingerprint('POST', '/api/v1/payments', { bookingId: 1, amount: 6 })).not.toBe(f);
    expect(requestFingerprint('POST', '/api/v1/bookings', { bookingId: 1, amount: 5 })).not.toBe(f);
    expect(requestFingerprint('PUT', '/api/v1/payments', { bookingId: 1, amount: 5 })).not.toBe(f);
  });
});

describe('simulated payment provider', () => {
  test('charges once per idempotency key', async () => {
    const p = new SimulatedPaymentProvider();
    const a = await p.charge({ bookingId: 1, amount: 5, idempotencyKey: 'k' });
    const b = await p.charge({ bookingId: 1, amount: 5, idempotencyKey: 'k' });
    expect(b).toEqual(a);
    expect(p.charges).toHaveLength(1);
  });
});

describe('configuration', () => {
  test('defaults from the contract', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      BOOKING_SERVICE_PORT: 3002,
      FLIGHT_SERVICE_URL: ['http://127.0.0.1:3001'],
      BOOKING_TTL_SECONDS: 600,
      SWEEPER_CRON: '*/30 * * * * *',
      AMQP_URL: 'amqp://guest:guest@127.0.0.1:5672',
      AMQP_NAME_PREFIX: '',
      IDEMPOTENCY_KEY_TTL_HOURS: 24,
      UPSTREAM_TIMEOUT_MS: 10000,
      MIGRATE_ON_START: true,
      dbName: 'bookings',
    });
    expect(loadConfig({ DB_NAME_PREFIX: 't_' }).dbName).toBe('t_bookings');
    expect(loadConfig({ FLIGHT_SERVICE_URL: 'http://a:1, http://b:2/' }).FLIGHT_SERVICE_URL).toEqual([
      'http://a:1',
      'http://b:2',
    ]);
  });

  test.each([
    [{ SWEEPER_CRON: 'every minute' }, 'SWEEPER_CRON'],
    [{ BOOKING_TTL_SECONDS: '-1' }, 'BOOKING_TTL_SECONDS'],
    [{ AMQP_URL: 'http://rabbit' }, 'AMQP_URL'],
    [{ IDEMPOTENCY_KEY_TTL_HOURS: '1' }, 'IDEMPOTENCY_KEY_TTL_HOURS'],
    [{ FLIGHT_SERVICE_URL: 'ftp://x' }, 'FLIGHT_SERVICE_URL'],
    [{ NODE_ENV: 'production' }, 'INTERNAL_TOKEN'],
  ])('%j is refused with one line naming %s', (env, name) => {
    expect(() => loadConfig(env)).toThrow(new RegExp(`^Invalid configuration: ${name}`));
  });

  test('production does not migrate on start unless asked', () => {
    expect(loadConfig({ NODE_ENV: 'production', INTERNAL_TOKEN: 's3cret' }).MIGRATE_ON_START).toBe(false);
  });
});

describe('booking transitions (new state + its event, or a refusal)', () => {
  const owner = { userId: 42, role: 'customer' };
  const later = new Date(now.getTime() + 1000);

  test('a user cancel: CANCELLED/USER, seats RELEASING under a lease, booking.cancelled; refusals and no-ops', () => {
    const d = cancelByUser(booking(), owner, later, 30);
    expect(d.kind).toBe('cancelled');
    if (d.kind !== 'cancelled') return;
    expect(d.change.booking).toMatchObject({
      status: 'CANCELLED',
      cancelReason: 'USER',
      seatsState: 'RELEASING',
    });
    expect(d.change.releaseLeaseUntil).toEqual(new Date(later.getTime() + 30_000));
    expect(bookingEventSchema.parse(d.change.event)).toMatchObject({
      type: 'booking.cancelled',
      data: { status: 'CANCELLED', previousStatus: 'INITIATED' },
    });
    expect(cancelByUser(booking(), { userId: 43, role: 'customer' }, later, 30)).toEqual({
      kind: 'refused',
      refusal: 'not-found',
    });
    expect(cancelByUser(booking({ status: 'PENDING' }), owner, later, 30)).toEqual({
      kind: 'refused',
      refusal: 'payment-in-progress',
    });
    expect(cancelByUser(booking({ status: 'CANCELLED' }), owner, later, 30).kind).toBe('unchanged');
  });

  test('expiry and giving up a hold', () => {
    const expired = expire(booking({ status: 'PENDING' }), later, 30);
    expect(expired.booking).toMatchObject({
      status: 'CANCELLED',
      cancelReason: 'EXPIRED',
      seatsState: 'RELEASING',
    });
    expect(expired.event).toMatchObject({ type: 'booking.expired', data: { previousStatus: 'PENDING' } });
    expect(expire(booking({ seatsState: 'RELEASED' }), later, 30).releaseLeaseUntil).toBeUndefined();

    const holding = booking({ seatsState: 'HOLDING' });
    expect(giveUpHold(holding, false, later, 30)).toMatchObject({
      booking: { status: 'CANCELLED', cancelReason: 'RESERVATION_FAILED', seatsState: 'RELEASED' },
      releaseLeaseUntil: null,
    });
    expect(giveUpHold(holding, true, later, 30)?.event).toBeUndefined();
    expect(giveUpHold(booking(), true, later, 30)).toBeUndefined();
  });

  test('a payment: PENDING stamped with its start, BOOKED with booking.confirmed only for that attempt', () => {
    const started = startPayment(booking(), 9000, now, new Date(now.getTime() - 35_000));
    expect(started.kind).toBe('started');
    if (started.kind !== 'started') return;
    const pending = started.change.booking;
    expect(pending).toMatchObject({ status: 'PENDING', updatedAt: now });
    expect(startPayment(booking(), 1, now, now)).toEqual({ kind: 'refused', refusal: 'wrong-amount' });

    const confirmed = confirmPayment(pending, now, later);
    expect(confirmed?.booking.status).toBe('BOOKED');
    expect(confirmed?.event).toMatchObject({
      type: 'booking.confirmed',
      data: { status: 'BOOKED', previousStatus: 'PENDING' },
    });
    // Another attempt took the booking over since (its PENDING carries another mark): neither completes nor undoes.
    expect(confirmPayment(pending, later, later)).toBeUndefined();
    expect(abandonPayment(pending, later, later)).toBeUndefined();
    expect(abandonPayment(pending, now, later)?.booking.status).toBe('INITIATED');
  });
});
