import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { testDbServer } from '@skyway/common/testing';
import { deleteAmqpNames } from './stack';

export { freePort } from './stack';

/** `npm start` as a newcomer runs it (the built script, `npm test`'s pretest builds it). */
const START = path.resolve(__dirname, '..', '..', '..', 'scripts', 'dist', 'start.js');

/**
 * Pool size for every service `npm start` runs under test: these tests send a handful of requests, and a whole
 * stack (four pools) must fit the connection budget beside whatever the other jest worker runs.
 */
export const START_DB_POOL_MAX = '3';

export const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });

/** Runs `npm start`'s script with this environment on top of the test's own; `output` collects its lines. */
export function runStart(env: Record<string, string>): { proc: ChildProcess; output: string[] } {
  const output: string[] = [];
  const proc = spawn(process.execPath, [START], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, so a runner that does not stop can be killed together with its services.
    detached: true,
  });
  for (const stream of [proc.stdout, proc.stderr]) {
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => output.push(...chunk.split('\n').filter(Boolean)));
  }
  return { proc, output };
}

export const exited = (proc: ChildProcess) =>
  proc.exitCode !== null || proc.signalCode !== null
    ? Promise.resolve(proc.exitCode)
    : new Promise<number | null>((r) => proc.once('exit', r));

/** The pid the runner printed for one of its services (`[notify]  started (pid 123)`). */
export function servicePid(output: string[], name: 'flight' | 'booking' | 'notify' | 'gateway'): number {
  const line = output.find((l) => l.includes(`[${name}]`) && /started \(pid \d+\)/.test(l));
  const pid = Number(/pid (\d+)/.exec(line ?? '')?.[1]);
  if (!pid) throw new Error(`no pid printed for ${name}`);
  return pid;
}

/**
 * Stops the runner if it still runs (SIGTERM: it stops its services; after 15 s its whole process group is
 * killed), then drops its databases and its RabbitMQ names.
 */
export async function cleanUpStart(
  proc: ChildProcess,
  prefix: string,
  env: Record<string, string>,
): Promise<void> {
  if (proc.exitCode === null && proc.signalCode === null) {
    const done = exited(proc);
    proc.kill('SIGTERM');
    const killer = setTimeout(() => {
      // Still running, so its group is still its own: the runner and every service it started.
      if (proc.pid && proc.exitCode === null && proc.signalCode === null) process.kill(-proc.pid, 'SIGKILL');
    }, 15_000);
    await done;
    clearTimeout(killer);
  }
  const server = testDbServer();
  const db = await mysql.createConnection({
    host: server.DB_HOST,
    port: server.DB_PORT,
    user: server.DB_USER,
    password: server.DB_PASSWORD,
  });
  try {
    const [rows] = (await db.query('SHOW DATABASES LIKE ?', [`${prefix}%`])) as unknown as [
      Array<Record<string, string>>,
    ];
    for (const row of rows) await db.query(`DROP DATABASE \`${Object.values(row)[0]}\``);
  } finally {
    await db.end();
  }
  await deleteAmqpNames({ ...(process.env as Record<string, string>), ...env });
}
