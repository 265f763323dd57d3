import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';
import type { DbServer } from '../db';
import { freePorts } from '../testing';

/**
 * A throw-away MariaDB Galera cluster for tests (imported as `@skyway/common/testing/galera`): N `mariadbd` nodes
 * on private ports, each with its own data dir under one temp dir, started with `--no-defaults` and every setting
 * on the command line, so the machine's own MariaDB (3306, its socket, datadir and my.cnf) is never touched.
 *
 * Needs Debian's `mariadb-server` (`mariadbd`, `mariadb-install-db`), `galera-4` and `rsync` (the SST method);
 * `.ci/run` installs the last two when missing. Sized for 2 cores beside other work: 32 MB buffer pools, one applier
 * thread, no performance schema, no durability (the data dies with the test anyway).
 */

export const GALERA_PROVIDER = '/usr/lib/galera/libgalera_smm.so';
const MARIADBD = '/usr/sbin/mariadbd';

export interface GaleraNode {
  /** 1-based; node 1 bootstraps the cluster. */
  index: number;
  /** The MySQL port on 127.0.0.1 (root, empty password). */
  port: number;
  /** Group communication, incremental (IST) and snapshot (SST, rsync daemon) transfer ports. */
  galeraPort: number;
  istPort: number;
  sstPort: number;
  dir: string;
  logFile: string;
  /** The mariadbd process id while it runs. */
  pid: number | undefined;
  /** DB_* settings of this node, for `createSequelize` or a service's env. */
  server: DbServer;
}

export interface GaleraCluster {
  nodes: GaleraNode[];
  /** The temp dir holding every node's data dir and log (removed by `stop`). */
  dir: string;
  /** Milliseconds from the first `mariadbd` start to every node Synced. */
  startupMs: number;
  /** `SHOW GLOBAL STATUS LIKE 'wsrep_%'` of one node, as a name → value map. */
  status(node: GaleraNode): Promise<Record<string, string>>;
  /** The last lines of a node's error log (also part of every start-up error). */
  logTail(node: GaleraNode, lines?: number): string;
  /**
   * `kill -9` of one node by its pid (no shutdown, no goodbye to the group: a crash or a pulled cable); resolves
   * once the process has exited. Its data dir stays, for `restart`.
   */
  kill(node: GaleraNode): Promise<void>;
  /**
   * Starts a stopped or killed node again on its own data dir, joining the running nodes (never bootstrapping):
   * it recovers its position from InnoDB and catches up by IST when the donors' gcache still holds what it missed,
   * else by a full rsync SST. Resolves when every running node reports the whole cluster size and this node is
   * Synced; throws with the node's log after `stepTimeoutMs`.
   */
  restart(node: GaleraNode): Promise<void>;
  /**
   * Holds back what a node applies from the cluster: `FLUSH TABLES WITH READ LOCK` on a connection of its own (the
   * node desyncs and pauses its applier; the other nodes go on committing). A read there then sees the node's state
   * from before the lock, unless its session waits for causality (`wsrep_sync_wait`), which blocks until the
   * returned `release` (UNLOCK TABLES) lets the node catch up. Makes "read through another node at once" a
   * deterministic test instead of a race against the applier.
   */
  holdApplier(node: GaleraNode): Promise<() => Promise<void>>;
  /** Stops every node by pid (SIGTERM, SIGKILL after `timeoutMs`) and removes the temp dir. Idempotent. */
  stop(timeoutMs?: number): Promise<void>;
}

export interface GaleraOptions {
  size?: number;
  /** Deadline for each step: install, the bootstrap node, each joiner, the final sync check. */
  stepTimeoutMs?: number;
  /** Parent of the cluster's temp dir (default: the OS temp dir). */
  baseDir?: string;
  /** Keep the temp dir after `stop` (to read the logs after a failure). */
  keepDir?: boolean;
  /**
   * false: ONE plain `mariadbd` with exactly the nodes' settings but no Galera (wsrep off) — the single server a
   * benchmark compares the cluster with, so that replication is the only difference. `size` is then 1.
   */
  wsrep?: boolean;
}

/** Why a Galera cluster cannot be started on this machine, or undefined when everything it needs is there. */
export function galeraUnavailableReason(): string | undefined {
  const missing = [MARIADBD, GALERA_PROVIDER].filter((f) => !fs.existsSync(f));
  for (const tool of ['mariadb-install-db', 'rsync']) if (!onPath(tool)) missing.push(tool);
  if (missing.length) return `missing for a Galera test cluster: ${missing.join(', ')} (see .ci/run)`;
  if (isRoot() && !unixUser('mysql'))
    return 'running as root but there is no `mysql` user to run mariadbd as';
  return undefined;
}

