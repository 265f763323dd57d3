import { Counter } from 'prom-client';
import { metric, type ServiceMetrics } from '@skyway/common';

/** The gateway's own counters (the RED metrics, pool and process metrics come from common). */
export interface GatewayMetrics {
  /** A request refused with 429 by the named limiter policy (`api`, `signin`, `signup`). */
  rateLimited(policy: string): void;
  /** A proxied call that got no answer: `unavailable` (502) or `timeout` (504). */
  upstreamError(upstream: string, kind: 'unavailable' | 'timeout'): void;
}

export function gatewayMetrics(metrics: ServiceMetrics): GatewayMetrics {
  const rejections = metric(metrics.registry, Counter, {
    name: 'gateway_rate_limit_rejections_total',
    help: 'Requests refused with 429 by a rate limit, by policy',
    labelNames: ['policy'],
  });
  const upstream = metric(metrics.registry, Counter, {
    name: 'gateway_upstream_errors_total',
    help: 'Proxied calls the upstream did not answer (502 unavailable, 504 timeout), by upstream and kind',
    labelNames: ['upstream', 'kind'],
  });
  return {
    rateLimited: (policy) => metrics.enabled && rejections.inc({ policy }),
    upstreamError: (name, kind) => metrics.enabled && upstream.inc({ upstream: name, kind }),
  };
}
