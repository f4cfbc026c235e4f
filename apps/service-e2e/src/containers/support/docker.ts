import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { workspaceRoot } from '@tsr/testing';

/** The repository root. */
export const repoRoot = workspaceRoot;

/** Images are tagged `tsr-<app>:<package.json version>` by the `image` targets. */
export const version: string = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).version;
export const image = (app: 'broker' | 'worker' | 'client' | 'zmq') => `tsr-${app}:${version}`;

/** Every container and network the suites make carries this label, so cleanup can find them all. */
export const LABEL = 'tsr.e2e';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command without a shell; never rejects, the exit code tells. */
export function run(file: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { cwd: options.cwd ?? repoRoot, env: options.env ?? process.env, timeout: options.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

/** `docker ...`; rejects when it fails, resolves with its trimmed stdout. */
export async function docker(...args: string[]): Promise<string> {
  const r = await run('docker', args);
  if (r.code !== 0) throw new Error(`docker ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
  return r.stdout.trim();
}

/** A container's whole log so far, stdout and stderr together. */
export async function logsOf(id: string): Promise<string> {
  const r = await run('docker', ['logs', id]);
  return r.stdout + r.stderr;
}

export interface ContainerState {
  Status: string;
  Running: boolean;
  ExitCode: number;
  StartedAt: string;
  FinishedAt: string;
  Health?: { Status: string };
}

export async function stateOf(id: string): Promise<ContainerState> {
  return JSON.parse(await docker('inspect', '-f', '{{json .State}}', id));
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `check` until it returns something other than undefined/false, or fails after `timeoutMs`. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Waits until the container's log has `times` lines matching `pattern`; returns the matching lines. */
export async function waitForLog(id: string, pattern: RegExp, times = 1, timeoutMs = 30_000): Promise<string[]> {
  let last = '';
  try {
    return await eventually(`${times} × ${pattern} in the log of ${id.slice(0, 12)}`, async () => {
      last = await logsOf(id);
      const lines = last.split('\n').filter((l) => pattern.test(l));
      return lines.length >= times ? lines : undefined;
    }, timeoutMs);
  } catch (e) {
    throw new Error(`${(e as Error).message}; log so far:\n${last}`);
  }
}

/** Waits for the container to end; returns its exit code. */
export async function waitForExit(id: string, timeoutMs = 60_000): Promise<number> {
  const r = await run('docker', ['wait', id], { timeoutMs });
  if (r.code !== 0) throw new Error(`docker wait ${id} failed: ${r.stderr.trim() || 'timeout'}`);
  return Number(r.stdout.trim());
}

/** `docker stop` with Docker's default 10 s grace period; returns how long it took and the exit code. */
export async function stopTimed(id: string, graceSeconds = 10): Promise<{ ms: number; exitCode: number }> {
  const started = performance.now();
  await docker('stop', '-t', String(graceSeconds), id);
  const ms = performance.now() - started;
  return { ms, exitCode: (await stateOf(id)).ExitCode };
}

/** Kept for the suites that import it from here. */
export { freePort } from '@tsr/testing';

/**
 * The run that owns what the suites create: the pid of the Jest process that ran the global setup
 * (it sets TSR_E2E_OWNER for the test files). Cleanup removes this run's things and those of runs
 * whose process is gone (killed), never those of another run still going on this machine.
 */
export const owner = (): string => process.env['TSR_E2E_OWNER'] ?? String(process.pid);

/** Labels for a container or network made by `suite` in this run. */
export const labelsFor = (suite: string): Record<string, string> => ({ [LABEL]: owner(), [`${LABEL}.suite`]: `${owner()}-${suite}` });

function isStale(ownerPid: string | undefined): boolean {
  if (ownerPid === owner()) return true;
  const pid = Number(ownerPid);
  if (!Number.isInteger(pid) || pid <= 0) return true; // not one of ours: unowned leftovers
  try {
    process.kill(pid, 0);
    return false; // that run is still going
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

const lines = (text: string) => text.split('\n').map((l) => l.trim()).filter(Boolean);

/** Removes the containers, then the networks, labelled `filter` (e.g. `tsr.e2e.suite=123-service`). */
export async function removeLabelled(filter: string): Promise<void> {
  const containers = lines((await run('docker', ['ps', '-aq', '--filter', `label=${filter}`])).stdout);
  if (containers.length) await run('docker', ['rm', '-f', '-v', ...containers]);
  const networks = lines((await run('docker', ['network', 'ls', '-q', '--filter', `label=${filter}`])).stdout);
  if (networks.length) await run('docker', ['network', 'rm', ...networks]);
}

/** Compose projects made by the suites are named `tsre2e<owner pid>x<random>`. */
export const COMPOSE_PREFIX = 'tsre2e';
export const composeProject = (): string => `${COMPOSE_PREFIX}${owner()}x${randomBytes(3).toString('hex')}`;
const composeOwner = (project: string) => /^tsre2e(\d+)x/.exec(project)?.[1];

/**
 * Removes what this run, or a run that was killed, left: containers and networks labelled
 * `tsr.e2e`, and compose projects `tsre2e*` (containers, then networks).
 */
export async function removeLeftovers(): Promise<void> {
  const mine = (out: string, ownerOf: (key: string) => string | undefined) =>
    lines(out)
      .map((l) => l.split(' '))
      .filter(([id, key]) => id && key !== undefined && isStale(ownerOf(key)))
      .map(([id]) => id);
  const byLabel = (key: string) => key;
  const containers = [
    ...mine((await run('docker', ['ps', '-a', '--filter', `label=${LABEL}`, '--format', `{{.ID}} {{.Label "${LABEL}"}}`])).stdout, byLabel),
    ...mine(
      (await run('docker', ['ps', '-a', '--filter', 'label=com.docker.compose.project', '--format', '{{.ID}} {{.Label "com.docker.compose.project"}}'])).stdout
        .split('\n')
        .filter((l) => l.split(' ')[1]?.startsWith(COMPOSE_PREFIX))
        .join('\n'),
      composeOwner,
    ),
  ];
  if (containers.length) await run('docker', ['rm', '-f', '-v', ...containers]);
  const networks = [
    ...mine((await run('docker', ['network', 'ls', '--filter', `label=${LABEL}`, '--format', `{{.ID}} {{.Label "${LABEL}"}}`])).stdout, byLabel),
    ...mine(
      (await run('docker', ['network', 'ls', '--filter', `name=${COMPOSE_PREFIX}`, '--format', '{{.ID}} {{.Name}}'])).stdout
        .split('\n')
        .filter((l) => l.split(' ')[1]?.startsWith(COMPOSE_PREFIX))
        .join('\n'),
      composeOwner,
    ),
  ];
  if (networks.length) await run('docker', ['network', 'rm', ...networks]);
}
