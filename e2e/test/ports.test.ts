import { uniquePrefix } from '@skyway/common/testing';
import { gatewayConfig, bookingConfig, flightConfig, notificationConfig } from '@skyway/testkit';
import { call, eventually } from './support/stack';
import {
  cleanUpStart,
  exited,
  freePort,
  listening,
  runStart,
  servicePid,
  START_DB_POOL_MAX,
} from './support/npm-start';

/**
 * Contract v1.1, "defaults follow the ports": setting only the four `*_PORT` variables moves the four
 * processes *and* every caller's default URL for them (`http://127.0.0.1:<that service's configured port>`).
 */

describe('configuration: moving only the ports', () => {
  const moved = {
    GATEWAY_PORT: '4100',
    FLIGHT_SERVICE_PORT: '4101',
    BOOKING_SERVICE_PORT: '4102',
    NOTIFICATION_SERVICE_PORT: '4103',
  };

  test('every process listens on its moved port, and every caller defaults to the moved ports', () => {
    const gateway = gatewayConfig(moved);
    expect(gateway).toMatchObject({
      GATEWAY_PORT: 4100,
      FLIGHT_SERVICE_URL: ['http://127.0.0.1:4101'],
      BOOKING_SERVICE_URL: ['http://127.0.0.1:4102'],
      NOTIFICATION_SERVICE_URL: ['http://127.0.0.1:4103'],
    });
    expect(bookingConfig(moved)).toMatchObject({
      BOOKING_SERVICE_PORT: 4102,
      FLIGHT_SERVICE_URL: ['http://127.0.0.1:4101'],
    });
    expect(flightConfig(moved).FLIGHT_SERVICE_PORT).toBe(4101);
    expect(notificationConfig(moved).NOTIFICATION_SERVICE_PORT).toBe(4103);
  });

  test('one port moved moves only the URL that follows it; unset ports keep the contract defaults', () => {
    const only = { FLIGHT_SERVICE_PORT: '4101' };
    expect(gatewayConfig(only)).toMatchObject({
      GATEWAY_PORT: 3000,
      FLIGHT_SERVICE_URL: ['http://127.0.0.1:4101'],
      BOOKING_SERVICE_URL: ['http://127.0.0.1:3002'],
      NOTIFICATION_SERVICE_URL: ['http://127.0.0.1:3003'],
    });
    expect(bookingConfig(only).FLIGHT_SERVICE_URL).toEqual(['http://127.0.0.1:4101']);
  });

  test('a URL that is set still wins over the port; an empty one counts as unset', () => {
    const env = { ...moved, FLIGHT_SERVICE_URL: 'http://flights.internal:8080', BOOKING_SERVICE_URL: '' };
    expect(gatewayConfig(env)).toMatchObject({
      FLIGHT_SERVICE_URL: ['http://flights.internal:8080'],
      BOOKING_SERVICE_URL: ['http://127.0.0.1:4102'],
    });
    expect(bookingConfig(env).FLIGHT_SERVICE_URL).toEqual(['http://flights.internal:8080']);
  });

  test('a caller refuses, in one line, a port it cannot derive a URL from', () => {
    expect(() => gatewayConfig({ FLIGHT_SERVICE_PORT: 'abc' })).toThrow(
      /^Invalid configuration: FLIGHT_SERVICE_PORT must be a non-negative integer \(got "abc"\)$/,
    );
    expect(() => bookingConfig({ FLIGHT_SERVICE_PORT: '70000' })).toThrow(
      /^Invalid configuration: FLIGHT_SERVICE_PORT/,
    );
    // Port 0 means "any free port": no caller can know it, so the URL must be given.
    expect(() => gatewayConfig({ NOTIFICATION_SERVICE_PORT: '0' })).toThrow(
      /^Invalid configuration: NOTIFICATION_SERVICE_URL must be set when NOTIFICATION_SERVICE_PORT is 0/,
    );
    expect(
      gatewayConfig({ NOTIFICATION_SERVICE_PORT: '0', NOTIFICATION_SERVICE_URL: 'http://127.0.0.1:4999' })
        .NOTIFICATION_SERVICE_URL,
    ).toEqual(['http://127.0.0.1:4999']);
  });
});

