import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { workspaceRoot } from './workspace';

/** The built programs, as `nx build <app>` leaves them. */
export type App = 'broker' | 'worker' | 'client';
export const appMain = (app: App): string => join(workspaceRoot, 'dist', 'apps', app, 'main.js');

/** A started program with everything it printed so far. */
export type AppProcess = NodeProcess;

/** Runs a Node script as a child process, recording its output. */
export const spawnScript = (name: string, script: string, args: readonly string[] = [], env: NodeJS.ProcessEnv = {}): AppProcess =>
  spawnNode(name, [script, ...args], env);

/** Runs one of the built programs, logging at info level unless told otherwise. */
export const spawnApp = (app: App, args: readonly string[] = [], env: NodeJS.ProcessEnv = {}): AppProcess =>
  spawnScript(app, appMain(app), args, { TSR_LOG: 'info', ...env });

/** Waits until the program has printed a line matching `pattern`, or fails after `timeoutMs`. */
export async function waitForOutput(proc: NodeProcess, pattern: RegExp, timeoutMs = 10_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = proc.stdout.match(pattern) ?? proc.stderr.match(pattern);
    if (match) return match[0];
    if (proc.child.exitCode !== null)
      throw new Error(`${proc.label} exited (${proc.child.exitCode}) before printing ${pattern}: ${proc.stderr}`);
    if (Date.now() > deadline)
      throw new Error(`${proc.label} did not print ${pattern} within ${timeoutMs} ms; it printed: ${proc.stdout}${proc.stderr}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Sends `signal` and measures how long the process takes to end. */
export async function stopApp(proc: AppProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<{ code: number | string; ms: number }> {
  const start = Date.now();
  if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill(signal);
  const code = await proc.exited;
  return { code, ms: Date.now() - start };
}

/** A child process whose output is captured: a Node program (a tools/ script, a built app under a profiler) or a native baseline. */
export interface NodeProcess {
  readonly child: ChildProcess;
  /** A name for messages, e.g. `forwarder` or `loadgen#2`. */
  readonly label: string;
  stdout: string;
  stderr: string;
  /** Resolves with the exit code (or the signal's name) once the process has ended and its output is all read. */
  readonly exited: Promise<number | string>;
}

/** Starts `node ...argv` (argv = node flags, then the script and its arguments), capturing its output. */
export const spawnNode = (label: string, argv: readonly string[], env: NodeJS.ProcessEnv = {}): NodeProcess =>
  spawnProgram(label, process.execPath, argv, env);

/** Starts any program, capturing its output (a native baseline of the benchmark, say). */
export function spawnProgram(label: string, program: string, argv: readonly string[], env: NodeJS.ProcessEnv = {}): NodeProcess {
  const child = spawn(program, argv, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const proc = {
    child,
    label,
    stdout: '',
    stderr: '',
    // 'close', not 'exit': only then has all of its output been read (under load the last lines
    // can arrive after 'exit', and a test would see a client that printed nothing).
    exited: new Promise<number | string>((resolve) => child.once('close', (code, signal) => resolve(code ?? signal ?? -1))),
  };
  child.stdout?.on('data', (d: Buffer) => (proc.stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (proc.stderr += d.toString()));
  return proc;
}

/** Sends `signal`, and SIGKILL if the process has not ended after `graceMs`. */
export async function stopNode(
  proc: Pick<NodeProcess, 'child' | 'exited'>,
  signal: NodeJS.Signals = 'SIGTERM',
  graceMs = 3000,
): Promise<number | string> {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null) return proc.exited;
  proc.child.kill(signal);
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), graceMs);
  try {
    return await proc.exited;
  } finally {
    clearTimeout(timer);
  }
}
