import net from 'node:net';
import { PassThrough } from 'node:stream';
import express from 'express';
import { closeServer, errorHandler, listen, listeningPort, requestId, createLogger } from '../src';
import type http from 'node:http';

/** Writes `head` on a raw socket and resolves with everything the server sends until it closes. */
function rawExchange(port: number, head: string, opts: { dripMs?: number } = {}) {
  return new Promise<{ text: string; closedAfterMs: number }>((resolve, reject) => {
    const started = Date.now();
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    let drip: NodeJS.Timeout | undefined;
    socket.setEncoding('latin1');
    socket.on('data', (c: string) => (text += c));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearInterval(drip);
      resolve({ text, closedAfterMs: Date.now() - started });
    });
    socket.setTimeout(20_000, () => {
      socket.destroy();
      reject(new Error('the server never closed the connection'));
    });
    socket.write(head);
    // A slow client: one more header byte every dripMs, never finishing the head.
    if (opts.dripMs) drip = setInterval(() => socket.write('x'), opts.dripMs);
  });
}

const problemOf = (text: string) => {
  const [head, body] = text.split('\r\n\r\n');
  return { head, body: JSON.parse(body) };
};

let server: http.Server;
let port: number;
beforeAll(async () => {
  const app = express();
  app.use(requestId);
  app.get('/things/:id', (req, res) => {
    res.json({ id: req.params.id });
  });
  app.use(errorHandler(createLogger('test', 'error', new PassThrough())));
  server = await listen(app, 0, {
    host: '127.0.0.1',
    HTTP_HEADERS_TIMEOUT_MS: 1000,
    HTTP_REQUEST_TIMEOUT_MS: 2000,
  });
  port = listeningPort(server);
});
afterAll(async () => {
  await closeServer(server);
});

describe('listen()', () => {
  test('a request the HTTP parser refuses gets a problem+json 400 with a request id', async () => {
    const { text } = await rawExchange(port, 'GET /things/1 HTTP/1.1\r\nHost: x\r\nX-Bad: a\x01b\r\n\r\n');
    const { head, body } = problemOf(text);
    expect(head).toMatch(/^HTTP\/1\.1 400 /);
    expect(head).toMatch(/content-type: application\/problem\+json/i);
    expect(body).toMatchObject({ type: 'about:blank', title: 'Bad Request', status: 400 });
    expect(head).toContain(`X-Request-Id: ${body.requestId}`);
  });

  test('a request head over the limit is a 431 problem', async () => {
    const { text } = await rawExchange(
      port,
      `GET /things/1 HTTP/1.1\r\nHost: x\r\nX-Long: ${'a'.repeat(20_000)}\r\n\r\n`,
    );
    expect(problemOf(text).body).toMatchObject({ status: 431 });
  });

  test('a client that sends its head slowly is cut off after HTTP_HEADERS_TIMEOUT_MS with a 408 problem', async () => {
    const { text, closedAfterMs } = await rawExchange(port, 'GET /things/1 HTTP/1.1\r\nHost: x\r\nX-Slow: ', {
      dripMs: 200,
    });
    expect(problemOf(text).body).toMatchObject({ status: 408 });
    // 1 s timeout, checked every second at most: closed well before Node's default 30 s check interval.
    expect(closedAfterMs).toBeGreaterThanOrEqual(900);
    expect(closedAfterMs).toBeLessThan(5000);
  });

  test('a client that never finishes its body is cut off after HTTP_REQUEST_TIMEOUT_MS', async () => {
    const { text, closedAfterMs } = await rawExchange(
      port,
      'POST /things/1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a":',
    );
    expect(problemOf(text).body).toMatchObject({ status: 408 });
    expect(closedAfterMs).toBeGreaterThanOrEqual(1900);
    expect(closedAfterMs).toBeLessThan(6000);
  });
});

test('a path parameter that is not valid percent-encoding is a 400 problem, not a 500', async () => {
  const res = await fetch(`http://127.0.0.1:${port}/things/%E0%A4%A`);
  expect(res.status).toBe(400);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(await res.json()).toMatchObject({ status: 400, detail: 'The path is not valid percent-encoding' });
});
