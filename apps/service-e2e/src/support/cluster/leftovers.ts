import { existsSync, readdirSync, readFileSync, rmSync, rmdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { killAndWait, startedBy } from './namespaces';
import { alive } from './shell';

/**
 * Where the runs keep their folders: /tmp/tsr-cluster/<run id>/ (`owner` holds the test
 * process's id, `pids` the processes the run started, one folder per node). A run killed
 * half-way leaves its folder and its processes; the next run removes them.
 */
export const STATE_ROOT = '/tmp/tsr-cluster';
/** Run ids: `tsrc` + 6 characters; they name the run's folder, cgroups and processes. */
export const RUN_PREFIX = 'tsrc';

const CGROUP_ROOT = '/sys/fs/cgroup';

/** The run's directories in the host's cgroup hierarchies (a killed engine leaves its containers' behind, empty). */
export function runCgroups(runId: string): string[] {
  const found: string[] = [];
  const walk = (dir: string, depth: number) => {
    let entries: string[];
    try {
      entries = readdirSync(dir, { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => e.name);
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.startsWith(runId)) found.push(join(dir, e));
      // cgroupfs puts a relative cgroup parent under the engine's own cgroup: a few levels down at most.
      else if (depth < 4) walk(join(dir, e), depth + 1);
    }
  };
  walk(CGROUP_ROOT, 0);
  return found;
}

/** Removes the run's (empty) cgroup directories, deepest first. */
export function removeCgroups(runId: string): void {
  const removeTree = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) removeTree(join(dir, e.name));
    rmdirSync(dir);
  };
  for (const dir of runCgroups(runId)) removeTree(dir);
}

/** The ids of the processes the run recorded (nodes and the switch). */
export function recordedPids(runId: string): number[] {
  const file = join(STATE_ROOT, runId, 'pids');
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).map(Number) : [];
}

/** Processes still running with the run's mark in their environment. */
export function markedProcesses(runId: string): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .filter((p) => startedBy(p, runId));
}

/** Kills what a run started, removes its cgroups and folder (and the root folder once empty). */
export async function removeRun(runId: string): Promise<void> {
  // The namespaces' first processes: killing them ends everything inside.
  for (const pid of recordedPids(runId)) await killAndWait(pid, runId);
  // Anything else of the run (e.g. an `unshare` whose child was never recorded).
  for (const pid of markedProcesses(runId)) await killAndWait(pid, runId);
  removeCgroups(runId);
  rmSync(join(STATE_ROOT, runId), { recursive: true, force: true });
  try {
    if (readdirSync(STATE_ROOT).length === 0) rmdirSync(STATE_ROOT);
  } catch {
    // already gone, or another run's folder appeared
  }
}

/** Runs whose test process is gone: what a killed run left behind. */
export function staleRuns(): string[] {
  if (!existsSync(STATE_ROOT)) return [];
  return readdirSync(STATE_ROOT).filter((runId) => {
    if (!runId.startsWith(RUN_PREFIX)) return false;
    const dir = join(STATE_ROOT, runId);
    try {
      return !alive(Number(readFileSync(join(dir, 'owner'), 'utf8')));
    } catch {
      // No owner recorded: a run that died before it could, unless it is just starting.
      return Date.now() - statSync(dir).mtimeMs > 60_000;
    }
  });
}

/** What of run `runId` is still on the host: processes, cgroups, its folder. Empty once torn down. */
export function runLeftovers(runId: string): string[] {
  return [
    ...markedProcesses(runId).map((p) => `process ${p}`),
    ...runCgroups(runId).map((d) => `cgroup ${d}`),
    ...(existsSync(join(STATE_ROOT, runId)) ? [`folder ${join(STATE_ROOT, runId)}`] : []),
  ];
}
