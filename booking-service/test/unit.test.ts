import fc from 'fast-check';
import { bookingEventSchema } from '@skyway/common';
import { loadConfig } from '../src/config';
import {
  buildEvent,
  cancelRefusal,
  paymentRefusal,
  toBookingView,
  totalCostOf,
  unpaidSeatsAllowance,
  unpaidSeatsRefusal,
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
import { completeSeatChange, learnSeats, startSeatChange } from '../src/domain/transitions';
import {
  LOCATOR_ALPHABET,
  LOCATOR_SYNTAX,
  nameRefusal,
  newLocator,
  normaliseName,
} from '../src/domain/seats';
import { bookingCreate, pageQuery, seatChange } from '../src/http/schemas';
import { seatErrorsAs } from '../src/app/bookings';

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
  locator: 'K7QP2M',
  passengers: [
    { name: 'Asha Rao', seat: '12A' },
    { name: 'Ravi Rao', seat: '12B' },
  ],
  seatsToLearn: false,
  seatChange: null,
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
      locator: 'K7QP2M',
      passengers: [
        { name: 'Asha Rao', seat: '12A' },
        { name: 'Ravi Rao', seat: '12B' },
      ],
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

describe('seats, passengers and locators (rules on plain values)', () => {
  const owner = { userId: 42, role: 'customer' };
  const later = new Date(now.getTime() + 1000);

  test("passenger names: letters of any script with combining marks, spaces, . ' -; 1–100 after trimming", () => {
    for (const ok of [
      'Asha Rao',
      "O'Brien",
      'Jean-Luc Picard',
      'J. R. R. Tolkien',
      '李小龍',
      'Zoë',
      'देवनागरी',
    ]) {
      expect([ok, nameRefusal(normaliseName(ok))]).toEqual([ok, undefined]);
    }
    // A decomposed "José" (e + U+0301) is a letter with its mark, and stored composed.
    expect(nameRefusal(normaliseName('Jose\u0301'))).toBeUndefined();
    expect(normaliseName('  Jose\u0301 ')).toBe('Jos\u00e9');
    for (const bad of [
      '',
      '   ',
      'R2-D2',
      'a_b',
      'Robert); DROP',
      '\u0301abc',
      '...',
      'tab\there',
      'x'.repeat(101),
    ]) {
      expect([bad, nameRefusal(normaliseName(bad))]).toEqual([bad, expect.any(String)]);
    }
    expect(nameRefusal('x'.repeat(100))).toBeUndefined();
  });

  test('the create body: passengers or noOfSeats, agreeing when both; seats like 12A, none twice', () => {
    const parse = (body: unknown) => bookingCreate.safeParse(body);
    const paths = (body: unknown) => {
      const r = parse(body);
      return r.success ? [] : r.error.issues.map((i) => i.path.join('.'));
    };
    expect(parse({ flightId: 1, noOfSeats: 2 }).data).toEqual({
      flightId: 1,
      passengers: [
        { name: null, seat: null },
        { name: null, seat: null },
      ],
    });
    expect(
      parse({ flightId: 1, passengers: [{ name: ' Asha ', seat: '12A' }, { name: 'Ravi' }] }).data,
    ).toEqual({
      flightId: 1,
      passengers: [
        { name: 'Asha', seat: '12A' },
        { name: 'Ravi', seat: null },
      ],
    });
    expect(parse({ flightId: 1, noOfSeats: 1, passengers: [{ name: 'Asha' }] }).success).toBe(true);
    expect(paths({ flightId: 1, noOfSeats: 2, passengers: [{ name: 'Asha' }] })).toEqual(['noOfSeats']);
    expect(paths({ flightId: 1 })).toEqual(['noOfSeats']);
    expect(paths({ flightId: 1, passengers: [] })).toEqual(['passengers']);
    expect(paths({ flightId: 1, passengers: Array.from({ length: 11 }, () => ({ name: 'A' })) })).toEqual([
      'passengers',
    ]);
    expect(paths({ flightId: 1, passengers: [{ name: 'A', seat: '12I' }] })).toEqual(['passengers.0.seat']);
    expect(paths({ flightId: 1, passengers: [{ name: 'A', seat: '0A' }] })).toEqual(['passengers.0.seat']);
    expect(paths({ flightId: 1, passengers: [{ name: 'A', seat: '10000A' }] })).toEqual([
      'passengers.0.seat',
    ]);
    expect(paths({ flightId: 1, passengers: [{ name: '' }] })).toEqual(['passengers.0.name']);
    expect(
      paths({
        flightId: 1,
        passengers: [{ name: 'A', seat: '3C' }, { name: 'B' }, { name: 'C', seat: '3C' }],
      }),
    ).toEqual(['passengers.2.seat']);
    expect(
      seatChange.safeParse({ seats: ['14C', '14C'] }).error?.issues.map((i) => i.path.join('.')),
    ).toEqual(['seats.1']);
    expect(seatChange.safeParse({ seats: [] }).success).toBe(false);
    expect(pageQuery.safeParse({ locator: 'K7QP2M' }).success).toBe(true);
    for (const bad of ['K7QP2', 'K7QP2MM', 'k7qp2m', 'K7QP0M', 'K7QPIM']) {
      expect([bad, pageQuery.safeParse({ locator: bad }).success]).toEqual([bad, false]);
    }
  });

  test('locators: 6 characters of the alphabet, random, every character reachable', () => {
    const seen = new Set<string>();
    const chars = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const l = newLocator();
      expect(l).toMatch(LOCATOR_SYNTAX);
      seen.add(l);
      for (const c of l) chars.add(c);
    }
    expect(seen.size).toBe(2000);
    expect([...chars].sort().join('')).toBe([...LOCATOR_ALPHABET].sort().join(''));
    // Every byte maps to a character (no rejection, no bias: 256 = 8 × 32).
    expect(newLocator(() => Uint8Array.from([0, 31, 32, 63, 255, 128]))).toBe('A9A99A');
  });

  test("flight-service's seatNumbers.<i> become the client's paths; other errors are not mapped", () => {
    expect(seatErrorsAs([{ path: 'seatNumbers.1', message: 'not on the map' }], 'passengers.%.seat')).toEqual(
      [{ path: 'passengers.1.seat', message: 'not on the map' }],
    );
    expect(seatErrorsAs([{ path: 'seats', message: 'x' }], 'seats.%')).toBeUndefined();
    expect(seatErrorsAs(undefined, 'seats.%')).toBeUndefined();
  });

  test('a seat change: refusals in order, unchanged, intent first, recover a stale one', () => {
    const start = (b: BookingRecord, seats = ['14C', '14D'], at = later) =>
      startSeatChange(b, owner, seats, 'c-1', at, 60_000);
    expect(
      startSeatChange(booking(), { userId: 43, role: 'customer' }, ['14C', '14D'], 'c', later, 1),
    ).toEqual({
      kind: 'refused',
      refusal: { kind: 'not-found' },
    });
    expect(startSeatChange(booking(), { userId: 1, role: 'admin' }, ['14C', '14D'], 'c', later, 1).kind).toBe(
      'started',
    );
    expect(start(booking(), ['14C'])).toEqual({
      kind: 'refused',
      refusal: { kind: 'seat-count', expected: 2 },
    });
    expect(start(booking({ status: 'PENDING' }))).toMatchObject({ refusal: { kind: 'payment-in-progress' } });
    expect(start(booking({ status: 'CANCELLED' }))).toMatchObject({ refusal: { kind: 'not-changeable' } });
    expect(start(booking({ expiresAt: now }))).toMatchObject({
      refusal: { kind: 'not-changeable', expired: true },
    });
    expect(start(booking({ status: 'BOOKED', departureTime: now }))).toMatchObject({
      refusal: { kind: 'departed' },
    });
    expect(start(booking({ status: 'BOOKED' }), ['12A', '12B'])).toMatchObject({ kind: 'unchanged' });
    // The same seats swapped between the two passengers is a change.
    expect(start(booking(), ['12B', '12A']).kind).toBe('started');
    const started = start(booking());
    expect(started).toMatchObject({
      kind: 'started',
      pending: { changeId: 'c-1', seats: ['14C', '14D'], leaseUntil: new Date(later.getTime() + 60_000) },
    });
    if (started.kind !== 'started') return;
    const pending = started.change.booking;
    expect(pending.updatedAt).toEqual(now);
    expect(start(pending)).toMatchObject({ refusal: { kind: 'change-in-progress' } });
    expect(start(pending, ['14C', '14D'], new Date(later.getTime() + 60_000))).toMatchObject({
      kind: 'recover-first',
      pending: { changeId: 'c-1' },
    });
  });

  test("completing a change records flight-service's seats; seats-changed only for a BOOKED booking", () => {
    const pendingChange = { changeId: 'c-1', seats: ['14C', '14D'], leaseUntil: later };
    const initiated = booking({ seatChange: pendingChange });
    const applied = { kind: 'applied' as const, seats: ['14C', '14D'], changed: true };
    const done = completeSeatChange(initiated, 'c-1', applied, later);
    expect(done?.booking).toMatchObject({
      seatChange: null,
      updatedAt: later,
      passengers: [
        { name: 'Asha Rao', seat: '14C' },
        { name: 'Ravi Rao', seat: '14D' },
      ],
    });
    expect(done?.event).toBeUndefined();
    const booked = completeSeatChange({ ...initiated, status: 'BOOKED' }, 'c-1', applied, later);
    expect(bookingEventSchema.parse(booked?.event)).toMatchObject({
      type: 'booking.seats-changed',
      data: {
        status: 'BOOKED',
        locator: 'K7QP2M',
        passengers: [
          { name: 'Asha Rao', seat: '14C' },
          { name: 'Ravi Rao', seat: '14D' },
        ],
      },
    });
    // Another change id, or nothing applied: the intent is someone else's, or just cleared.
    expect(completeSeatChange(initiated, 'c-2', applied, later)).toBeUndefined();
    const refused = completeSeatChange(
      { ...initiated, status: 'BOOKED' },
      'c-1',
      { kind: 'not-applied' },
      later,
    );
    expect(refused).toEqual({ booking: { ...initiated, status: 'BOOKED', seatChange: null } });
    expect(
      completeSeatChange({ ...initiated, status: 'CANCELLED' }, 'c-1', applied, later)?.booking,
    ).toMatchObject({
      seatChange: null,
      passengers: initiated.passengers,
    });
  });

  test('a pre-seat booking learns its seats once, not during a seat change', () => {
    const legacy = booking({
      seatsToLearn: true,
      passengers: [
        { name: null, seat: null },
        { name: null, seat: null },
      ],
    });
    expect(learnSeats(legacy, ['3A', '3B'])?.booking).toMatchObject({
      seatsToLearn: false,
      passengers: [
        { name: null, seat: '3A' },
        { name: null, seat: '3B' },
      ],
    });
    expect(learnSeats(booking(), ['3A', '3B'])).toBeUndefined();
    expect(
      learnSeats({ ...legacy, seatChange: { changeId: 'c', seats: ['1A', '1B'], leaseUntil: later } }, [
        '3A',
        '3B',
      ]),
    ).toBeUndefined();
    expect(learnSeats({ ...legacy, status: 'CANCELLED' }, [])?.booking).toMatchObject({
      seatsToLearn: false,
      passengers: legacy.passengers,
    });
  });
});

