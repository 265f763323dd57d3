import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger } from '@skyway/common';
import { FlightClient } from '../src/clients/flight-client';

/**
 * A flight-service replica whose database node died answers every call 503; booking-service's retries must then go
 * to another replica. Found by the Galera node-kill test (galera.test.ts): the replicas were taken round-robin over
 * all calls at once, so under concurrency every attempt of one call could land on the dead replica (3 of 24
 * bookings answered 503 "flight-service cannot be reached" with a healthy flight-service on node 1).
 */
const flight = {
  id: 7,
  flightNumber: 'SW7',
  departureAirportCode: 'DEL',
  arrivalAirportCode: 'BOM',
  departureTime: new Date(Date.now() + 86_400_000).toISOString(),
  price: 450_000,
  availableSeats: 10,
};

const servers: http.Server[] = [];
const served = { dead: 0, alive: 0 };
async function listen(handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

let dead: string;
let alive: string;
beforeAll(async () => {
  dead = await listen((_req, res) => {
    served.dead += 1;
    res.writeHead(503, { 'content-type': 'application/problem+json' }).end('{"status":503}');
  });
  // A little slower than the dead one, as a replica doing real work is: calls overlap.
  alive = await listen((_req, res) => {
    served.alive += 1;
    setTimeout(
      () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(flight)),
      5,
    );
  });
});
afterAll(async () => {
  for (const s of servers) await new Promise((r) => s.close(r));
});

test('40 concurrent calls with one of two flight-service replicas answering 503: each retry goes to the other replica, every call succeeds', async () => {
  const client = new FlightClient({
    baseUrls: [dead, alive],
    internalToken: 't',
    timeoutMs: 2000,
    attempts: 2,
    backoffMs: 1,
    logger: createLogger('flight-client-test', 'error'),
  });
  const results = await Promise.allSettled(Array.from({ length: 40 }, () => client.getFlight(7)));
  const failed = results.filter((r) => r.status === 'rejected').map((r) => String(r.reason));
  expect(failed).toEqual([]);
  expect(results.every((r) => r.status === 'fulfilled' && r.value?.id === 7)).toBe(true);
  // Both replicas were tried: the dead one is not skipped up front (it may be back), it is just never tried twice.
  expect(served.dead).toBeGreaterThan(0);
  expect(served.dead).toBeLessThanOrEqual(40);
});
