import fs from 'node:fs';
import { testDbServer } from '@skyway/common/testing';
import { FaultProxy } from '@skyway/testkit';
import { checkInvariants, recordEmailTimes, settle, type Window } from './support/invariants';
import { BookingLoad, callWithDeadline, customers, flights, type Customer } from './support/load';
import { eventually, startStack, type ServiceName, type Stack } from './support/stack';

/**
 * Network faults between the services and their shared dependencies, injected by TCP proxies (the shared
 * MariaDB and RabbitMQ are never touched): booking-service and flight-service reach MariaDB through their own
 * proxy each, booking-service and notification-service reach RabbitMQ through theirs.
 */

/** No request may take longer than this, fault or not: a 503 must come from the service, fast. */
const REQUEST_BOUND_MS = 5000;
/** The client's own deadline: a request that had no answer by then counts as hung. */
const CLIENT_DEADLINE_MS = 15_000;
const CUT_MS = 5000;
const TICK_MS = 1000;
const SWEEP_SLACK_MS = 1000;
const PAYMENT_TIMEOUT_S = 3;
/** booking-service's flight cache (its default), named so the hung-flight case can wait it out. */
const FLIGHT_CACHE_TTL_MS = 2000;
/** Gateway → service and booking-service → flight-service timeout in this file (10 s by default). */
const UPSTREAM_TIMEOUT_MS = 3000;
const FLIGHT_CALL_ATTEMPTS = 3;

const AMQP_PORT = Number(new URL(process.env.AMQP_URL || 'amqp://guest:guest@127.0.0.1:5672').port || 5672);

let stack: Stack;
let dbBooking: FaultProxy;
let dbFlight: FaultProxy;
let mqBooking: FaultProxy;
let mqNotification: FaultProxy;
/** booking-service → flight-service. */
let flightLink: FaultProxy;
let emailTimes: number[];
let people: Customer[];
let flightIds: number[];
const sweeperPauses: Window[] = [];
const pids: Partial<Record<ServiceName, number | undefined>> = {};

const amqpVia = (p: FaultProxy) => `amqp://guest:guest@127.0.0.1:${p.port}`;

beforeAll(async () => {
  const dbPort = testDbServer().DB_PORT;
  [dbBooking, dbFlight, mqBooking, mqNotification, flightLink] = await Promise.all([
    FaultProxy.start(dbPort),
    FaultProxy.start(dbPort),
    FaultProxy.start(AMQP_PORT),
    FaultProxy.start(AMQP_PORT),
    // flight-service's port is chosen by startStack: the proxy is pointed at it once known.
    FaultProxy.start(1),
  ]);
  stack = await startStack(
    {
      BOOKING_TTL_SECONDS: '6',
      SWEEPER_CRON: '* * * * * *',
      PAYMENT_TIMEOUT_SECONDS: String(PAYMENT_TIMEOUT_S),
      RELEASE_RETRY_SECONDS: '2',
      SEND_LEASE_MS: '3000',
      SMTP_TIMEOUT_MS: '1500',
      FAILED_RETRY_CRON: '* * * * * *',
      RETRY_BASE_DELAY_MS: '200',
      RETRY_MAX_DELAY_MS: '2000',
      UPSTREAM_TIMEOUT_MS: String(UPSTREAM_TIMEOUT_MS),
      FLIGHT_CALL_ATTEMPTS: String(FLIGHT_CALL_ATTEMPTS),
      FLIGHT_CACHE_TTL_MS: String(FLIGHT_CACHE_TTL_MS),
    },
    {
      serviceEnv: {
        'booking-service': {
          DB_PORT: String(dbBooking.port),
          AMQP_URL: amqpVia(mqBooking),
          FLIGHT_SERVICE_URL: `http://127.0.0.1:${flightLink.port}`,
        },
        'flight-service': { DB_PORT: String(dbFlight.port) },
        'notification-service': { AMQP_URL: amqpVia(mqNotification) },
      },
    },
  );
  flightLink.retarget(Number(new URL(stack.flight).port));
  emailTimes = recordEmailTimes(stack);
  for (const s of ['flight-service', 'booking-service', 'notification-service', 'api-gateway'] as const) {
    pids[s] = stack.pid(s);
  }
  people = await customers(stack.gateway, 'fault', 8);
  flightIds = await flights(stack.gateway, 2, 180, 'FLT');
}, 180_000);

