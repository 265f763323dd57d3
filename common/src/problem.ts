import { STATUS_CODES } from 'node:http';
import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import { ZodError } from 'zod';
import { currentRequestId, type Logger } from './logger';

export interface FieldError {
  path: string;
  message: string;
}

/** An error that becomes an RFC 9457 problem+json response. */
export class HttpProblem extends Error {
  override name = 'HttpProblem';
  constructor(
    readonly status: number,
    detail?: string,
    readonly errors?: FieldError[],
    readonly type = 'about:blank',
    readonly title = STATUS_CODES[status] ?? 'Error',
    /** RFC 9457 extension members (e.g. `seats` of a seat-taken problem), sent beside the standard ones. */
    readonly extensions?: Record<string, unknown>,
  ) {
    super(detail ?? STATUS_CODES[status] ?? 'Error');
  }
}

export const badRequest = (detail: string, errors?: FieldError[]) => new HttpProblem(400, detail, errors);
export const unauthorized = (detail = 'Authentication required') => new HttpProblem(401, detail);
export const forbidden = (detail = 'Not allowed') => new HttpProblem(403, detail);
export const notFound = (detail = 'Not found') => new HttpProblem(404, detail);
export const conflict = (detail: string) => new HttpProblem(409, detail);
export const gone = (detail: string) => new HttpProblem(410, detail);
export const unprocessable = (detail: string) => new HttpProblem(422, detail);
export const serviceUnavailable = (detail: string) => new HttpProblem(503, detail);

export function zodToFieldErrors(err: ZodError): FieldError[] {
  return err.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
}

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  requestId?: string;
  errors?: FieldError[];
  [extension: string]: unknown;
}

export function problemBody(req: Request, p: HttpProblem): ProblemBody {
  const body: ProblemBody = {
    type: p.type,
    title: p.title,
    status: p.status,
    detail: p.message,
    instance: req.originalUrl,
    requestId: currentRequestId(),
    ...p.extensions,
  };
  if (p.errors) body.errors = p.errors;
  return body;
}

export function sendProblem(req: Request, res: Response, p: HttpProblem): void {
  res
    .status(p.status)
    .type('application/problem+json')
    .send(JSON.stringify(problemBody(req, p)));
}

const DB_DOWN = new Set([
  'SequelizeConnectionError',
  'SequelizeConnectionRefusedError',
  'SequelizeConnectionTimedOutError',
  'SequelizeHostNotReachableError',
  'SequelizeConnectionAcquireTimeoutError',
  'ConnectionAcquireTimeoutError',
]);

/**
 * Driver codes of a query whose connection to the database failed or broke under it (a pooled connection
 * reset by a network cut reports ECONNRESET or EPIPE, not a refusal): the database is unreachable, the
 * query itself was fine, so the client gets a 503 to retry rather than a 500.
 */
const DB_CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
]);

const status400 = (e: { status?: number; statusCode?: number }) => (e.status ?? e.statusCode) === 400;

/** Maps any thrown value to a problem; unknown errors become a 500 without internals. */
export function toProblem(err: unknown): HttpProblem {
  if (err instanceof HttpProblem) return err;
  if (err instanceof ZodError) return badRequest('The request is invalid', zodToFieldErrors(err));
  const e = err as { type?: string; status?: number; statusCode?: number; expose?: boolean; name?: string };
  if (e?.type === 'entity.parse.failed') return badRequest('The body is not valid JSON');
  // The router marks a path parameter that is not valid percent-encoding (`/flights/%`) 400 but not `expose`.
  if (err instanceof URIError && status400(e)) return badRequest('The path is not valid percent-encoding');
  if (e?.type === 'entity.too.large') return new HttpProblem(413, 'The body is larger than the 100 kB limit');
  const status = e?.status ?? e?.statusCode;
  if (e?.expose && typeof status === 'number' && status >= 400 && status < 500) {
    return new HttpProblem(status, (err as Error).message);
  }
  if (e?.name && DB_DOWN.has(e.name))
    return serviceUnavailable('The database is unavailable; try again shortly');
  // Sequelize wraps the driver's error (`parent`); a query on a raw pooled connection (withConnection) throws
  // mysql2's own, which marks a broken connection `fatal`.
  const raw = err as { parent?: { code?: string }; fatal?: boolean; code?: string };
  const code = raw?.parent?.code ?? (raw?.fatal ? raw.code : undefined);
  if (code && DB_CONNECTION_CODES.has(code)) {
    return serviceUnavailable('The database is unavailable; try again shortly');
  }
  return new HttpProblem(500, 'An unexpected error occurred');
}

/** The last middleware: every error becomes problem+json; 5xx are logged with their stack. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const p = toProblem(err);
    if (p.status >= 500) {
      logger.error('request failed', { err, method: req.method, path: req.originalUrl, status: p.status });
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    sendProblem(req, res, p);
  };
}

export const notFoundHandler: RequestHandler = (req, res) => {
  sendProblem(req, res, notFound(`No route for ${req.method} ${req.path}`));
};
