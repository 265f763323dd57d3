import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import amqp from 'amqplib';
import { amqpName, EVENTS_EXCHANGE } from '@skyway/common';
import { dashboardExpressions, metricNamesIn, parseMetrics, unboundedLabels } from './support/metrics';
import { rawRequest } from './support/raw-http';
import { eventually, freePort, INTERNAL_TOKEN, type ServiceName } from './support/stack';
import { gw, stack, useStack } from './support/use-stack';

/** Metrics, traces and access logs of a whole stack, read the way an operator's tools read them. */
useStack();

const SERVICES: ServiceName[] = ['api-gateway', 'flight-service', 'booking-service', 'notification-service'];

async function customer(tag: string): Promise<string> {
  const email = `${tag}.${Date.now()}.${randomBytes(3).toString('hex')}@example.com`;
  expect(
    (await gw('POST', '/api/v1/auth/signup', { body: { email, password: 'observe-me-please' } })).status,
  ).toBe(201);
  const signin = await gw('POST', '/api/v1/auth/signin', { body: { email, password: 'observe-me-please' } });
  return signin.body.token as string;
}

async function demoFlight(): Promise<{ id: number; price: number }> {
  return (await gw('GET', '/api/v1/flights?trips=DEL-BOM')).body.data[0];
}

/** Books one seat and pays for it, every request carrying `headers`; resolves once its confirmation email is in. */
async function bookAndPay(token: string, headers: Record<string, string> = {}): Promise<number> {
  const flight = await demoFlight();
  const booked = await gw('POST', '/api/v1/bookings', {
    token,
    headers,
    body: { flightId: flight.id, noOfSeats: 1 },
  });
  expect(booked.status).toBe(201);
  const paid = await gw('POST', '/api/v1/payments', {
    token,
    headers: { ...headers, 'Idempotency-Key': `obs-${booked.body.id}` },
    body: { bookingId: booked.body.id, amount: booked.body.totalCost },
  });
  expect(paid.status).toBe(201);
  const id = booked.body.id as number;
  await eventually(() => stack.smtp.about(id, 'confirmation').length === 1, 30_000, 'the confirmation email');
  return id;
}

/** Every JSON log line of `service` (the stack prefixes each line with the service's name). */
function logLines(service: ServiceName): Array<Record<string, unknown>> {
  return stack.logs
    .filter((l) => l.startsWith(`${service} {`))
    .map((l) => JSON.parse(l.slice(service.length + 1)) as Record<string, unknown>);
}

