import net from 'node:net';

/**
 * HTTP/1.1 over a bare socket, for requests `fetch` and `http.request` refuse to make: control characters in
 * header values, unencoded `..` segments, broken percent-encoding, several Content-Length headers, bodies that
 * are not what the Content-Type says. Every string is written as latin1, so the bytes are exactly the
 * characters given (use `utf8Bytes` to send UTF-8 text).
 */
export interface RawRequest {
  method: string;
  /** The request target exactly as written on the request line. */
  target: string;
  /** In order; repeated names are sent repeatedly. `host` and `connection: close` are added. */
  headers?: Array<[string, string]>;
  body?: string | Buffer;
  /** Add a Content-Length for the body (default true when there is a body). */
  contentLength?: boolean;
  timeoutMs?: number;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read bodies freely
  json?: any;
}

/** The UTF-8 bytes of `s` as a latin1 string (what raw requests write byte for byte). */
export const utf8Bytes = (s: string): string => Buffer.from(s, 'utf8').toString('latin1');

function decodeChunked(buf: Buffer): Buffer {
  const parts: Buffer[] = [];
  let pos = 0;
  for (;;) {
    const eol = buf.indexOf('\r\n', pos);
    if (eol < 0) break;
    const size = parseInt(buf.subarray(pos, eol).toString('latin1'), 16);
    if (!size) break;
    parts.push(buf.subarray(eol + 2, eol + 2 + size));
    pos = eol + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

export function parseResponse(buf: Buffer): RawResponse {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) throw new Error(`no complete response head in ${JSON.stringify(buf.toString('latin1'))}`);
  const [statusLine, ...lines] = buf.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1]);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const i = line.indexOf(':');
    headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  let body = buf.subarray(end + 4);
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) body = decodeChunked(body);
  else if (headers['content-length'] !== undefined)
    body = body.subarray(0, Number(headers['content-length']));
  const text = body.toString('utf8');
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status, headers, text, json };
}

/** Sends one request on a fresh connection and reads the response until the server closes it. */
export function rawRequest(base: string, req: RawRequest): Promise<RawResponse> {
  const { hostname, port } = new URL(base);
  const body = req.body === undefined ? undefined : Buffer.from(req.body as string, 'latin1');
  const headers: Array<[string, string]> = [
    ['Host', `${hostname}:${port}`],
    ['Connection', 'close'],
    ...(req.headers ?? []),
  ];
  if (body && req.contentLength !== false) headers.push(['Content-Length', String(body.length)]);
  const head = `${req.method} ${req.target} HTTP/1.1\r\n${headers.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = net.connect(Number(port), hostname);
    socket.setTimeout(req.timeoutMs ?? 20_000, () =>
      socket.destroy(new Error(`no response to ${req.method} ${req.target.slice(0, 200)} in time`)),
    );
    socket.on('data', (c) => chunks.push(c));
    // A server may answer (413, 400) and close before it has read the whole body: that is still an answer.
    socket.on('error', (err) => {
      if (chunks.length) return;
      reject(err);
    });
    socket.on('close', () => {
      if (!chunks.length) return reject(new Error(`connection closed without a response: ${req.target}`));
      try {
        resolve(parseResponse(Buffer.concat(chunks)));
      } catch (err) {
        reject(err);
      }
    });
    socket.write(Buffer.from(head, 'latin1'));
    if (body) socket.write(body);
  });
}

/**
 * What is wrong with a response under the rules every endpoint keeps: never a 5xx, and every 4xx an RFC 9457
 * problem (`application/problem+json` with type, title, status equal to the HTTP status, and detail).
 * Returns undefined when the response is fine.
 */
export function contractViolation(res: RawResponse): string | undefined {
  if (!Number.isInteger(res.status)) return 'no HTTP status';
  if (res.status >= 500) return `status ${res.status}: ${res.text.slice(0, 300)}`;
  if (res.status < 400) return undefined;
  const type = res.headers['content-type'] ?? '';
  if (!type.startsWith('application/problem+json')) {
    return `status ${res.status} with content-type "${type}": ${res.text.slice(0, 300)}`;
  }
  const p = res.json;
  if (!p || typeof p !== 'object') return `status ${res.status} with a body that is not a JSON object`;
  for (const key of ['type', 'title', 'detail'] as const) {
    if (typeof p[key] !== 'string') return `problem without a string "${key}": ${res.text.slice(0, 300)}`;
  }
  if (p.status !== res.status) return `problem status ${p.status} differs from HTTP ${res.status}`;
  if (/\n\s+at /.test(res.text)) return `a stack trace left the process: ${res.text.slice(0, 300)}`;
  return undefined;
}
