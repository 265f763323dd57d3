import { AsyncLocalStorage } from 'node:async_hooks';
import winston from 'winston';

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
  for (const key of Object.keys(info)) {
    if (key === 'level' || key === 'message') continue;
    info[key] = SECRET_KEY.test(key) ? '[REDACTED]' : redact(info[key]);
  }
  if (typeof info.message === 'string') info.message = redact(info.message) as string;
  return info;
});

/** Structured JSON logger for one service; `requestId` is added from the async context. */
export function createLogger(service: string, level: string, stream?: NodeJS.WritableStream): Logger {
  const transport = stream
    ? new winston.transports.Stream({ stream })
    : new winston.transports.Console({ stderrLevels: [] });
  return winston.createLogger({
    level,
    defaultMeta: { service },
    format: winston.format.combine(
      contextFormat(),
      winston.format.timestamp(),
      winston.format.errors({ stack: true }),
      winston.format.json(),
    ),
    transports: [transport],
  });
}
