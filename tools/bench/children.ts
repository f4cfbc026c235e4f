/**
 * Every process the benchmark starts is registered here, and all of them are killed when the
 * benchmark ends for any reason: normal exit, an exception, Ctrl-C (SIGINT), SIGTERM or SIGHUP.
 */
import type { ChildProcess } from 'node:child_process';

const live = new Set<ChildProcess>();
const cleanups: (() => void)[] = [];
let installed = false;

/** Registers a child; it is forgotten once it exits. */
export function track<T extends { child: ChildProcess }>(proc: T): T {
  install();
  live.add(proc.child);
  proc.child.once('exit', () => live.delete(proc.child));
  return proc;
}

/** Something synchronous to do at exit after the children are killed (e.g. remove a temp dir). */
export function atExit(fn: () => void): void {
  install();
  cleanups.push(fn);
}

/** SIGKILLs every child still running (synchronous, so it also works inside 'exit'). */
function killAll(): void {
  for (const child of live) {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }
  live.clear();
}

export const liveCount = (): number => live.size;

function install(): void {
  if (installed) return;
  installed = true;
  process.once('exit', () => {
    killAll();
    for (const fn of cleanups.splice(0)) {
      try {
        fn();
      } catch {
        /* best effort */
      }
    }
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      process.stderr.write(`\nbench: ${signal}, stopping ${live.size} child process(es)\n`);
      process.exit(130); // runs the 'exit' handler above
    });
  }
  process.once('uncaughtException', (e) => {
    process.stderr.write(`bench: ${e.stack ?? e.message}\n`);
    process.exit(1);
  });
  process.once('unhandledRejection', (e) => {
    process.stderr.write(`bench: unhandled rejection: ${(e as Error)?.stack ?? String(e)}\n`);
    process.exit(1);
  });
}
