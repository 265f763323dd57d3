import fs from 'node:fs';
import net from 'node:net';
import { freePorts } from '../src/testing';

// Ports for servers a test starts later must not come from the range the kernel gives outgoing connections their
// local ports from: one of those can take the port between the pick and the server's bind (EADDRINUSE).
test('freePorts: distinct, free, below the ephemeral range, and each can be listened on', async () => {
  const [low] = fs
    .readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
    .trim()
    .split(/\s+/)
    .map(Number);
  const ports = await freePorts(40);
  expect(new Set(ports).size).toBe(40);
  expect(ports.filter((p) => p < 1024 || p >= low)).toEqual([]);
  // Never the same port twice in a process, even across calls.
  const more = await freePorts(40);
  expect(more.filter((p) => ports.includes(p))).toEqual([]);
  for (const port of ports) {
    await new Promise<void>((resolve, reject) => {
      const s = net.createServer();
      s.once('error', reject);
      s.listen(port, '0.0.0.0', () => s.close(() => resolve()));
    });
  }
});