test('npm start with only the four ports moved: the gateway reaches every service (signup, search, book, pay, health)', async () => {
  const prefix = uniquePrefix('ports');
  const ports = {
    gateway: await freePort(),
    flight: await freePort(),
    booking: await freePort(),
    notify: await freePort(),
  };
  const env: Record<string, string> = {
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
    // No URL from the test's own environment, nor from a developer's .env (dotenv never overrides a variable
    // that is set, even to ''): an empty variable is an unset one, so every URL is its default.
    FLIGHT_SERVICE_URL: '',
    BOOKING_SERVICE_URL: '',
    NOTIFICATION_SERVICE_URL: '',
  };
  const { proc, output } = runStart(env);
  const gateway = `http://127.0.0.1:${ports.gateway}`;
  const gw = (method: string, path: string, opts: Parameters<typeof call>[3] = {}) =>
    call(gateway, method, path, opts);
  try {
    const health = await eventually(
      async () => {
        const res = await gw('GET', '/api/v1/health');
        return res.status === 200 && res;
      },
      60_000,
      'every service ready through the gateway',
    );
    expect(health.body.services).toEqual({
      'flight-service': expect.objectContaining({ status: 'ok' }),
      'booking-service': expect.objectContaining({ status: 'ok' }),
      'notification-service': expect.objectContaining({ status: 'ok' }),
    });
    for (const port of Object.values(ports)) expect(await listening(port)).toBe(true);

    // gateway (its own database)
    const email = `${prefix}@example.com`;
    const password = 'correct horse battery';
    expect(
      (await gw('POST', '/api/v1/auth/signup', { body: { email, password, name: 'Ports' } })).status,
    ).toBe(201);
    const signin = await gw('POST', '/api/v1/auth/signin', { body: { email, password } });
    expect(signin.status).toBe(200);
    const token: string = signin.body.token;

    // gateway → flight-service
    const search = await gw('GET', '/api/v1/flights?trips=DEL-BOM&travellers=1&sort=price_ASC&limit=1');
    expect(search.status).toBe(200);
    const flight = search.body.data[0];
    expect(flight).toMatchObject({ departureAirportCode: 'DEL', arrivalAirportCode: 'BOM' });

    // gateway → booking-service → flight-service (the hold), then the payment
    const booked = await gw('POST', '/api/v1/bookings', {
      token,
      body: { flightId: flight.id, noOfSeats: 1 },
    });
    expect(booked.status).toBe(201);
    expect(booked.body).toMatchObject({ flightId: flight.id, noOfSeats: 1, status: 'INITIATED' });
    const paid = await gw('POST', '/api/v1/payments', {
      token,
      body: { bookingId: booked.body.id, amount: booked.body.totalCost },
      headers: { 'Idempotency-Key': `pay-${booked.body.id}` },
    });
    expect(paid.status).toBe(201);
    expect((await gw('GET', `/api/v1/bookings/${booked.body.id}`, { token })).body.status).toBe('BOOKED');
    // booking-service held the seat on the same flight-service the gateway reads from (reads may lag ~1 s).
    await eventually(
      async () =>
        (await gw('GET', `/api/v1/flights/${flight.id}`)).body.availableSeats === flight.availableSeats - 1,
      10_000,
      'the seat held on this stack’s flight-service',
    );

    // And it is these processes the gateway reached: with the three services gone, it says each is down.
    for (const name of ['flight', 'booking', 'notify'] as const)
      process.kill(servicePid(output, name), 'SIGKILL');
    const down = await eventually(
      async () => {
        const res = await gw('GET', '/api/v1/health');
        const services = Object.values(res.body?.services ?? {}) as Array<{ status: string }>;
        return res.status === 503 && services.every((s) => s.status === 'down') && res;
      },
      10_000,
      'every service down through the gateway',
    );
    expect(Object.keys(down.body.services).sort()).toEqual([
      'booking-service',
      'flight-service',
      'notification-service',
    ]);

    proc.kill('SIGTERM');
    expect(await exited(proc)).toBe(0);
  } finally {
    await cleanUpStart(proc, prefix, env);
  }
}, 120_000);
