import type { RequestHandler, Response } from 'express';
import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  TraceFlags,
  type Context,
  type Span,
  type SpanOptions,
  type Tracer,
  type TracerProvider,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, RandomIdGenerator } from '@opentelemetry/sdk-trace-base';

export { SpanKind } from '@opentelemetry/api';

const TRACER = 'skyway';
let state: { enabled: boolean; provider?: BasicTracerProvider } | undefined;

/** `OTEL_SDK_DISABLED=true` switches tracing off (no spans, no propagation), as the OpenTelemetry SDKs read it. */
export function tracingDisabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return /^(true|1)$/i.test(env.OTEL_SDK_DISABLED ?? '');
}

const ids = new RandomIdGenerator();

/**
 * Spans that only carry trace context: a new span id in the parent's trace (a new trace without a valid parent),
 * with the parent's flags and tracestate, recording nothing. What a process that exports nowhere needs from a
 * span — the ids its log lines name and the `traceparent` it passes on — without the SDK's recording span (its
 * clock reads, attribute maps and span processors) on every request and call.
 */
const contextOnlyTracer: Tracer = {
  startSpan(_name: string, _options?: SpanOptions, parent: Context = context.active()): Span {
    const from = trace.getSpanContext(parent);
    const valid = from !== undefined && trace.isSpanContextValid(from);
    return trace.wrapSpanContext({
      traceId: valid ? from.traceId : ids.generateTraceId(),
      spanId: ids.generateSpanId(),
      traceFlags: valid ? from.traceFlags : TraceFlags.SAMPLED,
      traceState: valid ? from.traceState : undefined,
    });
  },
  startActiveSpan<F extends (span: Span) => unknown>(name: string, ...rest: unknown[]): ReturnType<F> {
    const fn = rest.pop() as F;
    const [options, parent = context.active()] = rest as [SpanOptions | undefined, Context | undefined];
    const span = this.startSpan(name, options, parent);
    return context.with(trace.setSpan(parent, span), () => fn(span)) as ReturnType<F>;
  },
};
const contextOnlyProvider: TracerProvider = { getTracer: () => contextOnlyTracer };

/**
 * Sets up W3C Trace Context for this process, once (several services may share a process under test): the
 * async-hooks context manager, the W3C propagator and a tracer provider. With OTEL_EXPORTER_OTLP_ENDPOINT (or its
 * traces-only form, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) set,
 * the SDK's provider records spans and exports them over OTLP/HTTP; without it nothing would ever read a recorded
 * span, so spans only carry context (`contextOnlyTracer`): same trace ids in logs and headers, less work.
 */
export function initTracing(service: string, env: NodeJS.ProcessEnv = process.env): boolean {
  if (state) return state.enabled;
  if (tracingDisabled(env)) {
    state = { enabled: false };
    return false;
  }
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  if (!env.OTEL_EXPORTER_OTLP_ENDPOINT && !env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) {
    trace.setGlobalTracerProvider(contextOnlyProvider);
    state = { enabled: true };
    return true;
  }
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': env.OTEL_SERVICE_NAME || service }),
    // The exporter reads OTEL_EXPORTER_OTLP_ENDPOINT (and _HEADERS) itself, appending /v1/traces; a
    // _TRACES_ENDPOINT is used as given.
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
  });
  trace.setGlobalTracerProvider(provider);
  state = { enabled: true, provider };
  return true;
}

/** Flushes spans still buffered for export (on shutdown). */
export async function shutdownTracing(): Promise<void> {
  await state?.provider?.forceFlush().catch(() => undefined);
}

const tracer = () => trace.getTracer(TRACER);

/** The trace and span ids of the active span, for log lines (nothing when there is none). */
export function currentTraceIds(): { traceId?: string; spanId?: string } {
  const span = trace.getSpan(context.active());
  const sc = span?.spanContext();
  if (!sc || !trace.isSpanContextValid(sc)) return {};
  return { traceId: sc.traceId, spanId: sc.spanId };
}

type Carrier = Record<string, unknown>;
const getter = {
  keys: (c: Carrier) => Object.keys(c),
  get: (c: Carrier, key: string) => {
    const v = c[key] ?? c[key.toLowerCase()];
    if (Buffer.isBuffer(v)) return v.toString('utf8');
    if (Array.isArray(v)) return v.map(String);
    return typeof v === 'string' ? v : undefined;
  },
};

/**
 * The context a `traceparent` (and `tracestate`) in HTTP or AMQP headers continues; a missing or malformed
 * one gives the root context, so the next span starts a new trace.
 */
export function contextFromHeaders(headers: Carrier | undefined): Context {
  return headers ? propagation.extract(ROOT_CONTEXT, headers, getter) : ROOT_CONTEXT;
}

/** Writes the active (or given) context's `traceparent`/`tracestate` into `headers`, replacing what was there. */
export function injectTraceHeaders<T extends Carrier>(headers: T, ctx: Context = context.active()): T {
  delete headers.traceparent;
  delete headers.tracestate;
  propagation.inject(ctx, headers);
  return headers;
}

/** The active context's `traceparent`, to keep with work done later elsewhere (an outbox row). */
export function currentTraceparent(): string | null {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent ?? null;
}

/** Runs `fn` in a new span (child of `parent`, else of the active context), ending it when `fn` settles. */
export async function withSpan<T>(
  name: string,
  kind: SpanKind,
  fn: (span: Span) => Promise<T> | T,
  parent: Context = context.active(),
): Promise<T> {
  const span = tracer().startSpan(name, { kind }, parent);
  try {
    return await context.with(trace.setSpan(parent, span), () => fn(span));
  } catch (err) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error)?.message });
    throw err;
  } finally {
    span.end();
  }
}

/** Starts a span the caller ends (an outbound call ended by its response). */
export function startSpan(name: string, kind: SpanKind, parent: Context = context.active()): Span {
  return tracer().startSpan(name, { kind }, parent);
}

/** `parent` with `span` as its active span (to inject a span started with `startSpan`). */
export function contextWithSpan(span: Span, parent: Context = context.active()): Context {
  return trace.setSpan(parent, span);
}

const LOCALS_CONTEXT = 'traceContext';

/**
 * The server span of every request: continues a valid incoming `traceparent` (an invalid or absent one starts a
 * new trace) and runs the rest of the request inside it, so every log line and outgoing call names the trace.
 */
export function traceRequests(): RequestHandler {
  return (req, res, next) => {
    if (!state?.enabled) return next();
    const parent = contextFromHeaders(req.headers);
    const span = tracer().startSpan(`${req.method}`, { kind: SpanKind.SERVER }, parent);
    const ctx = trace.setSpan(parent, span);
    res.locals[LOCALS_CONTEXT] = ctx;
    // A span that only carries context (no exporter: `contextOnlyTracer`) records nothing, so naming and ending
    // it would do nothing: no listeners on the response for it.
    if (!span.isRecording()) return context.with(ctx, next);
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      const route =
        (res.locals.routeTemplate as string | undefined) ?? (req.route as { path?: string })?.path;
      if (route) span.updateName(`${req.method} ${route}`);
      span.setAttribute('http.response.status_code', res.statusCode);
      if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    };
    res.once('finish', end);
    res.once('close', end);
    context.with(ctx, next);
  };
}

/** Runs `fn` in the trace context of the request `res` answers (socket events may run in another one). */
export function inRequestTrace<T>(res: Response | { locals?: Record<string, unknown> }, fn: () => T): T {
  const ctx = res.locals?.[LOCALS_CONTEXT] as Context | undefined;
  return ctx ? context.with(ctx, fn) : fn();
}