function onPath(tool: string): boolean {
  return (process.env.PATH ?? '/usr/bin:/usr/sbin')
    .split(path.delimiter)
    .some((dir) => dir && fs.existsSync(path.join(dir, tool)));
}

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

function unixUser(name: string): { uid: number; gid: number } | undefined {
  const line = fs
    .readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${name}:`));
  if (!line) return undefined;
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

function tail(file: string, lines = 25): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log yet)';
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every process this module started and has not seen exit: killed if the test process exits without `stop`. */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of live) if (child.pid) signal(child.pid, 'SIGKILL');
  });
}

/**
 * Starts a Galera cluster of `size` (default 3) nodes: installs the system tables on node 1, bootstraps it with
 * `--wsrep-new-cluster`, joins the others one after the other (rsync SST from node 1), and resolves when every
 * node reports `wsrep_cluster_size = size`, `Synced` and `wsrep_ready = ON`. Every wait has a deadline; a failure
 * stops whatever was started and throws with the node's last log lines.
 */
export async function startGaleraCluster(opts: GaleraOptions = {}): Promise<GaleraCluster> {
  const wsrep = opts.wsrep ?? true;
  const size = wsrep ? (opts.size ?? 3) : 1;
  const stepTimeoutMs = opts.stepTimeoutMs ?? 45_000;
  const unavailable = galeraUnavailableReason();
  if (unavailable) throw new Error(unavailable);

  const dir = fs.mkdtempSync(path.join(opts.baseDir ?? os.tmpdir(), 'skyway-galera-'));
  // mariadbd refuses to run as root without --user; as root, run it (and the SST scripts and rsync daemon it
  // starts, which would otherwise drop to `nobody` and fail to write the joiner's data dir) as `mysql`.
  const owner = isRoot() ? unixUser('mysql') : undefined;
  fs.chmodSync(dir, 0o755);
  const ports = await freePorts(size * 4);
  const clusterName = path.basename(dir);
  const nodes: GaleraNode[] = Array.from({ length: size }, (_, i) => {
    const nodeDir = path.join(dir, `node${i + 1}`);
    for (const d of [nodeDir, path.join(nodeDir, 'data'), path.join(nodeDir, 'tmp')]) fs.mkdirSync(d);
    const port = ports[i * 4];
    return {
      index: i + 1,
      port,
      galeraPort: ports[i * 4 + 1],
      istPort: ports[i * 4 + 2],
      sstPort: ports[i * 4 + 3],
      dir: nodeDir,
      logFile: path.join(nodeDir, 'error.log'),
      pid: undefined,
      server: { DB_HOST: '127.0.0.1', DB_PORT: port, DB_USER: 'root', DB_PASSWORD: '' },
    };
  });
  if (owner) chownTree(dir, owner);

  const children = new Map<GaleraNode, ChildProcess>();
  const exited = new Map<GaleraNode, string>();
  let stopped = false;

  const stop = async (timeoutMs = 15_000): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await Promise.all([...children].map(([node, child]) => stopProcess(node, child, exited, timeoutMs)));
    if (!opts.keepDir) fs.rmSync(dir, { recursive: true, force: true });
  };

  const fail = async (node: GaleraNode, what: string): Promise<never> => {
    const log = tail(node.logFile, 30);
    await stop(5_000).catch(() => undefined);
    throw new Error(
      `Galera node ${node.index} (port ${node.port}): ${what}\n--- last lines of its log ---\n${log}`,
    );
  };

  const start = (node: GaleraNode, bootstrap: boolean) => {
    exited.delete(node);
    const peers = nodes.map((n) => `127.0.0.1:${n.galeraPort}`).join(',');
    const args = [
      '--no-defaults',
      ...(bootstrap && wsrep ? ['--wsrep-new-cluster'] : []),
      ...(owner ? ['--user=mysql'] : []),
      `--datadir=${path.join(node.dir, 'data')}`,
      `--tmpdir=${path.join(node.dir, 'tmp')}`,
      `--socket=${path.join(node.dir, 'mysqld.sock')}`,
      `--pid-file=${path.join(node.dir, 'mysqld.pid')}`,
      `--log-error=${node.logFile}`,
      `--port=${node.port}`,
      '--bind-address=127.0.0.1',
      '--skip-name-resolve',
      '--max-connections=60',
      '--performance-schema=OFF',
      '--default-storage-engine=InnoDB',
      '--binlog-format=ROW',
      '--innodb-autoinc-lock-mode=2',
      '--innodb-buffer-pool-size=32M',
      '--innodb-log-file-size=8M',
      '--innodb-log-buffer-size=4M',
      '--innodb-flush-log-at-trx-commit=0',
      '--innodb-doublewrite=0',
      '--innodb-fast-shutdown=2',
      '--innodb-buffer-pool-load-at-startup=OFF',
      '--innodb-buffer-pool-dump-at-shutdown=OFF',
      '--key-buffer-size=1M',
      '--aria-pagecache-buffer-size=1M',
    ];
    if (wsrep)
      args.push(
        '--wsrep-on=ON',
        `--wsrep-provider=${GALERA_PROVIDER}`,
        `--wsrep-cluster-name=${clusterName}`,
        `--wsrep-node-name=node${node.index}`,
        `--wsrep-cluster-address=gcomm://${bootstrap ? '' : peers}`,
        `--wsrep-node-address=127.0.0.1:${node.galeraPort}`,
        `--wsrep-node-incoming-address=127.0.0.1:${node.port}`,
        `--wsrep-provider-options=gmcast.listen_addr=tcp://127.0.0.1:${node.galeraPort};ist.recv_addr=127.0.0.1:${node.istPort};gcache.size=16M;pc.recovery=false`,
        '--wsrep-sst-method=rsync',
        `--wsrep-sst-receive-address=127.0.0.1:${node.sstPort}`,
        '--wsrep-slave-threads=1',
      );
    const out = fs.openSync(path.join(node.dir, 'stdout.log'), 'a');
    const child = spawn(MARIADBD, args, {
      stdio: ['ignore', out, out],
      env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C' },
    });
    fs.closeSync(out);
    installExitHook();
    live.add(child);
    node.pid = child.pid;
    children.set(node, child);
    child.once('exit', (code, signal) => {
      live.delete(child);
      // A restarted node has a new child by now: only the current one's exit counts.
      if (children.get(node) !== child) return;
      node.pid = undefined;
      exited.set(node, signal ? `killed by ${signal}` : `exited with code ${code}`);
    });
    child.once('error', (err) => exited.set(node, `could not start: ${err.message}`));
  };

  const kill = async (node: GaleraNode): Promise<void> => {
    const child = children.get(node);
    if (!child?.pid || exited.has(node)) throw new Error(`Galera node ${node.index} is not running`);
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    if (signal(child.pid, 'SIGKILL')) await gone;
  };

  const restart = async (node: GaleraNode): Promise<void> => {
    if (stopped) throw new Error('the Galera cluster was stopped');
    if (!exited.has(node)) throw new Error(`Galera node ${node.index} is still running`);
    start(node, false);
    await waitFor(node, `rejoined and Synced in a cluster of ${size}`, synced(size));
    for (const other of nodes.filter((n) => n !== node))
      await waitFor(other, `back in a cluster of ${size}`, synced(size));
  };

  /** Polls the node until `ready(status)` holds, failing at the deadline or as soon as the process died. */
  const waitFor = async (node: GaleraNode, what: string, ready: (s: Record<string, string>) => boolean) => {
    const deadline = Date.now() + stepTimeoutMs;
    let last = 'no answer yet';
    for (;;) {
      const gone = exited.get(node);
      if (gone) return fail(node, `mariadbd ${gone} before it was ${what}`);
      try {
        const s = await wsrepStatus(node);
        if (ready(s)) return;
        last = `wsrep_cluster_size=${s.wsrep_cluster_size}, state=${s.wsrep_local_state_comment}, ready=${s.wsrep_ready}`;
      } catch (err) {
        last = (err as Error).message;
      }
      if (Date.now() > deadline) return fail(node, `not ${what} within ${stepTimeoutMs} ms (last: ${last})`);
      await sleep(250);
    }
  };
  const synced = (n: number) => (s: Record<string, string>) =>
    !wsrep ||
    (s.wsrep_local_state_comment === 'Synced' && s.wsrep_ready === 'ON' && Number(s.wsrep_cluster_size) >= n);

  const started = Date.now();
  try {
    await installSystemTables(nodes[0], owner, stepTimeoutMs);
    start(nodes[0], true);
    await waitFor(nodes[0], 'Synced as the bootstrap node', synced(1));
    // One joiner at a time: node 1 is the donor of each snapshot transfer, and serves one at a time anyway.
    for (const node of nodes.slice(1)) {
      start(node, false);
      await waitFor(node, 'joined and Synced', synced(node.index));
    }
    for (const node of nodes) {
      await waitFor(node, `Synced in a cluster of ${size}`, synced(size));
      const s = await wsrepStatus(node);
      if (wsrep && Number(s.wsrep_cluster_size) !== size)
        await fail(node, `wsrep_cluster_size is ${s.wsrep_cluster_size}`);
    }
  } catch (err) {
    await stop(5_000).catch(() => undefined);
    throw err;
  }
  return {
    nodes,
    dir,
    startupMs: Date.now() - started,
    status: wsrepStatus,
    logTail: (node, lines) => tail(node.logFile, lines),
    kill,
    restart,
    holdApplier,
    stop,
  };
}

