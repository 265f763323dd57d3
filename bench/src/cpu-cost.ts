import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { cpuSeconds, median, round2 } from './lib';

/**
 * CPU per request by process (issue #18), from /proc: each process's user + system CPU seconds read around a
 * load, divided by the 2xx answers of that load. MariaDB is the machine's shared server: its figure also holds
 * whatever else used it meanwhile (other stacks, other people's tests), so it is an upper bound.
 */
export type Pids = Record<string, number | undefined>;
export type CpuMs = Record<string, number>;

/** The shared MariaDB's pid: the oldest mariadbd (tests may start private ones for a while). */
export function mariadbPid(): number | undefined {
  for (const name of ['mariadbd', 'mysqld']) {
    try {
      return Number(execFileSync('pgrep', ['-o', '-x', name], { encoding: 'utf8' }).trim());
    } catch {
      // not this name
    }
  }
  return undefined;
}

/** Answers with a 2xx status in a load's `statuses`. */
export const okAnswers = (statuses: Record<string, number>): number =>
  Object.entries(statuses)
    .filter(([k]) => /^2\d\d$/.test(k))
    .reduce((a, [, n]) => a + n, 0);

/**
 * Runs `fn` (a load) and answers its result with the CPU ms per 2xx answer of each process in `pids`, plus
 * `services` (all but mariadb) and `total`.
 */
export async function withCpu<T extends { statuses: Record<string, number> }>(
  pids: Pids,
  fn: () => Promise<T>,
): Promise<T & { cpuMs: CpuMs; switches: CpuMs }> {
  const before = Object.fromEntries(
    Object.entries(pids).map(([k, pid]) => [k, { cpu: cpuSeconds(pid), switches: contextSwitches(pid) }]),
  );
  const r = await fn();
  const ok = Math.max(1, okAnswers(r.statuses));
  const cpuMs: CpuMs = {};
  const switches: CpuMs = {};
  for (const [k, pid] of Object.entries(pids)) {
    cpuMs[k] = round2(((cpuSeconds(pid) - before[k].cpu) * 1000) / ok);
    switches[k] = round2((contextSwitches(pid) - before[k].switches) / ok);
  }
  cpuMs.services = round2(
    Object.entries(cpuMs)
      .filter(([k]) => k !== 'mariadb')
      .reduce((a, [, v]) => a + v, 0),
  );
  cpuMs.total = round2(cpuMs.services + (cpuMs.mariadb ?? 0));
  return { ...r, cpuMs, switches };
}

/**
 * Context switches (voluntary + involuntary) of a process so far, all its threads summed: each is a sleep on a
 * socket or a preemption, so switches per request say how many times a request's path waits or is pushed aside.
 */
export function contextSwitches(pid: number | undefined): number {
  if (!pid) return 0;
  let n = 0;
  try {
    for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
      const status = fs.readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
      for (const m of status.matchAll(/^(?:non)?voluntary_ctxt_switches:\s+(\d+)$/gm)) n += Number(m[1]);
    }
  } catch {
    // the process (or a thread) ended meanwhile
  }
  return n;
}

/** The median of each process's figure over several measurements. */
export function medianCpu(all: CpuMs[]): CpuMs {
  return Object.fromEntries(Object.keys(all[0] ?? {}).map((k) => [k, round2(median(all.map((c) => c[k])))]));
}
