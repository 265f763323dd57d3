import { randomUUID } from 'node:crypto';
import http, { STATUS_CODES } from 'node:http';
import type net from 'node:net';
import type { Express } from 'express';
import type { Logger } from './logger';

export interface ListenOptions {
  host?: string;
  /** How long a client may take to send the request head (slow-header clients are cut off after it). */
  HTTP_HEADERS_TIMEOUT_MS?: number;
  /** How long a client may take to send the whole request, body included. */
  HTTP_REQUEST_TIMEOUT_MS?: number;
}

const CLIENT_ERROR_DETAIL: Record<number, string> = {
  400: 'The request is not valid HTTP',
  408: 'The request was not received in time',
  413: 'The chunk extensions are too large',
  431: 'The request head is too large',
};

/**
 * Requests Node's HTTP parser refuses before express sees them (control characters in a header, a head over
 * 16 kB, a client too slow to send its request) get the same problem+json as every other error, where Node
 * would write a bare status line.
 */
function answerClientError(err: NodeJS.ErrnoException, socket: net.Socket): void {
  if (!socket.writable || socket.bytesWritten > 0) {
    socket.destroy();
    return;
  }
  const status =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? 431
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? 408
        : err.code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW'
          ? 413
          : 400;
  const requestId = randomUUID();
  const body = JSON.stringify({
    type: 'about:blank',
    title: STATUS_CODES[status],
    status,
    detail: CLIENT_ERROR_DETAIL[status],
    requestId,
  });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/problem+json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nX-Request-Id: ${requestId}\r\nConnection: close\r\n\r\n${body}`,
    () => socket.destroy(),
  );
}

/** Starts listening with timeouts that keep slow clients from holding sockets forever. */
export function listen(app: Express, port: number, options: ListenOptions = {}): Promise<http.Server> {
  const requestTimeout = options.HTTP_REQUEST_TIMEOUT_MS ?? 30_000;
  const headersTimeout = Math.min(options.HTTP_HEADERS_TIMEOUT_MS ?? 10_000, requestTimeout);
  // Node checks these timeouts only every connectionsCheckingInterval (30 s by default), which would let a
  // slow client hold a socket for up to 30 s past them.
  const server = http.createServer({ connectionsCheckingInterval: Math.min(1000, headersTimeout) }, app);
  server.headersTimeout = headersTimeout;
  server.requestTimeout = requestTimeout;
  server.keepAliveTimeout = 65_000;
  server.on('clientError', answerClientError);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, options.host ?? '0.0.0.0', () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

export function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}

/**
 * On SIGTERM/SIGINT runs the steps in order (stop accepting, stop jobs, drain, close pools) and exits 0;
 * if they take longer than `timeoutMs` the process exits 1 anyway.
 */
export function onShutdown(
  logger: Logger,
  steps: Array<() => Promise<unknown> | unknown>,
  timeoutMs = 10_000,
): void {
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('shutting down', { signal });
    const force = setTimeout(() => {
      logger.error('shutdown took too long; exiting');
      process.exit(1);
    }, timeoutMs);
    force.unref();
    for (const step of steps) {
      try {
        await step();
      } catch (err) {
        logger.warn('shutdown step failed', { err });
      }
    }
    logger.info('stopped');
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

/** Runs a service's main; a configuration or start-up failure prints one line and exits non-zero. */
export function runMain(name: string, main: () => Promise<void>): void {
  main().catch((err: Error) => {
    const line = err.name === 'ConfigError' ? err.message : `${name} failed to start: ${err.message}`;
    process.stderr.write(`${line}\n`);
    process.exit(1);
  });
}

/** What every service's `start…(env)` returns: where it listens and how to stop it (used by main and tests). */
export interface RunningService {
  port: number;
  url: string;
  server: http.Server;
  /** Stops jobs and consumers, closes the HTTP server and the pools. */
  close(): Promise<void>;
}

export function listeningPort(server: http.Server): number {
  const addr = server.address();
  if (!addr || typeof addr === 'string') throw new Error('server is not listening on a TCP port');
  return addr.port;
}
