import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { alive, eventually } from './shell';

/** Set in the environment of every process a run starts, so cleanup can tell them from others. */
export const RUN_ENV = 'TSR_CLUSTER_RUN';

/**
 * Starts `args` in new namespaces, detached from the test process (a run killed half-way leaves
 * them for the next run's cleanup, which finds them by their `RUN_ENV`). Output goes to `log`.
 */
export function spawnDetached(args: readonly string[], runId: string, log: string): number {
  const fd = openSync(log, 'a');
  try {
    const child = spawn(args[0], args.slice(1), { detached: true, stdio: ['ignore', fd, fd], env: { ...process.env, [RUN_ENV]: runId } });
    child.unref();
    if (child.pid === undefined) throw new Error(`could not start ${args[0]}`);
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

/**
 * `unshare --fork` runs its command as the child that is process 1 of the new PID namespace:
 * that child's id as the host sees it. Killing it kills every process of the namespace at once.
 */
export async function forkedChild(pid: number): Promise<number> {
  return eventually(
    `the first process of unshare ${pid}`,
    async () => {
      try {
        const [child] = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
        return child;
      } catch {
        throw new Error(`unshare ${pid} ended before starting its command`);
      }
    },
    10_000,
    20,
  );
}

/**
 * Waits until `unshare --net` (without --fork) has moved process `pid` into its new network
 * namespace. Until then `nsenter -t pid -n` enters the host's: a command meant for the new
 * namespace (a bridge, say) would change the host.
 */
export async function ownNetworkNamespace(pid: number): Promise<number> {
  const host = readlinkSync('/proc/self/ns/net');
  return eventually(
    `process ${pid} in a network namespace of its own`,
    async () => {
      let ns: string;
      try {
        ns = readlinkSync(`/proc/${pid}/ns/net`);
      } catch {
        throw new Error(`process ${pid} ended before entering its network namespace`);
      }
      return ns !== host ? pid : undefined;
    },
    10_000,
    20,
  );
}

/** True when the process was started by run `runId` (its environment carries the run's mark). */
export function startedBy(pid: number, runId: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(`${RUN_ENV}=${runId}`);
  } catch {
    return false;
  }
}

/** SIGKILLs the process (if it is still the run's) and waits until it is gone. */
export async function killAndWait(pid: number, runId: string, timeoutMs = 15_000): Promise<void> {
  if (!alive(pid) || !startedBy(pid, runId)) return;
  process.kill(pid, 'SIGKILL');
  await eventually(`process ${pid} to end`, async () => !alive(pid), timeoutMs, 20);
}

/**
 * Process `root` and all its descendants: a node's daemons and containers (orphans inside a PID
 * namespace are adopted by its first process, so the tree holds all of them).
 */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      // The command name (2nd field) may hold spaces; the parent id follows its closing ')'.
      const ppid = Number(
        readFileSync(`/proc/${d}/stat`, 'utf8')
          .replace(/^.*\) \S /s, '')
          .split(' ')[0],
      );
      children.set(ppid, [...(children.get(ppid) ?? []), Number(d)]);
    } catch {
      // ended meanwhile
    }
  }
  const tree: number[] = [];
  const visit = (p: number) => {
    tree.push(p);
    for (const c of children.get(p) ?? []) visit(c);
  };
  if (alive(root)) visit(root);
  return tree;
}

/** Proportional set size (bytes) of the processes: their own share of the memory they map. */
export function pssBytes(pids: readonly number[]): number {
  let total = 0;
  for (const p of pids) {
    try {
      const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${p}/smaps_rollup`, 'utf8'));
      if (m) total += Number(m[1]) * 1024;
    } catch {
      // ended meanwhile
    }
  }
  return total;
}
