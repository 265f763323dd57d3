import http from 'node:http';
import https from 'node:https';
import axios, { type AxiosInstance } from 'axios';
import { INTERNAL_TOKEN_HEADER } from './auth';
import { currentRequestId } from './logger';

export interface ServiceClientOptions {
  /** Base URLs of the service's replicas; calls are spread over them round-robin. */
  baseUrls: string[];
  internalToken: string;
  timeoutMs: number;
  maxSockets?: number;
}

/**
 * An axios client for service-to-service calls: keep-alive, bounded timeout, the internal token,
 * and the current request id forwarded. Never throws for an HTTP status (callers read `status`).
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
  client.interceptors.request.use((config) => {
    config.baseURL = opts.baseUrls[next++ % opts.baseUrls.length];
    const requestId = currentRequestId();
    if (requestId) config.headers.set('X-Request-Id', requestId);
    return config;
  });
  return client;
}

/** True when the error means the service could not be reached or did not answer in time. */
export function isUnreachable(err: unknown): boolean {
  return axios.isAxiosError(err) && !err.response;
}

export function isTimeout(err: unknown): boolean {
  return axios.isAxiosError(err) && (err.code === 'ECONNABORTED' || err.code === 'ETIMEDOUT');
}