afterAll(async () => {
  // The services' logs, for a post-mortem: E2E_LOGS=/tmp/faults.log npx jest e2e/test/faults.test.ts …
  if (process.env.E2E_LOGS) fs.writeFileSync(process.env.E2E_LOGS, stack?.logs.join('\n') ?? '');
  await stack?.stop();
  await Promise.all([dbBooking, dbFlight, mqBooking, mqNotification, flightLink].map((p) => p?.close()));
});

const ready = async (base: string) => (await callWithDeadline(base, 'GET', '/ready', 5000)).status;

async function expectInvariants(label: string, load?: BookingLoad): Promise<void> {
  const pending = await settle(stack, 60_000);
  const report = await checkInvariants(stack, {
    load,
    tickMs: TICK_MS,
    slackMs: SWEEP_SLACK_MS,
    paymentTimeoutMs: PAYMENT_TIMEOUT_S * 1000,
    sweeperPauses,
    emailReceivedAt: emailTimes,
  });
  const violations = [...pending.map((p) => `not settled: ${p}`), ...report.violations];
  console.log(`${label}\n${JSON.stringify({ ...report.counts, violations: violations.length }, null, 1)}`);
  expect(violations).toEqual([]);
  // Recovered without a restart: the same processes are still serving.
  for (const [name, pid] of Object.entries(pids)) expect(stack.pid(name as ServiceName)).toBe(pid);
}

describe('MariaDB unreachable for 5 s under a booking load', () => {
  test('503 problems fast, /ready 503 during the cut, recovery without restart, invariants hold', async () => {
    const load = new BookingLoad({
      gateway: stack.gateway,
      customers: people,
      flightIds,
      requestTimeoutMs: CLIENT_DEADLINE_MS,
      payRetryMs: 20_000,
    });
    load.start();
    try {
      await eventually(
        () => [...load.bookings.values()].filter((b) => b.paid).length >= 10,
        60_000,
        'warm-up',
      );

      const cutAt = Date.now();
      await Promise.all([dbBooking.cut(), dbFlight.cut()]);
      // Readiness says so while the cut lasts (each probe is bounded by the services' 2 s check timeout).
      const seen = await eventually(
        async () => {
          const [b, f] = await Promise.all([ready(stack.booking), ready(stack.flight)]);
          return b === 503 && f === 503 && Date.now();
        },
        CUT_MS - 500,
        '/ready 503 on both services',
      );
      const health = await callWithDeadline(stack.gateway, 'GET', '/api/v1/health', 5000);
      expect(health.status).toBe(503);
      expect(health.body.status).toBe('degraded');
      // The outage lasts CUT_MS: a fault's duration, not a wait for a condition.
      await new Promise((r) => setTimeout(r, Math.max(0, cutAt + CUT_MS - Date.now())));
      await Promise.all([dbBooking.heal(), dbFlight.heal()]);
      const healedAt = Date.now();

      await eventually(
        async () => (await ready(stack.booking)) === 200 && (await ready(stack.flight)) === 200,
        20_000,
        'both services ready again',
      );
      const recoveredAt = Date.now();
      sweeperPauses.push({ from: cutAt, to: recoveredAt });
      // Business as usual again: new bookings get paid after the heal.
      const paidBefore = [...load.bookings.values()].filter((b) => b.paid).length;
      await eventually(
        () => [...load.bookings.values()].filter((b) => b.paid).length >= paidBefore + 5,
        30_000,
        'payments after the heal',
      );
      await load.stop();

      const during = load.requests.filter((r) => r.startedAt >= cutAt && r.startedAt < healedAt);
      const slowest = Math.max(...load.requests.map((r) => r.ms));
      console.log(
        `database cut: ${CUT_MS} ms; /ready 503 after ${seen - cutAt} ms; ready again ${recoveredAt - healedAt} ms after the heal; ` +
          `requests ${load.requests.length} (${during.length} started during the cut), slowest ${slowest} ms; ` +
          `faults injected ${dbBooking.stats.faults + dbFlight.stats.faults}\n${JSON.stringify(load.summary())}`,
      );
      // The cut bit: requests during it were refused with 503 …
      expect(during.filter((r) => r.outcome === 503).length).toBeGreaterThan(0);
      // … and every answer of the whole run was a service's own answer, fast: no 500, no 502/504, no hang.
      const bad = load.requests.filter(
        (r) =>
          typeof r.outcome !== 'number' || (r.outcome >= 500 && r.outcome !== 503) || r.ms > REQUEST_BOUND_MS,
      );
      expect(bad).toEqual([]);
      for (const r of load.requests.filter((x) => typeof x.outcome === 'number' && x.outcome >= 400)) {
        expect(r.type).toMatch(/^application\/problem\+json/);
      }
      // A payment retried with its key after the outage ends with an answer, not a key stuck "in progress".
      const stuck = [...load.bookings.values()].filter(
        (b) => b.intent === 'pay' && !b.paid && b.payOutcome !== 410,
      );
      expect(stuck.map((b) => ({ id: b.id, last: b.payOutcome, detail: b.payDetail }))).toEqual([]);
    } finally {
      await load.stop();
      await Promise.all([dbBooking.heal(), dbFlight.heal()]);
    }
    await expectInvariants('after the database cut', load);
  }, 180_000);
});

