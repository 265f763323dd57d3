import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { eventually } from './support/stack';
import { db, gw, rows, stack, useStack } from './support/use-stack';

// A booking of the tour must not expire while a loaded machine runs it.
useStack({ BOOKING_TTL_SECONDS: '600' });

const README = path.resolve(__dirname, '..', '..', 'README.md');
const API_LINE = 'API=http://127.0.0.1:3000';

/** The bash block under "A tour with curl", as a reader would paste it. */
function tourScript(): string {
  const text = fs.readFileSync(README, 'utf8');
  const section = text.slice(text.indexOf('## A tour with curl'));
  const block = /```bash\n([\s\S]*?)\n```/.exec(section);
  if (!block) throw new Error('README: no bash block under "A tour with curl"');
  return block[1];
}

function runBash(script: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Each of `parts` occurs in `text`, in this order. */
function expectInOrder(text: string, parts: string[]): void {
  let from = 0;
  for (const part of parts) {
    const at = text.indexOf(part, from);
    if (at < 0)
      throw new Error(
        `tour output: "${part}" missing after offset ${from}:\n${text.slice(from, from + 2000)}`,
      );
    from = at + part.length;
  }
}

test('the README tour runs verbatim against a running stack and shows what its comments say', async () => {
  const script = tourScript();
  // The only line that differs from the README: this stack's gateway instead of npm start's port 3000.
  expect(script.split('\n')[0]).toBe(API_LINE);
  const run = await runBash(script.replace(API_LINE, `API=${stack.gateway}`));
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  const out = run.stdout;
  // Nothing the tour does is meant to be refused.
  expect(out).not.toContain('urn:skyway:problem');

  const booking =
    /\{"id":(\d+),"flightId":(\d+),[^{}]*"status":"INITIATED"[^{}]*"locator":"([A-Z0-9]{6})"/.exec(out);
  expect(booking).not.toBeNull();
  const [, id, flightId, locator] = booking!;
  expectInOrder(out, [
    '"email":"asha@example.com"', // signed up
    '"data":[{"id":', // the search found flights
    '"airplane":{', // the flight, with its airplane
    '"seats":[{"seat":"1A"', // the seat map, in map order
    `"locator":"${locator}","passengers":[{"name":"Asha Rao","seat":"12A"},{"name":"Ravi Rao","seat":"12B"}]`,
    "{ seat: '12A', status: 'taken' }", // the map a second later
    `{"data":[{"id":${id},`, // found by its locator
    '[{"name":"Asha Rao","seat":"14C"},{"name":"Ravi Rao","seat":"14D"}]',
    'HTTP/1.1 201 Created',
    '"status":"SUCCEEDED"',
    '"status":"BOOKED"', // the second seat change, on a paid booking
    '[{"name":"Asha Rao","seat":"3A"},{"name":"Ravi Rao","seat":"3B"}]',
    '"status":"CANCELLED","cancelReason":"USER"',
    '{"status":"ok","services":{',
  ]);

  // Afterwards the tables agree: the booking is cancelled, no seat of the flight is held for it, and the emails
  // the tour promises (confirmation, the paid booking's seat change, cancellation) went out once each.
  const [b] = await rows<{ status: string; locator: string }>(
    `SELECT status, locator FROM ${db('bookings')}.bookings WHERE id = ?`,
    [id],
  );
  expect(b).toEqual({ status: 'CANCELLED', locator });
  expect(
    await rows(`SELECT seat FROM ${db('flights')}.flight_seats WHERE flightId = ? AND bookingId = ?`, [
      flightId,
      id,
    ]),
  ).toEqual([]);
  const kinds = await eventually(async () => {
    const sent = await rows<{ kind: string }>(
      `SELECT kind FROM ${db('notifications')}.notifications WHERE bookingId = ? AND status = 'SENT' ORDER BY kind`,
      [id],
    );
    return sent.length >= 3 && sent.map((n) => n.kind);
  });
  expect(kinds).toEqual(['cancellation', 'confirmation', 'seats-changed']);
  // Every seat the booking ever held is free again on the public map.
  const map = await gw('GET', `/api/v1/flights/${flightId}/seats`);
  expect(map.status).toBe(200);
  const status = new Map(
    (map.body.seats as Array<{ seat: string; status: string }>).map((x) => [x.seat, x.status]),
  );
  expect(['12A', '14C', '14D', '3A', '3B'].map((seat) => status.get(seat))).toEqual(
    Array(5).fill('available'),
  );
}, 120_000);
