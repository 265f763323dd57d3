import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Request, RequestHandler, Response } from 'express';
import { createProxyMiddleware, type Plugin } from 'http-proxy-middleware';
import {
  BODY_LIMIT_BYTES,
  type HttpProblem,
  INTERNAL_TOKEN_HEADER,
  inRequestTrace,
  injectTraceHeaders,
  REQUEST_ID_HEADER,
  requestContext,
  sendProblem,
  type Logger,
} from '@skyway/common';
import { forcedHeadersOf } from './caching';
import { callerOf } from './identity';
import { problemFor } from './problems';

/**
 * Deletes every header a client could send to pass as a user or as a service. Runs first, for every
 * request, so no later code (and no upstream) can ever read a client's claim.
 */
export const stripForgeableHeaders: RequestHandler = (req, _res, next) => {
  for (const name of Object.keys(req.headers)) {
    if (name.startsWith('x-user-') || name === INTERNAL_TOKEN_HEADER) delete req.headers[name];
  }
  next();
};

/** One proxied call in flight: the outgoing request (once http-proxy made it) and how it must end. */
interface Exchange {
  proxyReq?: http.ClientRequest;
  /** Set when the gateway already answered (413, 504): the upstream call is to be dropped. */
  abortedWith?: HttpProblem;
  timer?: NodeJS.Timeout;
}

const exchangeOf = (res: ServerResponse): Exchange => {
  const locals = (res as Response).locals;
  locals.exchange ??= {};
  return locals.exchange as Exchange;
};

/** Answers with a problem in the request's own context (socket events may run in another's). */
function answer(req: IncomingMessage, res: ServerResponse, problem: HttpProblem): void {
  const requestId = String(req.headers[REQUEST_ID_HEADER] ?? '');
  inRequestTrace(res as Response, () =>
    requestContext.run({ requestId }, () => sendProblem(req as Request, res as Response, problem)),
  );
}

/** The gateway gives up on the upstream call: answers now and drops the outgoing request. */
function abortExchange(req: IncomingMessage, res: ServerResponse, problem: HttpProblem): void {
  const exchange = exchangeOf(res);
  if (exchange.abortedWith) return;
  exchange.abortedWith = problem;
  clearTimeout(exchange.timer);
  if (!res.headersSent) answer(req, res, problem);
  exchange.proxyReq?.destroy(problem);
}

/**
 * Refuses bodies over the limit: at once from Content-Length, or by counting the bytes of a chunked body
 * as they stream to the upstream. The body is never buffered or parsed here.
 */
export const limitProxiedBody: RequestHandler = (req, res, next) => {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > BODY_LIMIT_BYTES) {
    throw problemFor({ code: 'body-too-large' });
  }
  if (declared !== undefined || req.headers['transfer-encoding'] === undefined) return next();
  // Paused first so that counting does not start the flow before http-proxy pipes the body on.
  req.pause();
  let seen = 0;
  const count = (chunk: Buffer) => {
    seen += chunk.length;
    if (seen <= BODY_LIMIT_BYTES) return;
    req.off('data', count);
    req.unpipe();
    if (!res.headersSent) res.setHeader('Connection', 'close');
    abortExchange(req, res, problemFor({ code: 'body-too-large' }));
    // Discard the rest so the client can read the 413; the connection closes after it.
    req.resume();
  };
  req.on('data', count);
  next();
};

export interface UpstreamOptions {
  /** Service name used in problems and logs, e.g. `flight-service`. */
  name: string;
  /** Base URLs of its replicas; calls go round-robin. */
  targets: string[];
  timeoutMs: number;
  internalToken: string;
  logger: Logger;
  /** Counts a call the upstream did not answer (the gateway_upstream_errors_total metric). */
  onUpstreamError?: (upstream: string, kind: 'unavailable' | 'timeout') => void;
}

/**
 * Forwards the request unchanged (same path, same body bytes) to one replica of a service, with the
 * caller's verified identity, the internal token and the request id. A refused connection is a 502 at
 * once; no response headers within `timeoutMs` is a 504.
 */
export function proxyTo(upstream: UpstreamOptions): RequestHandler {
  let next = 0;
  const pick = () => upstream.targets[next++ % upstream.targets.length];
  const unavailable = () => problemFor({ code: 'upstream-unavailable', service: upstream.name });

  const events: Plugin<Request, Response> = (proxyServer) => {
    proxyServer.on('proxyReq', (proxyReq, _req, res) => {
      const exchange = exchangeOf(res);
      exchange.proxyReq = proxyReq;
      if (exchange.abortedWith) proxyReq.destroy(exchange.abortedWith);
    });
    proxyServer.on('proxyRes', (proxyRes, _req, res) => {
      clearTimeout(exchangeOf(res).timer);
      // Runs before http-proxy copies the upstream's headers: what the gateway decides about caching wins.
      // Everything else (ETag, Cache-Control, a 304) passes through as the upstream sent it.
      const forced = forcedHeadersOf(res);
      if (forced) {
        for (const name of forced.remove) delete proxyRes.headers[name];
        Object.assign(proxyRes.headers, forced.set);
      }
      // An upstream that dies mid-body must not leave the client waiting on a response that never ends.
      proxyRes.on('close', () => {
        if (!proxyRes.complete) res.destroy();
      });
    });
    proxyServer.on('error', (err, req, res) => {
      if (!(res instanceof http.ServerResponse)) return;
      const exchange = exchangeOf(res);
      clearTimeout(exchange.timer);
      if (exchange.abortedWith) return;
      const code = (err as NodeJS.ErrnoException).code;
      upstream.onUpstreamError?.(upstream.name, 'unavailable');
      inRequestTrace(res as Response, () =>
        requestContext.run({ requestId: String(req.headers[REQUEST_ID_HEADER] ?? '') }, () =>
          upstream.logger.warn('upstream call failed', { upstream: upstream.name, code, error: err.message }),
        ),
      );
      if (res.headersSent) {
        res.destroy();
        return;
      }
      exchange.abortedWith = unavailable();
      answer(req, res, exchange.abortedWith);
    });
  };

  const proxy = createProxyMiddleware<Request, Response>({
    target: upstream.targets[0],
    router: pick,
    changeOrigin: true,
    agent: new http.Agent({ keepAlive: true }),
    ejectPlugins: true,
    plugins: [events],
  });

  return (req, res, nextFn) => {
    const { identity } = callerOf(res);
    if (identity) {
      req.headers['x-user-id'] = String(identity.userId);
      req.headers['x-user-role'] = identity.role;
      req.headers['x-user-email'] = identity.email;
    }
    req.headers[INTERNAL_TOKEN_HEADER] = upstream.internalToken;
    // Services take identity from X-User-*, never from the token, so it need not travel further.
    delete req.headers.authorization;
    // Node already answered the client's 100-continue; and http-proxy skips its proxyReq event with it.
    delete req.headers.expect;
    // The gateway's own span is the upstream's parent; a client's invalid traceparent never travels on.
    injectTraceHeaders(req.headers);

    const exchange = exchangeOf(res);
    exchange.timer = setTimeout(() => {
      upstream.onUpstreamError?.(upstream.name, 'timeout');
      upstream.logger.warn('upstream did not answer in time', {
        upstream: upstream.name,
        timeoutMs: upstream.timeoutMs,
      });
      abortExchange(
        req,
        res,
        problemFor({ code: 'upstream-timeout', service: upstream.name, timeoutMs: upstream.timeoutMs }),
      );
    }, upstream.timeoutMs);
    res.once('close', () => clearTimeout(exchange.timer));
    return proxy(req, res, nextFn);
  };
}
