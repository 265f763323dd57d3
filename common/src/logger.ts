import { AsyncLocalStorage } from 'node:async_hooks';
import winston from 'winston';
import { currentTraceIds } from './tracing';

export type Logger = winston.Logger;

export interface RequestContext {
  requestId: string;
}

/** Carries the current request id through async calls so every log line about a request names it. */
export const requestContext = new AsyncLocalStorage<RequestContext>();

export const currentRequestId = (): string | undefined => requestContext.getStore()?.requestId;

const SECRET_KEY = /pass(word)?|secret|token|authorization|cookie|api[-_]?key/i;
const BEARER = /Bearer\s+[A-Za-z0-9._~+/=-]+/g;

/** Masks values under secret-looking keys and bearer tokens inside strings, at any depth. */
export function redact(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return value.replace(BEARER, 'Bearer [REDACTED]');
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) {
    // JSON.stringify drops an Error's fields; keep what an operator needs.
    const code = (value as { code?: unknown }).code;
    return {
      name: value.name,
      message: redact(value.message),
      stack: redact(value.stack),
      ...(code ? { code } : {}),
    };
  }
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = SECRET_KEY.test(k) && v !== undefined && v !== null ? '[REDACTED]' : redact(v, depth + 1);
  }
  return out;
}

const contextFormat = winston.format((info) => {
  const requestId = currentRequestId();
  if (requestId && info.requestId === undefined) info.requestId = requestId;
  if (info.traceId === undefined) {
    const { traceId, spanId } = currentTraceIds();
    if (traceId) Object.assign(info, { traceId, spanId });
  }
  for (const key of Object.keys(info)) {
    if (key === 'level' || key === 'message') continue;
    info[key] = SECRET_KEY.test(key) ? '[REDACTED]' : redact(info[key]);
  }
  if (typeof info.message === 'string') info.message = redact(info.message) as string;
  return info;
});

/** `12:00:01.234 info  booking-service request {"method":"GET",…}`: one line, for a person at a terminal. */
const prettyLine = winston.format.printf((info) => {
  const { level, message, timestamp, service, ...rest } = info as Record<string, unknown>;
  const time = typeof timestamp === 'string' ? timestamp.slice(11, 23) : '';
  const fields = Object.keys(rest).length ? ` ${JSON.stringify(rest)}` : '';
  return `${time} ${String(level)} ${String(service)} ${String(message)}${fields}`;
});

/**
 * Pretty lines when a person reads stdout (a terminal, outside production); JSON otherwise, for collectors.
 * `LOG_FORMAT=pretty|json` decides instead (`npm start` sets `pretty` for the services when it runs in a terminal,
 * since their own stdout is its pipe); production is JSON whatever it says.
 */
export function prettyLogs(
  env: NodeJS.ProcessEnv = process.env,
  tty = process.stdout.isTTY === true,
): boolean {
  if (env.NODE_ENV === 'production' || env.LOG_FORMAT === 'json') return false;
  return env.LOG_FORMAT === 'pretty' || tty;
}

/**
 * The logger of one service: structured JSON (pretty at a terminal, see `prettyLogs`); `requestId`, `traceId`
 * and `spanId` are added from the async context.
 */
export function createLogger(service: string, level: string, stream?: NodeJS.WritableStream): Logger {
  const transport = stream
    ? new winston.transports.Stream({ stream })
    : new winston.transports.Console({ stderrLevels: [] });
  const pretty = !stream && prettyLogs();
  return winston.createLogger({
    level,
    defaultMeta: { service },
    format: winston.format.combine(
      contextFormat(),
      winston.format.timestamp(),
      winston.format.errors({ stack: true }),
      ...(pretty ? [winston.format.colorize({ level: true }), prettyLine] : [winston.format.json()]),
    ),
    transports: [transport],
  });
}
