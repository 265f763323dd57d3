import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import jwt from 'jsonwebtoken';
import type { Sequelize } from 'sequelize';
import { dropDatabase } from '@skyway/common';
import { TEST_DB_POOL_MAX, testDbServer, uniquePrefix } from '@skyway/common/testing';
import { Accounts } from '../src/app/accounts';
import { PasswordHasher } from '../src/clients/password-hasher';
import { TokenSigner } from '../src/clients/token-signer';
import { UsersStore } from '../src/db/users-store';
import { startApiGateway, type RunningGateway } from '../src/main';
import { TOKEN_AUDIENCE, TOKEN_ISSUER } from '../src/domain/tokens';

export const TEST_JWT_SECRET = 'test-jwt-secret-0123456789-abcdefghijklmnop';
export const TEST_INTERNAL_TOKEN = 'test-internal-token-for-the-gateway';
export const ADMIN = { email: 'root@skyway.test', password: 'admin-password-123' };

/** What the echo upstream saw. */
export interface Echoed {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  bytes: number;
  sha256: string;
}

export interface TestServer {
  url: string;
  /** Requests it received, in order. */
  received: Echoed[];
  close(): Promise<void>;
}

function serve(handler: http.RequestListener): Promise<{ server: http.Server; url: string }> {
  const server = http.createServer(handler);
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
    });
  });
}

function stop(server: http.Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/**
 * A real upstream that answers every request with what it received (and `/ready` with 200), with the status
 * in `X-Echo-Status` and the Location in `X-Echo-Location` when the request names them.
 */
export async function startEchoUpstream(): Promise<TestServer> {
  const received: Echoed[] = [];
  const { server, url } = await serve((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const echoed: Echoed = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: raw.toString('utf8'),
        bytes: raw.length,
        sha256: createHash('sha256').update(raw).digest('hex'),
      };
      received.push(echoed);
      const status = req.url === '/ready' ? 200 : Number(req.headers['x-echo-status'] ?? 200);
      res.writeHead(status, {
        'content-type': 'application/json',
        'x-request-id': String(req.headers['x-request-id']),
        // Lets a test have the "service" answer with a Location of its own.
        ...(req.headers['x-echo-location'] ? { location: String(req.headers['x-echo-location']) } : {}),
      });
      res.end(JSON.stringify(req.url === '/ready' ? { status: 'ok', checks: { database: 'ok' } } : echoed));
    });
  });
  return { url, received, close: () => stop(server) };
}

/** An upstream that accepts connections and reads requests but never answers. */
export async function startHangingUpstream(): Promise<TestServer> {
  const received: Echoed[] = [];
  const { server, url } = await serve((req) => {
    received.push({
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      body: '',
      bytes: 0,
      sha256: '',
    });
    req.resume();
  });
  return { url, received, close: () => stop(server) };
}

/** A URL nothing listens on (the port was just released), so connecting is refused. */
export async function refusedUrl(): Promise<string> {
  const { server, url } = await serve(() => undefined);
  await stop(server);
  return url;
}

export interface TestGateway extends RunningGateway {
  prefix: string;
}

/** Starts a real gateway (own database, migrations, admin) with test settings plus `env`. */
export async function startTestGateway(env: NodeJS.ProcessEnv = {}): Promise<TestGateway> {
  const prefix = env.DB_NAME_PREFIX ?? uniquePrefix('gw');
  const running = await startApiGateway({
    NODE_ENV: 'test',
    LOG_LEVEL: 'error',
    GATEWAY_PORT: '0',
    DB_NAME_PREFIX: prefix,
    DB_POOL_MAX: String(TEST_DB_POOL_MAX),
    JWT_SECRET: TEST_JWT_SECRET,
    INTERNAL_TOKEN: TEST_INTERNAL_TOKEN,
    ADMIN_EMAIL: ADMIN.email,
    ADMIN_PASSWORD: ADMIN.password,
    BCRYPT_ROUNDS: '10',
    ...testDbEnv(),
    ...env,
  });
  return { ...running, close: () => running.close(), prefix };
}

function testDbEnv(): NodeJS.ProcessEnv {
  const db = testDbServer();
  return {
    DB_HOST: db.DB_HOST,
    DB_PORT: String(db.DB_PORT),
    DB_USER: db.DB_USER,
    DB_PASSWORD: db.DB_PASSWORD,
  };
}

export async function dropGatewayDatabase(prefix: string): Promise<void> {
  await dropDatabase(testDbServer(), `${prefix}gateway`);
}

/** A token as the gateway would issue it, with claims overridable to forge bad ones. */
export function mintToken(
  claims: { sub?: string; role?: string; email?: string; [k: string]: unknown } = {},
  opts: { secret?: string; expiresIn?: number; issuer?: string; audience?: string } = {},
): string {
  const { sub = '41', ...rest } = claims;
  return jwt.sign(
    { role: 'customer', email: `user${sub}@skyway.test`, ...rest },
    opts.secret ?? TEST_JWT_SECRET,
    {
      algorithm: 'HS256',
      subject: sub,
      ...('exp' in rest ? {} : { expiresIn: opts.expiresIn ?? 600 }),
      issuer: opts.issuer ?? TOKEN_ISSUER,
      audience: opts.audience ?? TOKEN_AUDIENCE,
    },
  );
}

/** The gateway's use cases on a database of its own, as main.ts puts them together (default bcrypt budgets). */
export function accountsOn(sequelize: Sequelize, bcryptRounds: number): Accounts {
  return new Accounts({
    users: new UsersStore(sequelize),
    passwords: new PasswordHasher(bcryptRounds),
    tokens: new TokenSigner({
      secret: TEST_JWT_SECRET,
      lifetimeSeconds: 600,
      issuer: TOKEN_ISSUER,
      audience: TOKEN_AUDIENCE,
    }),
  });
}

export const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

/**
 * The gateways of one test file, in front of one echo upstream and sharing one database (each migrates and
 * ensures the admin idempotently). Call `useIn()` at the top of the file: it starts the upstream before the
 * tests and stops every gateway, the upstream and the database after them.
 */
export function echoGateways(tag: string, defaults: NodeJS.ProcessEnv = {}) {
  const prefix = uniquePrefix(tag);
  const started: TestGateway[] = [];
  let echo: TestServer | undefined;
  const upstream = () => {
    if (!echo) throw new Error('echoGateways: useIn() has not started the upstream yet');
    return echo;
  };
  return {
    prefix,
    get echo(): TestServer {
      return upstream();
    },
    useIn(): void {
      beforeAll(async () => {
        echo = await startEchoUpstream();
      });
      afterAll(async () => {
        for (const gw of started) await gw.close();
        await echo?.close();
        await dropGatewayDatabase(prefix);
      });
    },
    async gatewayWith(env: NodeJS.ProcessEnv = {}): Promise<TestGateway> {
      const url = upstream().url;
      const gw = await startTestGateway({
        DB_NAME_PREFIX: prefix,
        FLIGHT_SERVICE_URL: url,
        BOOKING_SERVICE_URL: url,
        NOTIFICATION_SERVICE_URL: url,
        ...defaults,
        ...env,
      });
      started.push(gw);
      return gw;
    },
  };
}
