import http from 'node:http';
import https from 'node:https';
import { SpanStatusCode, type Span } from '@opentelemetry/api';
import axios, { type AxiosInstance } from 'axios';
import { INTERNAL_TOKEN_HEADER } from './auth';
import { currentRequestId } from './logger';
import { contextWithSpan, injectTraceHeaders, SpanKind, startSpan } from './tracing';

export interface ServiceClientOptions {
  /** Base URLs of the service's replicas; calls are spread over them round-robin. */
  baseUrls: string[];
  internalToken: string;
  timeoutMs: number;
  maxSockets?: number;
}

/**
 * An axios client for service-to-service calls: keep-alive, bounded timeout, the internal token, the current
 * request id and trace context (`traceparent` of a client span per call) forwarded. Never throws for an HTTP
 * status (callers read `status`).
 */
export function createServiceClient(opts: ServiceClientOptions): AxiosInstance {
  const httpAgent = new http.Agent({ keepAlive: true, maxSockets: opts.maxSockets ?? 64 });
  const httpsAgent = new https.Agent({ keepAlive: true, maxSockets: opts.maxSockets ?? 64 });
  const client = axios.create({
    timeout: opts.timeoutMs,
    httpAgent,
    httpsAgent,
    validateStatus: () => true,
    headers: { [INTERNAL_TOKEN_HEADER]: opts.internalToken },
    proxy: false,
    // Services never redirect each other; 0 also skips follow-redirects' wrapper around every request.
    maxRedirects: 0,
  });
  let next = 0;
  const spans = new WeakMap<object, Span>();
  client.interceptors.request.use((config) => {
    // A caller that retries picks the replica of each attempt itself (see booking-service's FlightClient).
    config.baseURL ??= opts.baseUrls[next++ % opts.baseUrls.length];
    const requestId = currentRequestId();
    if (requestId) config.headers.set('X-Request-Id', requestId);
    const span = startSpan(`HTTP ${(config.method ?? 'get').toUpperCase()}`, SpanKind.CLIENT);
    span.setAttribute('server.address', config.baseURL ?? '');
    spans.set(config, span);
    const headers: Record<string, string> = {};
    injectTraceHeaders(headers, contextWithSpan(span));
    for (const [k, v] of Object.entries(headers)) config.headers.set(k, v);
    return config;
  });
  const endSpan = (config: object | undefined, status?: number) => {
    const span = config && spans.get(config);
    if (!span) return;
    if (status !== undefined) span.setAttribute('http.response.status_code', status);
    else span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
  };
  client.interceptors.response.use(
    (response) => {
      endSpan(response.config, response.status);
      return response;
    },
    (err: unknown) => {
      endSpan(axios.isAxiosError(err) ? err.config : undefined);
      return Promise.reject(err);
    },
  );
  return client;
}

/** True when the error means the service could not be reached or did not answer in time. */
export function isUnreachable(err: unknown): boolean {
  return axios.isAxiosError(err) && !err.response;
}

export function isTimeout(err: unknown): boolean {
  return axios.isAxiosError(err) && (err.code === 'ECONNABORTED' || err.code === 'ETIMEDOUT');
}