describe('the public port', () => {
  test('answers no metrics to an anonymous client, nor to one with a made-up token', async () => {
    const attempts: Array<Record<string, string>> = [
      {},
      { authorization: 'Bearer anything' },
      { 'x-internal-token': INTERNAL_TOKEN },
    ];
    for (const headers of attempts) {
      const res = await fetch(`${stack.gateway}/metrics`, { headers });
      const text = await res.text();
      expect([res.status, /# (HELP|TYPE)|http_requests_total/.test(text)]).toEqual([404, false]);
    }
    // The metrics listener is another port, and it serves the gateway's own metrics.
    const text = await (await fetch(stack.metrics['api-gateway'])).text();
    expect(text).toMatch(/^http_requests_total\{.*service="api-gateway"/m);
  });
});

describe('W3C Trace Context, gateway to email', () => {
  let conn: amqp.ChannelModel;
  let ch: amqp.Channel;
  const seen: amqp.ConsumeMessage[] = [];

  beforeAll(async () => {
    conn = await amqp.connect('amqp://guest:guest@127.0.0.1:5672');
    ch = await conn.createChannel();
    const exchange = amqpName(stack.prefix, EVENTS_EXCHANGE);
    await ch.assertExchange(exchange, 'topic', { durable: true });
    const { queue } = await ch.assertQueue('', { exclusive: true, autoDelete: true });
    await ch.bindQueue(queue, exchange, 'booking.*');
    await ch.consume(queue, (m) => m && seen.push(m), { noAck: true });
  });
  afterAll(async () => {
    await conn?.close();
  });

  test('the traceId a client sends is in log lines of all four processes and in the AMQP headers', async () => {
    const token = await customer('trace');
    const traceId = randomBytes(16).toString('hex');
    const traceparent = `00-${traceId}-${randomBytes(8).toString('hex')}-01`;
    const bookingId = await bookAndPay(token, { traceparent });

    // The gateway's and booking-service's access lines, flight-service's seat hold, the email.
    const tagged = (s: ServiceName) => logLines(s).filter((l) => l.traceId === traceId);
    await eventually(() => tagged('notification-service').some((l) => l.message === 'email sent'));
    for (const s of SERVICES) expect([s, tagged(s).length > 0]).toEqual([s, true]);
    for (const s of ['api-gateway', 'booking-service'] as const) {
      expect(tagged(s)).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            message: 'request',
            route: '/api/v1/bookings',
            method: 'POST',
            status: 201,
          }),
          expect.objectContaining({
            message: 'request',
            route: '/api/v1/payments',
            method: 'POST',
            status: 201,
          }),
        ]),
      );
    }
    expect(tagged('flight-service')).toEqual(
      expect.arrayContaining([expect.objectContaining({ message: 'request', method: 'PUT' })]),
    );
    expect(tagged('notification-service')).toEqual(
      expect.arrayContaining([expect.objectContaining({ message: 'email sent', bookingId })]),
    );
    // Every access line names its request and its trace.
    for (const line of tagged('api-gateway').filter((l) => l.message === 'request')) {
      expect(line).toEqual(
        expect.objectContaining({
          requestId: expect.any(String),
          spanId: expect.stringMatching(/^[0-9a-f]{16}$/),
        }),
      );
      expect(line.durationMs).toEqual(expect.any(Number));
    }

    // Both events of the booking went out with the trace in their headers (the relay published them later).
    const events = await eventually(() => {
      const mine = seen.filter((m) => JSON.parse(m.content.toString()).data.bookingId === bookingId);
      return mine.length >= 2 && mine;
    });
    for (const m of events) {
      const header = String(m.properties.headers?.traceparent ?? '');
      expect([m.properties.type, header.split('-')[1]]).toEqual([m.properties.type, traceId]);
    }
    const [outbox] = (await stack.db.query(
      `SELECT DISTINCT traceparent FROM \`${stack.prefix}bookings\`.outbox_events WHERE booking_id = ?`,
      [bookingId],
    )) as unknown as [Array<{ traceparent: string }>];
    expect([...new Set(outbox.map((r) => r.traceparent.split('-')[1]))]).toEqual([traceId]);
  });

  test('a malformed traceparent starts a new trace, which the services then share', async () => {
    const token = await customer('badtrace');
    const bad = `00-${'0'.repeat(32)}-${randomBytes(8).toString('hex')}-01`;
    const requestId = `obs-${randomBytes(6).toString('hex')}`;
    const flight = await demoFlight();
    const res = await gw('POST', '/api/v1/bookings', {
      token,
      headers: { traceparent: bad, 'x-request-id': requestId },
      body: { flightId: flight.id, noOfSeats: 1 },
    });
    expect(res.status).toBe(201);
    const line = await eventually(() =>
      logLines('api-gateway').find((l) => l.requestId === requestId && l.message === 'request'),
    );
    expect(line.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(line.traceId).not.toBe('0'.repeat(32));
    const downstream = await eventually(() =>
      logLines('booking-service').find((l) => l.requestId === requestId && l.message === 'request'),
    );
    expect(downstream.traceId).toBe(line.traceId);
  });
});

