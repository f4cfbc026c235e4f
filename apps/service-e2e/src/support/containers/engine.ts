// What the container suites need from the engine before and after the suites run: the images'
// names, the docker CLI, and the label-based cleanup (global setup and teardown use this module).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The repository root (this file is apps/service-e2e/src/support/containers/engine.ts). No path
 * aliases here: Jest's global setup and teardown load this module outside its module mapping.
 */
export const repoRoot = join(__dirname, '..', '..', '..', '..', '..');

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
export function run(
  file: string,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<RunResult> {
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

const lines = (text: string) =>
  text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);

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
      (
        await run('docker', [
          'ps',
          '-a',
          '--filter',
          'label=com.docker.compose.project',
          '--format',
          '{{.ID}} {{.Label "com.docker.compose.project"}}',
        ])
      ).stdout
        .split('\n')
        .filter((l) => l.split(' ')[1]?.startsWith(COMPOSE_PREFIX))
        .join('\n'),
      composeOwner,
    ),
  ];
  if (containers.length) await run('docker', ['rm', '-f', '-v', ...containers]);
  const networks = [
    ...mine(
      (await run('docker', ['network', 'ls', '--filter', `label=${LABEL}`, '--format', `{{.ID}} {{.Label "${LABEL}"}}`])).stdout,
      byLabel,
    ),
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
