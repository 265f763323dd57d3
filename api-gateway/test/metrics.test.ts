import request from 'supertest';
import { bearer, echoGateways, mintToken, refusedUrl, type TestGateway } from './helpers';

/** The gateway's metrics: on METRICS_PORT only, with its own counters moving when a limit or an upstream refuses. */
const gateways = echoGateways('gwmx');
gateways.useIn();

const scrape = async (gw: TestGateway) => (await fetch(`http://127.0.0.1:${gw.metricsPort}/metrics`)).text();
const sample = (text: string, series: string) =>
  Number(new RegExp(`^${series.replace(/[{}"]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);

test('the public port has no /metrics; the metrics port has nothing else', async () => {
  const gw = await gateways.gatewayWith();
  expect(gw.metricsPort).toEqual(expect.any(Number));
  expect(gw.metricsPort).not.toBe(gw.port);
  const pub = await request(gw.url).get('/metrics');
  expect(pub.status).toBe(404);
  expect(pub.text).not.toMatch(/# TYPE|http_requests_total/);
  const other = await fetch(`http://127.0.0.1:${gw.metricsPort}/api/v1/flights`);
  expect(other.status).toBe(404);
  expect(await scrape(gw)).toMatch(/^# TYPE nodejs_eventloop_lag_p99_seconds gauge$/m);
});

test('429s are counted by policy, proxied requests by their route template', async () => {
  const gw = await gateways.gatewayWith({ RATE_LIMIT_MAX: '2' });
  const who = bearer(mintToken({ sub: '4242' }));
  const statuses = [];
  for (let i = 0; i < 3; i++)
    statuses.push((await request(gw.url).get('/api/v1/flights/77').set(who)).status);
  expect(statuses).toEqual([200, 200, 429]);
  const text = await scrape(gw);
  expect(sample(text, 'gateway_rate_limit_rejections_total{policy="api",service="api-gateway"}')).toBe(1);
  expect(
    sample(
      text,
      'http_requests_total{method="GET",route="/api/v1/flights/:id",status="200",service="api-gateway"}',
    ),
  ).toBe(2);
  expect(text).not.toContain('/api/v1/flights/77');
});

test('an upstream that refuses the connection is counted as unavailable', async () => {
  const gw = await gateways.gatewayWith({ FLIGHT_SERVICE_URL: await refusedUrl() });
  expect((await request(gw.url).get('/api/v1/flights')).status).toBe(502);
  const text = await scrape(gw);
  expect(
    sample(
      text,
      'gateway_upstream_errors_total{upstream="flight-service",kind="unavailable",service="api-gateway"}',
    ),
  ).toBe(1);
});

test('with METRICS_ENABLED=false there is no metrics listener', async () => {
  const gw = await gateways.gatewayWith({ METRICS_ENABLED: 'false' });
  expect(gw.metricsPort).toBeUndefined();
});
