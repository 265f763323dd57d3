import { execFile } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';

/**
 * With OTEL_EXPORTER_OTLP_ENDPOINT set, spans are recorded by the SDK and exported over OTLP/HTTP; without it they
 * only carry context and nothing is sent. A child Node process (the built `common/dist`, as the services run it;
 * the exporter's dynamic `import('http')` does not run inside Jest's module sandbox) starts a span in a caller's
 * trace, and a collector of the test's own (an HTTP server on a free port) records what arrives.
 */
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';
const COMMON = path.resolve(__dirname, '..', 'dist');
const received: Array<{ path: string; body: string }> = [];
let collector: http.Server;
let endpoint: string;

beforeAll(async () => {
  collector = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      received.push({ path: req.url ?? '', body });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((resolve) => collector.close(resolve)));

/** Runs one server span in the trace TRACE (parent PARENT) in a fresh process; its ids and whether it recorded. */
async function spanInChild(env: Record<string, string>) {
  const script = `
    const c = require(${JSON.stringify(COMMON)});
    c.initTracing('export-test');
    c.withSpan('POST /api/v1/bookings', c.SpanKind.SERVER,
      (span) => ({ ...c.currentTraceIds(), recording: span.isRecording() }),
      c.contextFromHeaders({ traceparent: '00-${TRACE}-${PARENT}-01' }))
      .then(async (out) => { await c.shutdownTracing(); console.log(JSON.stringify(out)); });`;
  const parentEnv = { ...process.env };
  delete parentEnv.OTEL_EXPORTER_OTLP_ENDPOINT;
  delete parentEnv.OTEL_SDK_DISABLED;
  const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], {
    env: { ...parentEnv, ...env },
    timeout: 20_000,
  });
  return JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as {
    traceId: string;
    spanId: string;
    recording: boolean;
  };
}

test('with an OTLP endpoint the span is recorded and reaches the collector, in the caller’s trace', async () => {
  received.length = 0;
  const out = await spanInChild({
    OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
  });
  expect(out).toMatchObject({ traceId: TRACE, recording: true });
  expect(received.map((r) => r.path)).toEqual(['/v1/traces']);
  const exported = JSON.parse(received[0].body) as {
    resourceSpans: Array<{
      resource: { attributes: Array<{ key: string; value: { stringValue?: string } }> };
      scopeSpans: Array<{
        spans: Array<{ traceId: string; spanId: string; parentSpanId: string; name: string }>;
      }>;
    }>;
  };
  const [resourceSpans] = exported.resourceSpans;
  expect(resourceSpans.resource.attributes).toContainEqual({
    key: 'service.name',
    value: { stringValue: 'export-test' },
  });
  expect(resourceSpans.scopeSpans.flatMap((s) => s.spans)).toEqual([
    expect.objectContaining({
      traceId: TRACE,
      spanId: out.spanId,
      parentSpanId: PARENT,
      name: 'POST /api/v1/bookings',
    }),
  ]);
});

test('without one the span carries the same trace and records nothing, so there is nothing to export', async () => {
  received.length = 0;
  const out = await spanInChild({});
  expect(out).toMatchObject({ traceId: TRACE, recording: false });
  expect(out.spanId).toMatch(/^[0-9a-f]{16}$/);
  expect(out.spanId).not.toBe(PARENT);
  // Only a guard against this test's collector leaking into the child's environment: an exporter without an
  // endpoint would send to its default (localhost:4318), not here. `recording: false` is the assertion that counts.
  await new Promise((r) => setTimeout(r, 200));
  expect(received).toEqual([]);
});