describe('RabbitMQ unreachable during payments', () => {
  /** Books and pays one booking per customer, in parallel; every payment must succeed at once. */
  async function bookAndPay(tag: string): Promise<number[]> {
    const ids = await Promise.all(
      people.map(async (c, i) => {
        const booked = await callWithDeadline(stack.gateway, 'POST', '/api/v1/bookings', CLIENT_DEADLINE_MS, {
          token: c.token,
          body: { flightId: flightIds[i % flightIds.length], noOfSeats: 1 },
        });
        expect(booked.status).toBe(201);
        const started = Date.now();
        const paid = await callWithDeadline(stack.gateway, 'POST', '/api/v1/payments', CLIENT_DEADLINE_MS, {
          token: c.token,
          body: { bookingId: booked.body.id, amount: booked.body.totalCost },
          headers: { 'Idempotency-Key': `${tag}-${booked.body.id}` },
        });
        expect(paid.status).toBe(201);
        expect(Date.now() - started).toBeLessThan(REQUEST_BOUND_MS);
        return booked.body.id as number;
      }),
    );
    return ids;
  }

  const emailsAbout = (ids: number[]) => ids.flatMap((id) => stack.smtp.about(id, 'confirmation'));
  const unpublished = async () => {
    const [[r]] = (await stack.db.query(
      `SELECT COUNT(*) AS n FROM \`${stack.prefix}bookings\`.outbox_events WHERE published_at IS NULL`,
    )) as unknown as [[{ n: number }]];
    return Number(r.n);
  };

  test('payments succeed, events wait and arrive later, exactly one email per confirmed booking', async () => {
    // 1. booking-service cut off the broker: payments still succeed, their events wait in the outbox.
    await mqBooking.cut();
    await eventually(async () => (await ready(stack.booking)) === 503, 10_000, 'booking /ready 503');
    const first = await bookAndPay('mq1');
    expect(await unpublished()).toBeGreaterThanOrEqual(first.length);
    expect(emailsAbout(first)).toEqual([]);

    // 2. booking-service back, notification-service cut off: events are published into the durable queue,
    //    still no email.
    await mqNotification.cut();
    await eventually(
      async () => (await ready(stack.notification)) === 503,
      10_000,
      'notification /ready 503',
    );
    await mqBooking.heal();
    const second = await bookAndPay('mq2');
    await eventually(async () => (await unpublished()) === 0, 30_000, 'outbox relayed after the heal');
    expect(emailsAbout([...first, ...second])).toEqual([]);

    // 3. notification-service back: every confirmation arrives, once.
    await mqNotification.heal();
    await eventually(
      () => [...first, ...second].every((id) => stack.smtp.about(id, 'confirmation').length > 0),
      60_000,
      'confirmation emails after the heal',
    );
    for (const id of [...first, ...second]) expect(stack.smtp.about(id, 'confirmation')).toHaveLength(1);
    await eventually(
      async () => (await ready(stack.booking)) === 200 && (await ready(stack.notification)) === 200,
      30_000,
      'both ready again',
    );
    await expectInvariants('after the broker cuts');
  }, 180_000);

  test('a flapping broker under payment load: every confirmed booking gets exactly one email', async () => {
    const load = new BookingLoad({
      gateway: stack.gateway,
      customers: people,
      flightIds,
      requestTimeoutMs: CLIENT_DEADLINE_MS,
      payRetryMs: 10_000,
      payShare: 0.9,
      cancelShare: 0,
    });
    load.start();
    let flaps = 0;
    try {
      // Cut each side's broker connection repeatedly while events flow: publishes lose their confirms, deliveries
      // lose their acks, so RabbitMQ and the relay redeliver — the consumer must dedupe by eventId.
      const until = Date.now() + 8000;
      for (let i = 0; Date.now() < until; i++) {
        const proxy = i % 2 === 0 ? mqBooking : mqNotification;
        await proxy.cut();
        await new Promise((r) => setTimeout(r, 300 + Math.random() * 400));
        await proxy.heal();
        flaps++;
        await new Promise((r) => setTimeout(r, 300 + Math.random() * 400));
      }
    } finally {
      await load.stop();
      await Promise.all([mqBooking.heal(), mqNotification.heal()]);
    }
    console.log(`broker flaps: ${flaps}\n${JSON.stringify(load.summary())}`);
    const bad = load.requests.filter(
      (r) => typeof r.outcome !== 'number' || r.outcome >= 500 || r.ms > REQUEST_BOUND_MS,
    );
    expect(bad).toEqual([]);
    expect([...load.bookings.values()].filter((b) => b.paid).length).toBeGreaterThan(0);
    await expectInvariants('after the flapping broker', load);
  }, 180_000);
});