describe('a real Prometheus scraping the stack', () => {
  let prom: ChildProcess | undefined;
  let promUrl = '';
  let dir = '';

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skyway-prom-'));
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    const jobs = SERVICES.map((s) => {
      const url = new URL(stack.metrics[s]);
      return `  - job_name: ${s}\n    metrics_path: ${url.pathname}\n    static_configs:\n      - targets: ['${url.host}']\n`;
    });
    fs.writeFileSync(
      path.join(dir, 'prometheus.yml'),
      `global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\nscrape_configs:\n${jobs.join('')}`,
    );
    prom = spawn(
      'prometheus',
      [
        `--config.file=${path.join(dir, 'prometheus.yml')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        `--storage.tsdb.path=${path.join(dir, 'data')}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    prom.stderr?.setEncoding('utf8');
    prom.stderr?.on('data', (c: string) => process.stderr.write(`prometheus: ${c}`));
    await eventually(async () => (await fetch(`${promUrl}/-/ready`).catch(() => undefined))?.ok, 30_000);
  }, 60_000);

  afterAll(async () => {
    if (prom?.pid && prom.exitCode === null) {
      await new Promise<void>((resolve) => {
        prom!.once('exit', () => resolve());
        process.kill(prom!.pid!, 'SIGTERM');
      });
    }
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** The value of an instant PromQL query that yields one number (0 when it yields nothing). */
  async function value(query: string): Promise<number> {
    const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(query)}`);
    const body = (await res.json()) as {
      status: string;
      data: { result: Array<{ value: [number, string] }> };
    };
    expect(body.status).toBe('success');
    return body.data.result.length ? Number(body.data.result[0].value[1]) : 0;
  }

  const QUERIES = {
    created: 'sum(bookings_total{outcome="created"})',
    confirmed: 'sum(bookings_total{outcome="confirmed"})',
    gatewayBookings:
      'sum(http_requests_total{job="api-gateway",route="/api/v1/bookings",method="POST",status="201"})',
    serviceBookings:
      'sum(http_requests_total{job="booking-service",route="/api/v1/bookings",method="POST",status="201"})',
    gatewayPayments:
      'sum(http_requests_total{job="api-gateway",route="/api/v1/payments",method="POST",status="201"})',
    published: 'sum(outbox_events_published_total{type="booking.confirmed"})',
    consumed: 'sum(notification_events_total{outcome="consumed"})',
    emails: 'sum(notification_emails_total{outcome="sent",kind="confirmation"})',
  };

  test('every target is up, and a booking + payment moves the booking and request counters by one', async () => {
    await eventually(async () => (await value('sum(up)')) === SERVICES.length, 30_000, 'all four targets up');
    // Scraped at least twice since (so the values below are the current ones), and nothing else books now.
    const scraped = async () => (await value('min(count_over_time(up[1m]))')) >= 2;
    await eventually(scraped, 30_000, 'two scrapes');
    const before = Object.fromEntries(
      await Promise.all(Object.entries(QUERIES).map(async ([k, q]) => [k, await value(q)] as const)),
    );

    await bookAndPay(await customer('prom'));

    // Two events (created, confirmed) are consumed; everything else moves by one.
    const expected = Object.fromEntries(
      Object.keys(QUERIES).map((k) => [k, before[k] + (k === 'consumed' ? 2 : 1)]),
    );
    // The signup and signin of `customer` are requests too, but not these (route, method, status) series.
    const current = async () =>
      Object.fromEntries(
        await Promise.all(Object.entries(QUERIES).map(async ([k, q]) => [k, await value(q)] as const)),
      );
    await eventually(
      async () => JSON.stringify(await current()) === JSON.stringify(expected),
      30_000,
      'the counters to move by one',
    ).catch(() => undefined);
    expect(await current()).toEqual(expected);
    const up = await fetch(`${promUrl}/api/v1/targets`).then((r) => r.json());
    const health = (
      up as { data: { activeTargets: Array<{ health: string; labels: { job: string } }> } }
    ).data.activeTargets
      .map((t) => [t.labels.job, t.health])
      .sort();
    expect(health).toEqual(SERVICES.map((s) => [s, 'up']).sort());
    // The DB pool, process and outbox gauges are there too.
    for (const q of ['db_pool_connections_in_use', 'nodejs_eventloop_lag_p99_seconds', 'outbox_backlog']) {
      expect([q, await value(`count(${q})`)]).toEqual([q, q === 'outbox_backlog' ? 1 : SERVICES.length]);
    }
  });
});

test('every metric the dashboard and the alerts query is exported by a running service', async () => {
  const texts = await Promise.all(SERVICES.map(async (s) => (await fetch(stack.metrics[s])).text()));
  // A metric is declared by its # TYPE line even before its first sample (a counter nothing has counted yet).
  const exported = new Set(
    texts
      .flatMap((t) => [...t.matchAll(/^# TYPE (\S+) (\S+)$/gm)])
      .flatMap(([, name, type]) =>
        type === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name],
      ),
  );
  exported.add('up');
  const used = [...new Set(dashboardExpressions().flatMap(metricNamesIn))];
  expect(used.filter((n) => !exported.has(n))).toEqual([]);
});

describe('metric cardinality', () => {
  test('after many odd paths and ids, no label value carries an id or a raw path', async () => {
    const token = await customer('cardinality');
    const pick = <T>(xs: T[]) => xs[Math.floor(Math.random() * xs.length)];
    const id = () =>
      pick([String(Math.floor(Math.random() * 1e9)), randomBytes(16).toString('hex'), '0', '-1', 'abc']);
    const shapes = [
      () => `/api/v1/bookings/${id()}`,
      () => `/api/v1/bookings/${id()}/cancel`,
      () => `/api/v1/flights/${id()}`,
      () => `/api/v1/cities/${id()}`,
      () => `/api/v1/auth/users/${id()}/role`,
      () => `/api/v1/${id()}/${id()}`,
      () => `/${id()}`,
      () => `/api/v1/flights/${id()}/%2e%2e/${id()}`,
      () => `/api/v1/bookings/${id()}?page=${id()}`,
      () => `/internal/reservations/${id()}`,
      () => `/api/v1/flights/${id()}/seats/${id()}`,
    ];
    const bases = [stack.gateway, stack.flight, stack.booking, stack.notification];
    for (let i = 0; i < 300; i++) {
      const base = pick(bases);
      const method = pick(['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'PROPFIND', 'BREW']);
      const headers: Array<[string, string]> = [['authorization', `Bearer ${token}`]];
      if (base !== stack.gateway && Math.random() < 0.5) headers.push(['x-internal-token', INTERNAL_TOKEN]);
      const res = await rawRequest(base, { method, target: pick(shapes)(), headers });
      expect(res.status).toBeGreaterThanOrEqual(200);
    }
    for (const s of SERVICES) {
      const samples = parseMetrics(await (await fetch(stack.metrics[s])).text());
      expect(samples.length).toBeGreaterThan(50);
      expect([s, unboundedLabels(samples)]).toEqual([s, []]);
      // The odd paths were counted, under `unmatched` or their template.
      expect(samples.some((x) => x.name === 'http_requests_total' && x.labels.route === 'unmatched')).toBe(
        true,
      );
    }
  });
});
