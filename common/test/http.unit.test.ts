import { Writable } from 'node:stream';
import express from 'express';
import request from 'supertest';
import {
  createLogger,
  errorHandler,
  healthRoutes,
  notFoundHandler,
  redact,
  requestId,
  requireInternalToken,
  validate,
} from '../src';
import { z } from 'zod';

function captureLogs() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { lines, logger: createLogger('test', 'debug', stream) };
}

function appWith(logger = captureLogs().logger) {
  const app = express();
  app.use(requestId);
  app.use(
    healthRoutes({ database: () => Promise.resolve(), broker: () => Promise.reject(new Error('refused')) }),
  );
  app.use(requireInternalToken('right-token'));
  app.use(express.json({ limit: '100kb' }));
  app.post('/things', (req, res) => {
    const body = validate(z.object({ n: z.number().int(), seats: z.array(z.number()) }), req.body, 'body');
    res.status(201).json(body);
  });
  app.get('/boom', async () => {
    logger.info('about to fail', { password: 'hunter2', authorization: 'Bearer abc.def.ghi' });
    throw new Error('secret internals at /srv/app.js:12');
  });
  app.use(notFoundHandler);
  app.use(errorHandler(logger));
  return app;
}

describe('HTTP plumbing', () => {
  test('/ready is 503 naming what is down; /health is 200', async () => {
    const app = appWith();
    await request(app).get('/health').expect(200);
    const ready = await request(app).get('/ready').expect(503);
    expect(ready.body.checks).toEqual({ database: 'ok', broker: 'down: refused' });
  });

  test('without the internal token every other route is a 401 problem', async () => {
    const res = await request(appWith()).post('/things').send({ n: 1 }).expect(401);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 401, title: 'Unauthorized', instance: '/things' });
  });

  test('validation failures name each field, with array indexes', async () => {
    const res = await request(appWith())
      .post('/things')
      .set('X-Internal-Token', 'right-token')
      .send({ n: 'one', seats: [1, 2, 'x'] })
      .expect(400);
    expect(res.body.errors.map((e: { path: string }) => e.path)).toEqual(['n', 'seats.2']);
    expect(res.body.requestId).toBe(res.headers['x-request-id']);
  });

  test('broken JSON is 400 and a body over 100 kB is 413', async () => {
    const app = appWith();
    await request(app)
      .post('/things')
      .set({ 'X-Internal-Token': 'right-token', 'Content-Type': 'application/json' })
      .send('{"n":')
      .expect(400);
    await request(app)
      .post('/things')
      .set('X-Internal-Token', 'right-token')
      .send({ n: 1, pad: 'x'.repeat(101 * 1024) })
      .expect(413);
  });

  test('an unexpected error is a 500 without internals; the log has the stack, the request id, no secrets', async () => {
    const { lines, logger } = captureLogs();
    const res = await request(appWith(logger))
      .get('/boom')
      .set({ 'X-Internal-Token': 'right-token', 'X-Request-Id': 'req-42' })
      .expect(500);
    expect(JSON.stringify(res.body)).not.toMatch(/secret internals|srv/);
    const logged = lines.map((l) => JSON.parse(l));
    expect(logged.every((l) => l.requestId === 'req-42')).toBe(true);
    expect(lines.join('')).not.toMatch(/hunter2|abc\.def\.ghi/);
    expect(logged.find((l) => l.level === 'error').err.stack).toMatch(/secret internals/);
  });

  test('unknown routes are 404 problems', async () => {
    const res = await request(appWith()).get('/nowhere').set('X-Internal-Token', 'right-token').expect(404);
    expect(res.body.status).toBe(404);
  });

  test('redact masks secret-looking keys and bearer tokens at any depth', () => {
    expect(
      redact({
        user: { password: 'p', name: 'n' },
        note: 'Authorization: Bearer eyJ.x.y',
        list: [{ token: 't' }],
      }),
    ).toEqual({
      user: { password: '[REDACTED]', name: 'n' },
      note: 'Authorization: Bearer [REDACTED]',
      list: [{ token: '[REDACTED]' }],
    });
  });
});
