import http from 'node:http';
import type { Express } from 'express';
import type { Logger } from './logger';

/** Starts listening with timeouts that keep slow clients from holding sockets forever. */
export function listen(app: Express, port: number, host = '0.0.0.0'): Promise<http.Server> {
  const server = http.createServer(app);
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 65_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
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
