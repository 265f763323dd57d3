import { uniquePrefix } from '@skyway/common/testing';
import { call, eventually } from './support/stack';
import {
  cleanUpStart,
  exited,
  freePort,
  listening,
  runStart as run,
  START_DB_POOL_MAX,
  servicePid,
} from './support/npm-start';

// `npm start` as a newcomer runs it (the built script), on free ports with its own databases.
// (Moving only the ports: ports.test.ts.)

test('with MySQL unreachable it fails fast with one line naming DB_HOST/DB_PORT', async () => {
  const { proc, output } = run({ DB_HOST: '127.0.0.1', DB_PORT: String(await freePort()) });
  expect(await exited(proc)).toBe(1);
  expect(output).toHaveLength(1);
  expect(output[0]).toMatch(/Cannot reach MySQL.*DB_HOST\/DB_PORT/);
});

test('npm start runs the four services with demo data; one exiting leaves the others up; SIGTERM stops all', async () => {
  const prefix = uniquePrefix('start');
  const ports = {
    gateway: await freePort(),
    flight: await freePort(),
    booking: await freePort(),
    notify: await freePort(),
  };
  const env = {
    NODE_ENV: 'development',
    DB_NAME_PREFIX: prefix,
    DB_POOL_MAX: START_DB_POOL_MAX,
    AMQP_NAME_PREFIX: prefix,
    GATEWAY_PORT: String(ports.gateway),
    FLIGHT_SERVICE_PORT: String(ports.flight),
    BOOKING_SERVICE_PORT: String(ports.booking),
    NOTIFICATION_SERVICE_PORT: String(ports.notify),
    // The gateway's metrics listener too: its default (9464) is one port for every run on this machine.
    METRICS_PORT: String(await freePort()),
    FLIGHT_SERVICE_URL: `http://127.0.0.1:${ports.flight}`,
    BOOKING_SERVICE_URL: `http://127.0.0.1:${ports.booking}`,
    NOTIFICATION_SERVICE_URL: `http://127.0.0.1:${ports.notify}`,
  };
  const { proc, output } = run(env);
  const gateway = `http://127.0.0.1:${ports.gateway}`;
  try {
    await eventually(
      async () => (await call(gateway, 'GET', '/api/v1/health')).status === 200,
      60_000,
      'all services ready',
    );
    const flights = await call(gateway, 'GET', '/api/v1/flights?limit=100');
    expect(flights.body.total).toBe(50);
    for (const name of ['flight', 'booking', 'notify', 'gateway']) {
      expect(output.some((l) => l.includes(`[${name}]`))).toBe(true);
    }

    // One service dies: the runner says so, the others keep serving.
    process.kill(servicePid(output, 'notify'), 'SIGKILL');
    await eventually(
      () => output.some((l) => l.includes('[notify]') && l.includes('exited')),
      10_000,
      'exit reported',
    );
    expect((await call(gateway, 'GET', '/api/v1/flights?limit=1')).status).toBe(200);
    const health = await call(gateway, 'GET', '/api/v1/health');
    expect(health.status).toBe(503);
    expect(health.body.services).toMatchObject({
      'notification-service': { status: 'down' },
      'flight-service': { status: 'ok' },
      'booking-service': { status: 'ok' },
    });

    proc.kill('SIGTERM');
    expect(await exited(proc)).toBe(0);
    for (const port of Object.values(ports)) expect(await listening(port)).toBe(false);
  } finally {
    await cleanUpStart(proc, prefix, env);
  }
}, 120_000);