describe('MariaDB blackholed (a partition: packets vanish, nothing is refused)', () => {
  test('no request hangs: each ends within the bound, and the services recover after the heal', async () => {
    const load = new BookingLoad({
      gateway: stack.gateway,
      customers: people,
      flightIds,
      requestTimeoutMs: CLIENT_DEADLINE_MS,
      payRetryMs: 30_000,
    });
    load.start();
    let from = 0;
    let healedAt = 0;
    try {
      await eventually(() => load.requests.filter((r) => r.outcome === 201).length >= 5, 60_000, 'warm-up');
      from = Date.now();
      dbBooking.blackhole();
      dbFlight.blackhole();
      const probe = await callWithDeadline(stack.booking, 'GET', '/ready', 10_000);
      expect(probe.status).toBe(503);
      await new Promise((r) => setTimeout(r, Math.max(0, from + CUT_MS - Date.now())));
      await Promise.all([dbBooking.heal(), dbFlight.heal()]);
      healedAt = Date.now();
      await eventually(
        async () => (await ready(stack.booking)) === 200 && (await ready(stack.flight)) === 200,
        30_000,
        'ready after the partition',
      );
      const paid = [...load.bookings.values()].filter((b) => b.paid).length;
      await eventually(
        () => [...load.bookings.values()].filter((b) => b.paid).length >= paid + 5,
        30_000,
        'payments after the partition',
      );
    } finally {
      await load.stop();
      await Promise.all([dbBooking.heal(), dbFlight.heal()]);
    }
    sweeperPauses.push({ from, to: Date.now() });
    // A query on a pooled connection waits for an answer that does not come (no statement timeout): the
    // gateway bounds what the client sees with a 504 at UPSTREAM_TIMEOUT_MS. The heal resets the blackholed
    // connections, so nothing outlives the partition by more than the bound. (A real partition sends no reset:
    // see RELIABILITY.md for what a request costs then.)
    const during = (r: { startedAt: number; ms: number }) =>
      r.startedAt < healedAt && r.startedAt + r.ms > from;
    const bad = load.requests.filter(
      (r) =>
        typeof r.outcome !== 'number' ||
        (r.outcome >= 500 && r.outcome !== 503 && !(r.outcome === 504 && during(r))) ||
        (r.outcome === 504 && r.ms > UPSTREAM_TIMEOUT_MS + 2000) ||
        r.ms > CUT_MS + REQUEST_BOUND_MS,
    );
    expect(bad).toEqual([]);
    const slowest = [...load.requests].sort((a, b) => b.ms - a.ms).slice(0, 5);
    console.log(
      `database blackholed ${healedAt - from} ms: ${JSON.stringify(load.summary())}; slowest ${JSON.stringify(slowest)}`,
    );
    await expectInvariants('after the database partition', load);
  }, 180_000);
});

