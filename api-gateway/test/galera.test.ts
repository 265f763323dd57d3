import request from 'supertest';
import { startGaleraCluster, type GaleraCluster } from '@skyway/common/testing/galera';
import { uniquePrefix } from '@skyway/common/testing';
import { startEchoUpstream, startTestGateway, type TestGateway, type TestServer } from './helpers';

/**
 * CONTRACT "Beyond one machine": two gateway replicas on two nodes of a Galera cluster, behind one load balancer. A
 * customer signs up through one and signs in through the other at once; the second must find the account, not
 * answer 401 because its node has not applied the signup yet. Node 2's applier is held back for the whole sign-in,
 * so the test cannot pass by winning a race against replication.
 */

let cluster: GaleraCluster;
let upstream: TestServer;
const gateways: TestGateway[] = [];

beforeAll(async () => {
  cluster = await startGaleraCluster({ size: 2 });
  upstream = await startEchoUpstream();
  const prefix = uniquePrefix('galgw');
  for (const [i, node] of cluster.nodes.entries()) {
    gateways.push(
      await startTestGateway({
        DB_NAME_PREFIX: prefix,
        DB_HOST: node.server.DB_HOST,
        DB_PORT: String(node.port),
        DB_USER: node.server.DB_USER,
        DB_PASSWORD: node.server.DB_PASSWORD,
        // The second replica starts on the first one's schema, as a second pod would.
        MIGRATE_ON_START: i === 0 ? 'true' : 'false',
        FLIGHT_SERVICE_URL: upstream.url,
        BOOKING_SERVICE_URL: upstream.url,
        NOTIFICATION_SERVICE_URL: upstream.url,
      }),
    );
  }
}, 150_000);

afterAll(async () => {
  for (const g of gateways) await g.close().catch(() => undefined);
  await upstream?.close();
  await cluster?.stop();
}, 60_000);

test('signed up through node 1, signed in through node 2 at once: node 2 waits for the account instead of answering 401', async () => {
  const [one, two] = gateways;
  const release = await cluster.holdApplier(cluster.nodes[1]);
  try {
    const email = 'galera.customer@example.com';
    const password = 'correct horse battery';
    const signup = await request(one.url)
      .post('/api/v1/auth/signup')
      .send({ email, password, name: 'Gal' })
      .expect(201);
    let released = false;
    const signin = request(two.url)
      .post('/api/v1/auth/signin')
      .send({ email, password })
      .then((r) => ({ status: r.status, beforeRelease: !released, token: r.body.token as unknown }));
    await new Promise((resolve) => setTimeout(resolve, 1000));
    released = true;
    await release();
    const got = await signin;
    expect({ status: got.status, beforeRelease: got.beforeRelease }).toEqual({
      status: 200,
      beforeRelease: false,
    });
    const me = await request(two.url)
      .get('/api/v1/auth/me')
      .set('Authorization', `Bearer ${String(got.token)}`);
    expect({ status: me.status, id: me.body.id, email: me.body.email }).toEqual({
      status: 200,
      id: signup.body.id,
      email,
    });
  } finally {
    await release();
  }
}, 120_000);
