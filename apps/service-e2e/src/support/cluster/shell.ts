import { readFileSync } from 'node:fs';
import { run } from '../containers/docker';

// The few commands the cluster fixture runs, each without a shell; they reject on failure so a
// broken step stops the bring-up with its own message.

export { run } from '../containers/docker';
export { eventually } from '../wait';

/** Runs a command; resolves with its trimmed stdout, rejects with its stderr when it fails. */
export async function must(file: string, args: readonly string[], timeoutMs = 120_000): Promise<string> {
  const r = await run(file, args, { timeoutMs });
  if (r.code !== 0) throw new Error(`${file} ${args.join(' ')} failed (${r.code}): ${(r.stderr || r.stdout).trim()}`);
  return r.stdout.trim();
}

/** A command inside the network namespace of process `pid` (e.g. a node or the switch). */
export const inNetns = (pid: number, args: readonly string[], timeoutMs?: number) =>
  must('nsenter', ['-t', String(pid), '-n', '--', ...args], timeoutMs);

/** True while a process with this id exists (a zombie counts as gone). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

export const lines = (text: string) =>
  text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
