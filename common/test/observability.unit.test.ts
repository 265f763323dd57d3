import { PassThrough } from 'node:stream';
import express from 'express';
import request from 'supertest';
import {
  contextFromHeaders,
  createLogger,
  createServiceMetrics,
  currentTraceIds,
  currentTraceparent,
  initTracing,
  injectTraceHeaders,
  observability,
  prettyLogs,
  requestId,
  SpanKind,
  templateMatcher,
  withSpan,
} from '../src';
import { context, trace } from '@opentelemetry/api';

initTracing('unit');

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';
const VALID = `00-${TRACE}-${PARENT}-01`;

/** The trace id the context from these headers continues ('' when it starts afresh). */
const traceOf = (headers: Record<string, unknown>) =>
  trace.getSpanContext(contextFromHeaders(headers))?.traceId ?? '';

describe('trace context from headers', () => {
  test('a valid traceparent is continued, in HTTP (string) and AMQP (Buffer) headers alike', () => {
    expect(traceOf({ traceparent: VALID })).toBe(TRACE);
    expect(traceOf({ traceparent: Buffer.from(VALID) })).toBe(TRACE);
    expect(trace.getSpanContext(contextFromHeaders({ traceparent: VALID }))?.spanId).toBe(PARENT);
  });

  test.each([
    ['absent', undefined],
    ['empty', ''],
    ['garbage', 'not-a-traceparent'],
    ['all-zero trace id', `00-${'0'.repeat(32)}-${PARENT}-01`],
    ['all-zero parent id', `00-${TRACE}-${'0'.repeat(16)}-01`],
    ['version ff', `ff-${TRACE}-${PARENT}-01`],
    ['upper-case hex', `00-${TRACE.toUpperCase()}-${PARENT}-01`],
    ['short trace id', `00-${TRACE.slice(1)}-${PARENT}-01`],
    ['trailing junk', `${VALID}-x`],
  ])('%s: no parent, so the next span starts a new trace', (_what, value) => {
    expect(traceOf(value === undefined ? {} : { traceparent: value })).toBe('');
  });

  test('a span started from an invalid one gets a fresh, valid trace id', async () => {
    const ids = await withSpan(
      'x',
      SpanKind.SERVER,
      () => currentTraceIds(),
      contextFromHeaders({ traceparent: 'bad' }),
    );
    expect(ids.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(ids.traceId).not.toBe('0'.repeat(32));
  });

  test('inject writes the active span, replacing a traceparent already there', async () => {
    await withSpan(
      'child',
      SpanKind.CLIENT,
      (span) => {
        const headers = injectTraceHeaders({ traceparent: 'stale', tracestate: 'stale' });
        expect(headers.traceparent).toBe(`00-${TRACE}-${span.spanContext().spanId}-01`);
        expect(headers.tracestate).toBeUndefined();
        expect(currentTraceparent()).toBe(headers.traceparent);
      },
      contextFromHeaders({ traceparent: VALID }),
    );
    // Outside any span there is nothing to carry on.
    expect(context.with(context.active(), () => currentTraceparent())).toBeNull();
    expect(injectTraceHeaders({ traceparent: 'stale' })).toEqual({});
  });
});

describe('spans without an exporter carry context only', () => {
  const spanIn = (traceparent: string | undefined, tracestate?: string) =>
    trace
      .getTracer('t')
      .startSpan('s', {}, contextFromHeaders(traceparent ? { traceparent, tracestate } : {}))
      .spanContext();

  test('a child keeps its parent’s trace, flags and tracestate, with a span id of its own', () => {
    const sampled = spanIn(VALID, 'vendor=abc');
    expect(sampled).toMatchObject({ traceId: TRACE, traceFlags: 1 });
    expect(sampled.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(sampled.spanId).not.toBe(PARENT);
    expect(sampled.traceState?.serialize()).toBe('vendor=abc');
    // An unsampled parent stays unsampled downstream: the services do not turn a caller's decision around.
    expect(spanIn(`00-${TRACE}-${PARENT}-00`)).toMatchObject({ traceId: TRACE, traceFlags: 0 });
    expect(
      context.with(trace.setSpanContext(context.active(), spanIn(VALID, 'vendor=abc')), () =>
        injectTraceHeaders({}),
      ),
    ).toEqual({
      traceparent: expect.stringMatching(new RegExp(`^00-${TRACE}-[0-9a-f]{16}-01$`)),
      tracestate: 'vendor=abc',
    });
  });

  test('without a valid parent a span starts a new, sampled trace; every span has a new id', () => {
    const a = spanIn(undefined);
    const b = spanIn(undefined);
    expect(a.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(a.traceFlags).toBe(1);
    expect(a.traceId).not.toBe(b.traceId);
    expect(new Set(Array.from({ length: 1000 }, () => spanIn(VALID).spanId)).size).toBe(1000);
  });

  test('startActiveSpan runs its callback with the new span active, in the parent’s trace', () => {
    const parent = contextFromHeaders({ traceparent: VALID });
    const seen = trace.getTracer('t').startActiveSpan('s', {}, parent, (span) => ({
      active: trace.getSpan(context.active())?.spanContext(),
      own: span.spanContext(),
    }));
    expect(seen.active).toEqual(seen.own);
    expect(seen.own).toMatchObject({ traceId: TRACE });
    expect(seen.own.spanId).not.toBe(PARENT);
    // Outside the callback the span is not active.
    expect(trace.getSpan(context.active())).toBeUndefined();
  });

  test('they record nothing: attributes, names and ends are accepted and ignored', () => {
    const span = trace.getTracer('t').startSpan('s');
    span.setAttribute('k', 'v').updateName('other').end();
    expect(span.isRecording()).toBe(false);
  });
});

describe('the request middleware', () => {
  function app() {
    const lines: Array<Record<string, unknown>> = [];
    const stream = new PassThrough();
    stream.on('data', (c: Buffer) => lines.push(JSON.parse(c.toString())));
    const logger = createLogger('unit', 'info', stream);
    const metrics = createServiceMetrics('unit');
    const a = express();
    a.use(requestId);
    a.use(observability(metrics, logger));
    a.get('/health', (_req, res) => void res.json({ ok: true }));
    a.get('/things/:id', (_req, res) => {
      logger.info('inside');
      res.json({ headers: injectTraceHeaders({}) });
    });
    return { app: a, lines };
  }

  test('continues a valid traceparent; the access line and the handler’s lines carry its trace id', async () => {
    const { app: a, lines } = app();
    const res = await request(a).get('/things/42').set('traceparent', VALID);
    expect(res.body.headers.traceparent).toMatch(new RegExp(`^00-${TRACE}-[0-9a-f]{16}-01$`));
    await new Promise((r) => setImmediate(r));
    expect(lines.find((l) => l.message === 'inside')).toMatchObject({ traceId: TRACE });
    expect(lines.find((l) => l.message === 'request')).toMatchObject({
      traceId: TRACE,
      method: 'GET',
      route: '/things/:id',
      status: 200,
      requestId: res.headers['x-request-id'],
    });
  });

  test('an invalid traceparent starts a new trace; health and metrics are not access-logged', async () => {
    const { app: a, lines } = app();
    const res = await request(a)
      .get('/things/1')
      .set('traceparent', `00-${'0'.repeat(32)}-${PARENT}-01`);
    const sent = String(res.body.headers.traceparent);
    expect(sent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(sent).not.toContain('0'.repeat(32));
    await request(a).get('/health');
    const metrics = await request(a).get('/metrics');
    expect(metrics.text).toMatch(/^http_requests_total\{method="GET",route="\/things\/:id",status="200"/m);
    expect(metrics.text).toMatch(/route="\/health"/);
    await new Promise((r) => setImmediate(r));
    expect(lines.filter((l) => l.message === 'request').map((l) => l.route)).toEqual(['/things/:id']);
  });

  test('a path no route matched is counted as unmatched, never by its raw path', async () => {
    const { app: a } = app();
    await request(a).get('/nothing/12345');
    const text = (await request(a).get('/metrics')).text;
    expect(text).toMatch(/route="unmatched",status="404"/);
    expect(text).not.toContain('12345');
  });
});

describe('route templates from OpenAPI paths', () => {
  const match = templateMatcher(['/api/v1/flights', '/api/v1/flights/{id}', '/api/v1/bookings/{id}/cancel']);
  test.each([
    ['/api/v1/flights', '/api/v1/flights'],
    ['/api/v1/flights/', '/api/v1/flights'],
    ['/api/v1/flights/77', '/api/v1/flights/:id'],
    ['/api/v1/bookings/9/cancel', '/api/v1/bookings/:id/cancel'],
    ['/api/v1/flights/7/x', undefined],
    ['/api/v1/bookings/9', undefined],
  ])('%s → %s', (path, template) => {
    expect(match(path)).toBe(template);
  });
});

test('logs are pretty only at a terminal outside production', () => {
  expect(prettyLogs({ NODE_ENV: 'development' }, true)).toBe(true);
  expect(prettyLogs({ NODE_ENV: 'production' }, true)).toBe(false);
  expect(prettyLogs({ NODE_ENV: 'development' }, false)).toBe(false);
  // npm start in a terminal asks for pretty lines through the pipe; json always wins, production is JSON.
  expect(prettyLogs({ NODE_ENV: 'development', LOG_FORMAT: 'pretty' }, false)).toBe(true);
  expect(prettyLogs({ NODE_ENV: 'development', LOG_FORMAT: 'json' }, true)).toBe(false);
  expect(prettyLogs({ NODE_ENV: 'production', LOG_FORMAT: 'pretty' }, true)).toBe(false);
});