describe('flight-service hung (blackholed) behind booking-service', () => {
  test('the gateway answers 504 at UPSTREAM_TIMEOUT_MS; booking-service gives up after its attempts; nothing is held', async () => {
    const c = people[0];
    const requestId = `hung-flight-${Date.now()}`;
    // The case under test is a hung flight lookup, the saga's first step: let booking-service's short flight
    // cache (which would skip the lookup and go straight to the hold) forget the flight first.
    await new Promise((r) => setTimeout(r, FLIGHT_CACHE_TTL_MS + 200));
    flightLink.blackhole();
    const t0 = Date.now();
    let gatewayMs = 0;
    let serviceMs = 0;
    try {
      const r = await callWithDeadline(stack.gateway, 'POST', '/api/v1/bookings', CLIENT_DEADLINE_MS, {
        token: c.token,
        body: { flightId: flightIds[0], noOfSeats: 1 },
        headers: { 'X-Request-Id': requestId },
      });
      gatewayMs = Date.now() - t0;
      expect(r.status).toBe(504);
      expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(gatewayMs).toBeLessThan(UPSTREAM_TIMEOUT_MS + 2000);
      // The request goes on inside booking-service: each attempt waits for its own timeout.
      await eventually(
        () => stack.logs.some((l) => l.includes(requestId) && l.includes('flight-service cannot be reached')),
        FLIGHT_CALL_ATTEMPTS * UPSTREAM_TIMEOUT_MS + 10_000,
        'booking-service giving up',
      );
      serviceMs = Date.now() - t0;
      expect(serviceMs).toBeLessThan(FLIGHT_CALL_ATTEMPTS * UPSTREAM_TIMEOUT_MS + 5000);
    } finally {
      await flightLink.heal();
    }
    console.log(
      `hung flight-service: gateway 504 after ${gatewayMs} ms; booking-service gave up after ${serviceMs} ms ` +
        `(UPSTREAM_TIMEOUT_MS ${UPSTREAM_TIMEOUT_MS} × FLIGHT_CALL_ATTEMPTS ${FLIGHT_CALL_ATTEMPTS})`,
    );
    // The flight lookup is the saga's first step: it failed, so no booking was recorded and no seat held.
    const [rows] = (await stack.db.query(
      `SELECT COUNT(*) AS n FROM \`${stack.prefix}bookings\`.bookings WHERE user_id = ? AND created_at >= FROM_UNIXTIME(? / 1000)`,
      [c.id, t0],
    )) as unknown as [[{ n: number }]];
    expect(Number(rows[0].n)).toBe(0);
    await expectInvariants('after the hung flight-service');
  }, 120_000);
});
