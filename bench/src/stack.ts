import jwt from 'jsonwebtoken';
import { INTERNAL_TOKEN, load, PORT_OFFSET, startService, type LoadResult } from './lib';

/** The services as real processes for the benchmark, on fixed local ports, in production mode. */
export const JWT_SECRET = 'bench-jwt-secret-bench-jwt-secret-0123456789';

export type Proc = Awaited<ReturnType<typeof startService>>;

export interface BenchStack {
  flights: Proc[];
  bookings: Proc[];
  gateway: Proc;
  stop(): Promise<void>;
}

export async function startBenchStack(
  prefix: string,
  replicas: number,
  basePort: number,
  /** More variables for flight-service (e.g. REDIS_URL for its search cache). */
  flightEnv: Record<string, string> = {},
  /** On top of the defaults, for every service (e.g. METRICS_ENABLED=false, OTEL_SDK_DISABLED=true). */
  extraEnv: Record<string, string> = {},
  /** On top of those, for the i-th flight-service and booking-service (e.g. each pair on its own Galera node). */
  replicaEnv: (i: number) => Record<string, string> = () => ({}),
  /** The checkout whose build runs (bench/src/cpu.ts compares two builds); this one by default. */
  root?: string,
): Promise<BenchStack> {
  basePort += PORT_OFFSET;
  const start = (service: string, port: number, env: Record<string, string>) =>
    startService(service, port, env, root);
  const common = {
    ...extraEnv,
    DB_NAME_PREFIX: prefix,
    MIGRATE_ON_START: 'true',
    AMQP_NAME_PREFIX: prefix,
    JWT_SECRET,
    ADMIN_PASSWORD: 'bench-admin-password',
    RATE_LIMIT_MAX: '100000000',
    SIGNIN_RATE_LIMIT_MAX: '100000000',
  };
  const flightPorts = Array.from({ length: replicas }, (_, i) => basePort + 1 + i * 10);
  const bookingPorts = Array.from({ length: replicas }, (_, i) => basePort + 2 + i * 10);
  const flightUrls = flightPorts.map((p) => `http://127.0.0.1:${p}`).join(',');
  const bookingUrls = bookingPorts.map((p) => `http://127.0.0.1:${p}`).join(',');
  const flights: Proc[] = [];
  for (const [i, port] of flightPorts.entries()) {
    flights.push(
      await start('flight-service', port, {
        ...common,
        ...replicaEnv(i),
        FLIGHT_SERVICE_PORT: String(port),
        SEED_DEMO_DATA: 'true',
        ...flightEnv,
      }),
    );
  }
  const bookings: Proc[] = [];
  for (const [i, port] of bookingPorts.entries()) {
    bookings.push(
      await start('booking-service', port, {
        ...common,
        ...replicaEnv(i),
        BOOKING_SERVICE_PORT: String(port),
        FLIGHT_SERVICE_URL: flightUrls,
        // The bench's 1,000 users leave thousands of bookings unpaid on one flight: the caps still run
        // (their lock and count are part of every booking's cost) but never refuse.
        MAX_UNPAID_SEATS_PER_USER: '100000',
        MAX_UNPAID_SEATS_PER_USER_PER_FLIGHT: '100000',
      }),
    );
  }
  const gateway = await start('api-gateway', basePort, {
    ...common,
    GATEWAY_PORT: String(basePort),
    METRICS_PORT: String(basePort + 9),
    FLIGHT_SERVICE_URL: flightUrls,
    BOOKING_SERVICE_URL: bookingUrls,
    NOTIFICATION_SERVICE_URL: 'http://127.0.0.1:1',
  });
  return {
    flights,
    bookings,
    gateway,
    async stop() {
      await Promise.all([gateway, ...bookings, ...flights].map((p) => p.stop()));
    },
  };
}

/** Real HS256 tokens, exactly as the gateway issues them at sign-in (iss, aud, sub, role, email, exp). */
export function tokensFor(count: number): string[] {
  return Array.from({ length: count }, (_, i) =>
    jwt.sign({ role: 'customer', email: `bench${i + 1}@example.com` }, JWT_SECRET, {
      algorithm: 'HS256',
      subject: String(i + 1),
      issuer: 'skyway-api-gateway',
      audience: 'skyway-api',
      expiresIn: 3600,
    }),
  );
}

export const serviceHeaders = (userId: number) => ({
  'x-internal-token': INTERNAL_TOKEN,
  'x-user-id': String(userId),
  'x-user-role': 'customer',
  'x-user-email': `bench${userId}@example.com`,
});

/**
 * Payments straight at booking-service, 16 clients: each request pays the next of `bookings` (cycling) by its owner,
 * with its own Idempotency-Key `<keyPrefix>-<bookingId>` (so a booking paid a second time is a replay).
 */
export function paymentsLoad(
  bookingServiceUrl: string,
  bookings: ReadonlyArray<{ id: number; userId: number; totalCost: number }>,
  keyPrefix: string,
  durationSec: number,
  overallRate?: number,
): Promise<LoadResult> {
  let next = 0;
  return load({
    url: bookingServiceUrl,
    connections: 16,
    durationSec,
    overallRate,
    method: 'POST',
    next: () => {
      const b = bookings[next++ % bookings.length];
      return {
        path: '/api/v1/payments',
        body: { bookingId: b.id, amount: b.totalCost },
        headers: { ...serviceHeaders(b.userId), 'idempotency-key': `${keyPrefix}-${b.id}` },
      };
    },
  });
}
