import { Router } from 'express';
import type { AxiosInstance } from 'axios';
import { createServiceClient, isTimeout } from '@skyway/common';

export interface ServiceHealth {
  status: 'ok' | 'down';
  /** Why it is down, e.g. `HTTP 503` or `no answer within 2000 ms`. */
  detail?: string;
  /** The service's own readiness checks, as its `/ready` reported them. */
  checks?: unknown;
}

export interface HealthTargets {
  /** Service name → base URLs of its replicas. */
  services: Record<string, string[]>;
  internalToken: string;
  timeoutMs: number;
}

async function probe(client: AxiosInstance, timeoutMs: number): Promise<ServiceHealth> {
  try {
    const res = await client.get('/ready');
    const checks = (res.data as { checks?: unknown } | undefined)?.checks;
    if (res.status === 200) return { status: 'ok', checks };
    return { status: 'down', detail: `HTTP ${res.status}`, checks };
  } catch (err) {
    return { status: 'down', detail: isTimeout(err) ? `no answer within ${timeoutMs} ms` : 'unreachable' };
  }
}

/** A service is ok only when every one of its replicas is ready: round-robin would still send calls to a sick one. */
function combine(replicas: ServiceHealth[]): ServiceHealth {
  if (replicas.length === 1) return replicas[0];
  const down = replicas.flatMap((r, i) => (r.status === 'ok' ? [] : [`replica ${i + 1}: ${r.detail}`]));
  return down.length ? { status: 'down', detail: down.join('; ') } : { status: 'ok' };
}

/** `GET /api/v1/health`: every service's readiness; 200 only when all are ready, else 503. */
export function serviceHealthRoute({ services, internalToken, timeoutMs }: HealthTargets): Router {
  const clients = Object.entries(services).map(
    ([name, urls]) =>
      [name, urls.map((url) => createServiceClient({ baseUrls: [url], internalToken, timeoutMs }))] as const,
  );
  const router = Router();
  router.get('/api/v1/health', async (_req, res) => {
    const results = await Promise.all(
      clients.map(
        async ([name, replicas]) =>
          [name, combine(await Promise.all(replicas.map((c) => probe(c, timeoutMs))))] as const,
      ),
    );
    const ok = results.every(([, health]) => health.status === 'ok');
    res
      .status(ok ? 200 : 503)
      .json({ status: ok ? 'ok' : 'degraded', services: Object.fromEntries(results) });
  });
  return router;
}