async function holdApplier(node: GaleraNode): Promise<() => Promise<void>> {
  const conn = await mysql.createConnection({
    host: '127.0.0.1',
    port: node.port,
    user: 'root',
    password: '',
  });
  try {
    await conn.query('FLUSH TABLES WITH READ LOCK');
  } catch (err) {
    await conn.end().catch(() => undefined);
    throw err;
  }
  let released: Promise<void> | undefined;
  return () =>
    (released ??= (async () => {
      try {
        await conn.query('UNLOCK TABLES');
      } finally {
        await conn.end().catch(() => undefined);
      }
    })());
}

async function wsrepStatus(node: GaleraNode): Promise<Record<string, string>> {
  const conn = await mysql.createConnection({
    host: '127.0.0.1',
    port: node.port,
    user: 'root',
    password: '',
    connectTimeout: 2000,
  });
  try {
    const [rows] = await conn.query("SHOW GLOBAL STATUS LIKE 'wsrep\\_%'");
    return Object.fromEntries(
      (rows as Array<{ Variable_name: string; Value: string }>).map((r) => [r.Variable_name, r.Value]),
    );
  } finally {
    await conn.end().catch(() => undefined);
  }
}

function installSystemTables(
  node: GaleraNode,
  owner: { uid: number; gid: number } | undefined,
  timeoutMs: number,
): Promise<void> {
  const args = [
    '--no-defaults',
    `--datadir=${path.join(node.dir, 'data')}`,
    ...(owner ? ['--user=mysql'] : []),
    // root@localhost, root@127.0.0.1 and root@::1 with an empty password (no unix_socket-only root).
    '--auth-root-authentication-method=normal',
    '--skip-test-db',
    '--innodb-buffer-pool-size=32M',
    '--innodb-log-file-size=8M',
  ];
  // Its own process group, so a timeout also stops the `mariadbd --bootstrap` the script runs.
  return new Promise((resolve, reject) => {
    const child = spawn('mariadb-install-db', args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.pid && signal(-child.pid, 'SIGKILL'), timeoutMs);
    const failed = (why: string) =>
      reject(
        new Error(
          `mariadb-install-db for Galera node ${node.index} ${why}\n${output.trim().split('\n').slice(-20).join('\n')}`,
        ),
      );
    child.once('error', (err) => {
      clearTimeout(timer);
      failed(`could not start: ${err.message}`);
    });
    child.once('exit', (code, sig) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else failed(sig ? `was killed (${sig}; deadline ${timeoutMs} ms)` : `exited with code ${code}`);
    });
  });
}

function chownTree(dir: string, owner: { uid: number; gid: number }): void {
  fs.chownSync(dir, owner.uid, owner.gid);
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) chownTree(full, owner);
    else fs.chownSync(full, owner.uid, owner.gid);
  }
}

/** SIGTERM by pid, SIGKILL if it is still there after `timeoutMs`; resolves once the process has exited. */
async function stopProcess(
  node: GaleraNode,
  child: ChildProcess,
  exited: Map<GaleraNode, string>,
  timeoutMs: number,
): Promise<void> {
  if (exited.has(node) || !child.pid) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  if (!signal(child.pid, 'SIGTERM')) return;
  const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), timeoutMs).unref());
  if ((await Promise.race([gone, timer])) === 'timeout' && !exited.has(node)) {
    if (signal(child.pid, 'SIGKILL')) await gone;
  }
}

/** Sends a signal by pid; false when the process is already gone. */
function signal(pid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false;
  }
}
