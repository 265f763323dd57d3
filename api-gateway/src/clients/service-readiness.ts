import type { AxiosInstance } from 'axios';
import { createServiceClient, isTimeout } from '@skyway/common';

export interface ReplicaHealth {
  status: 'ok' | 'down';
  /** Why it is down, e.g. `HTTP 503` or `no answer within 2000 ms`. */
  detail?: string;
  /** The service's own readiness checks, as its `/ready` reported them. */
  checks?: unknown;
}

/** Asks one replica of a service for its `/ready`, within `timeoutMs`; never throws. */
export function readinessProbe(url: string, internalToken: string, timeoutMs: number) {
  const client: AxiosInstance = createServiceClient({ baseUrls: [url], internalToken, timeoutMs });
  return async (): Promise<ReplicaHealth> => {
    try {
      const res = await client.get('/ready');
      const checks = (res.data as { checks?: unknown } | undefined)?.checks;
      if (res.status === 200) return { status: 'ok', checks };
      return { status: 'down', detail: `HTTP ${res.status}`, checks };
    } catch (err) {
      return { status: 'down', detail: isTimeout(err) ? `no answer within ${timeoutMs} ms` : 'unreachable' };
    }
  };
}
