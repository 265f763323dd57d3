import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ErrorRequestHandler } from 'express';
import { Router } from 'express';
import request from 'supertest';
import { createLogger, Lifecycle, openapiPathFrom, serviceApp } from '../src';

const logger = createLogger('skeleton-test', 'error');

describe('Lifecycle', () => {
  test('closes newest first, once however often close() is called', async () => {
    const order: string[] = [];
    const lc = new Lifecycle();
    lc.add('db', () => order.push('db'));
    lc.add('relay', async () => {
      await new Promise((r) => setTimeout(r, 10));
      order.push('relay');
    });
    lc.add('http', () => order.push('http'));
    await Promise.all([lc.close(), lc.close()]);
    await lc.close();
    expect(order).toEqual(['http', 'relay', 'db']);
    expect(() => lc.add('late', () => undefined)).toThrow(/already closing/);
  });

  test('a failed closer does not stop the others, and close() reports it', async () => {
    const order: string[] = [];
    const lc = new Lifecycle();
    lc.add('db', () => order.push('db'));
    lc.add('broken', () => {
      throw new Error('boom');
    });
    lc.add('http', () => order.push('http'));
    await expect(lc.close()).rejects.toThrow('boom');
    expect(order).toEqual(['http', 'db']);
  });

  test('a failed start closes what had started and rethrows the start error', async () => {
    const closed: string[] = [];
    const lc = new Lifecycle();
    await expect(
      lc.start(async (l) => {
        l.add('db', () => closed.push('db'));
        l.add('consumer', () => closed.push('consumer'));
        throw new Error('port in use');
      }),
    ).rejects.toThrow('port in use');
    expect(closed).toEqual(['consumer', 'db']);
  });
});

describe('serviceApp', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skyway-skeleton-'));
  const doc = path.join(dir, 'openapi.yaml');
  fs.writeFileSync(doc, 'openapi: 3.1.0\ninfo: { title: t, version: "1" }\npaths: {}\n');
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  class Refused extends Error {}
  const refusals: ErrorRequestHandler = (err, _req, res, next) =>
    err instanceof Refused
      ? res.status(409).type('application/problem+json').json({ type: 'urn:skyway:problem:x' })
      : next(err);
  const routes = Router()
    .get('/things', (_req, res) => {
      res.json({ ok: true });
    })
    .post('/things', (req, res) => {
      res.status(201).json(req.body);
    })
    .get('/refused', () => {
      throw new Refused();
    })
    .put('/text', (req, res) => {
      // What the route sees of a body that is not JSON: nothing parsed, and nothing left on the wire.
      res.json({ body: req.body ?? null, complete: req.complete, ended: req.readableEnded });
    });
  const app = serviceApp({
    logger,
    readiness: { database: () => undefined },
    openapiPath: doc,
    internalToken: 'tok',
    routes: [routes],
    refusals,
  });

  test('health, readiness and docs answer without the internal token; routes need it', async () => {
    expect((await request(app).get('/health')).status).toBe(200);
    expect((await request(app).get('/ready')).status).toBe(200);
    expect((await request(app).get('/api-docs/openapi.json')).status).toBe(200);
    const anonymous = await request(app).get('/things');
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers['content-type']).toMatch(/application\/problem\+json/);
    expect((await request(app).get('/things').set('X-Internal-Token', 'tok')).status).toBe(200);
  });

  test('a body is parsed only after the token was checked', async () => {
    const noToken = await request(app).post('/things').set('Content-Type', 'application/json').send('{bad');
    expect(noToken.status).toBe(401);
    const withToken = await request(app).post('/things').set('X-Internal-Token', 'tok').send({ a: 1 });
    expect(withToken.status).toBe(201);
    expect(withToken.body).toEqual({ a: 1 });
  });

  test('a body that is not JSON is read to its end before the route answers, and one over 100 kB is a 413', async () => {
    const text = await request(app)
      .put('/text')
      .set('X-Internal-Token', 'tok')
      .set('Content-Type', 'text/plain')
      .send('x'.repeat(90_000));
    expect(text.status).toBe(200);
    expect(text.body).toEqual({ body: null, complete: true, ended: true });
    const untyped = await request(app)
      .put('/text')
      .set('X-Internal-Token', 'tok')
      .send(Buffer.alloc(50_000, 1));
    expect(untyped.body).toMatchObject({ complete: true, ended: true });
    const large = await request(app)
      .put('/text')
      .set('X-Internal-Token', 'tok')
      .set('Content-Type', 'text/plain')
      .send('x'.repeat(150_000));
    expect(large.status).toBe(413);
  });

  test('one set of defaults: no X-Powered-By, no automatic ETag, a request id, 404 and refusals as problems', async () => {
    const res = await request(app).get('/things').set('X-Internal-Token', 'tok');
    expect(res.headers['x-powered-by']).toBeUndefined();
    expect(res.headers.etag).toBeUndefined();
    expect(res.headers['x-request-id']).toBeTruthy();
    const missing = await request(app).get('/nowhere').set('X-Internal-Token', 'tok');
    expect(missing.status).toBe(404);
    expect(missing.headers['content-type']).toMatch(/application\/problem\+json/);
    const refused = await request(app).get('/refused').set('X-Internal-Token', 'tok');
    expect(refused.status).toBe(409);
    expect(refused.body.type).toBe('urn:skyway:problem:x');
  });
});

test('openapiPathFrom finds src/http/openapi.yaml from src/ and from dist/', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'skyway-openapi-'));
  try {
    fs.mkdirSync(path.join(root, 'src', 'http'), { recursive: true });
    fs.mkdirSync(path.join(root, 'dist'));
    const yaml = path.join(root, 'src', 'http', 'openapi.yaml');
    fs.writeFileSync(yaml, 'openapi: 3.1.0\n');
    expect(openapiPathFrom(path.join(root, 'src'))).toBe(yaml);
    expect(path.resolve(openapiPathFrom(path.join(root, 'dist')))).toBe(yaml);
    expect(() => openapiPathFrom(path.join(root, 'elsewhere', 'x'))).toThrow(/no OpenAPI document/);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
