import fs from 'node:fs';
import path from 'node:path';
import { GATEWAY_OPENAPI, OpenApiResponseValidator } from './support/openapi-validator';
import { ADMIN, startStack, type Stack } from './support/stack';

/** The part of newman's run summary this test reads (newman ships no type definitions). */
interface NewmanSummary {
  run: {
    stats: Record<
      'requests' | 'assertions' | 'testScripts' | 'prerequestScripts',
      { total: number; failed: number }
    >;
    failures: Array<{
      error: { name: string; message: string; test?: string };
      at?: string;
      source?: { id?: string; name?: string };
      parent?: { name?: string };
    }>;
    executions: Array<{ item: { id: string }; response?: { code: number; stream?: Buffer } }>;
    timings: { started: number; completed: number };
  };
}
/** One HTTP exchange as newman's `request` event reports it (postman-collection Request and Response). */
interface NewmanExchange {
  request: { method: string; url: { toString(): string } };
  response?: {
    code: number;
    headers: { all(): Array<{ key: string; value: string }> };
    stream?: Buffer;
  };
}
interface NewmanRun {
  on(event: 'request', listener: (err: Error | null, exchange: NewmanExchange) => void): NewmanRun;
}
interface Newman {
  run(options: Record<string, unknown>, done: (err: Error | null, summary: NewmanSummary) => void): NewmanRun;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports -- newman is CommonJS without types
const newman = require('newman') as Newman;

const POSTMAN = path.resolve(__dirname, '..', '..', 'postman');
const collection = JSON.parse(fs.readFileSync(path.join(POSTMAN, 'skyway.postman_collection.json'), 'utf8'));
const environmentFile = JSON.parse(
  fs.readFileSync(path.join(POSTMAN, 'skyway.postman_environment.json'), 'utf8'),
) as { values: Array<{ key: string; value: string }> };

interface CollectionItem {
  item?: CollectionItem[];
}
const countRequests = (items: CollectionItem[]): number =>
  items.reduce((n, i) => n + (i.item ? countRequests(i.item) : 1), 0);

let stack: Stack;
beforeAll(async () => {
  // Long enough that no booking of the run expires under a slow machine; expiry has its own e2e test.
  stack = await startStack({ BOOKING_TTL_SECONDS: '600' });
}, 120_000);
afterAll(async () => {
  await stack?.stop();
});

test('the Postman collection passes through the gateway of the whole stack', async () => {
  // The environment file names the variables; only their values change for this stack.
  const overrides: Record<string, string> = {
    baseUrl: stack.gateway,
    adminEmail: ADMIN.email,
    adminPassword: ADMIN.password,
  };
  const values = environmentFile.values.map((v) => ({ ...v, value: overrides[v.key] ?? v.value }));
  expect(values.map((v) => v.key).sort()).toEqual(Object.keys(overrides).sort());

  // Every response of the run (pm.sendRequest ones too) is checked against the gateway's OpenAPI document.
  const openapi = OpenApiResponseValidator.fromFile(GATEWAY_OPENAPI, { unmatchedPaths: 'not-found-problem' });
  const summary = await new Promise<NewmanSummary>((resolve, reject) =>
    newman
      .run(
        {
          collection,
          environment: { values },
          reporters: [],
          // A hung run fails here instead of at jest's timeout (a run takes 15-30 s on a busy 2-core machine, and a
          // script callback once took over 5 s while other test suites loaded both cores).
          timeout: 110_000,
          timeoutRequest: 20_000,
          timeoutScript: 20_000,
        },
        (err, result) => (err ? reject(err) : resolve(result)),
      )
      .on('request', (err, exchange) => {
        if (err || !exchange?.response) return; // counted by stats.requests.failed below
        const { request, response } = exchange;
        openapi.record({
          method: request.method,
          url: request.url.toString(),
          status: response.code,
          headers: response.headers.all().map((h): [string, string] => [h.key, h.value]),
          body: response.stream ?? '',
        });
      }),
  );
  const { stats, failures, executions, timings } = summary.run;
  console.log(
    `newman: ${executions.length} requests, ${stats.assertions.total} assertions, ` +
      `${stats.assertions.failed} failed, ${timings.completed - timings.started} ms`,
  );
  console.log(openapi.report());

  const responses = new Map(executions.map((e) => [e.item.id, e.response]));
  const described = failures.map((f) => {
    const res = f.source?.id ? responses.get(f.source.id) : undefined;
    const body = res?.stream ? res.stream.toString('utf8').slice(0, 300) : '';
    return (
      `${f.parent?.name ?? '?'} / ${f.source?.name ?? '?'} → ${res?.code ?? 'no response'}: ` +
      `${f.error.test ?? f.error.name}: ${f.error.message}${body ? `\n    body: ${body}` : ''}`
    );
  });
  expect(described).toEqual([]);
  expect(stats.requests.failed).toBe(0);
  // Every request ran (a script error or a bad setNextRequest would skip some silently). Requests a script sends
  // with pm.sendRequest are recorded under the calling item too, so count distinct items.
  expect(new Set(executions.map((e) => e.item.id)).size).toBe(countRequests(collection.item));
  expect(stats.assertions.total).toBeGreaterThan(3 * executions.length);

  expect(openapi.checked).toBeGreaterThanOrEqual(executions.length);
  expect(openapi.problems()).toEqual([]);
}, 150_000);