describe('unpaid seat caps', () => {
  const caps = { perFlight: 10, total: 12 };
  test('the allowance the store guards with and the refusal are one rule, at every boundary', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 0, max: 14 }),
        fc.integer({ min: 0, max: 14 }),
        (requested, onFlight, others) => {
          const unpaid = { onFlight, total: onFlight + others };
          const allowed = unpaidSeatsAllowance(requested, caps);
          const guardLetsIn = unpaid.onFlight <= allowed.onFlight && unpaid.total <= allowed.total;
          const refusal = unpaidSeatsRefusal(unpaid, requested, caps);
          expect(refusal === undefined).toBe(guardLetsIn);
          // Allowed exactly when the seats after the booking stay within both caps.
          expect(guardLetsIn).toBe(
            onFlight + requested <= caps.perFlight && unpaid.total + requested <= caps.total,
          );
        },
      ),
    );
  });

  test('a refusal names the cap that was hit, per flight first', () => {
    expect(unpaidSeatsAllowance(2, caps)).toEqual({ onFlight: 8, total: 10 });
    expect(unpaidSeatsRefusal({ onFlight: 9, total: 12 }, 2, caps)).toEqual({
      cap: 'per-flight',
      limit: 10,
      unpaid: 9,
    });
    expect(unpaidSeatsRefusal({ onFlight: 0, total: 11 }, 2, caps)).toEqual({
      cap: 'total',
      limit: 12,
      unpaid: 11,
    });
    expect(unpaidSeatsRefusal({ onFlight: 8, total: 10 }, 2, caps)).toBeUndefined();
  });
});
