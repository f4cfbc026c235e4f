import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export const FIXTURE = join(__dirname, 'program-fixture.ts');
const WORKSPACE_TSCONFIG = join(__dirname, '..', '..', '..', '..', '..', '..', 'tsconfig.base.json');

export interface FixtureRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface FixtureOptions {
  env?: Record<string, string>;
  /** Working directory (where runProgram looks for `.env`); a fresh empty temp dir by default. */
  cwd?: string;
  /** Called once the child prints `ready`, with the child. */
  onReady?: (child: ChildProcess) => void;
  /** Kill the child (and fail) after this long; generous, only a safety net against hangs. */
  timeoutMs?: number;
}

/** Variables a developer's shell may set that would change what the fixture reads. */
const scrubbed = ['TSR_LOG', 'TSR_ENV_FILE', 'BROKER_HOST', 'BROKER_PORT', 'FIXTURE_MODE', 'FIXTURE_VERBOSE', 'NODE_OPTIONS'];

export function emptyDir(): string {
  return mkdtempSync(join(tmpdir(), 'tsr-fixture-'));
}

/** Runs the fixture program with `node --import tsx` (one process: signals reach it directly). */
export function runFixture(args: string[], options: FixtureOptions = {}): Promise<FixtureRun> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !scrubbed.includes(k)) env[k] = v;
  // The fixture runs in a folder of its own: tsx finds the workspace's path aliases by name.
  Object.assign(env, { NODE_NO_WARNINGS: '1', TSX_TSCONFIG_PATH: WORKSPACE_TSCONFIG }, options.env);
  const tsx = pathToFileURL(require.resolve('tsx')).href;
  const ownDir = options.cwd === undefined ? emptyDir() : undefined;
  const child = spawn(process.execPath, ['--import', tsx, FIXTURE, ...args], {
    cwd: options.cwd ?? ownDir,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let ready = false;
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
    if (!ready && /^ready$/m.test(stdout)) {
      ready = true;
      options.onReady?.(child);
    }
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`fixture timed out; stdout: ${stdout} stderr: ${stderr}`));
    }, options.timeoutMs ?? 20_000);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (ownDir) rmSync(ownDir, { recursive: true, force: true });
      resolve({ code, signal, stdout, stderr });
    });
  });
}
