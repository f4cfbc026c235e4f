// Helpers of the container suites: containers' logs, states, exits and stops through
// Testcontainers' runtime client, and (re-exported) the engine helpers and cleanup of engine.ts
// and the waits of ../wait.ts.
import { createInterface } from 'node:readline';
import { getContainerRuntimeClient } from 'testcontainers';
import { run } from './engine';

export * from './engine';
export { eventually, sleep } from '../wait';
/** Kept for the suites that import it from here. */
export { freePort } from '@tsr/testing';

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

/** The container as the engine sees it, through Testcontainers' runtime client. */
async function containerById(id: string) {
  const client = await getContainerRuntimeClient();
  return { client, container: client.container.getById(id) };
}

export async function stateOf(id: string): Promise<ContainerState> {
  const { client, container } = await containerById(id);
  return (await client.container.inspect(container)).State as ContainerState;
}

/** Rejects with `what` unless `promise` settles within `timeoutMs`. */
async function within<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>(
    (_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs)),
  );
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Waits until the container's log has `times` lines matching `pattern`; returns the matching lines.
 * Reads the followed log stream (what Testcontainers' log wait strategy reads), from the start.
 */
export async function waitForLog(id: string, pattern: RegExp, times = 1, timeoutMs = 30_000): Promise<string[]> {
  const { client, container } = await containerById(id);
  const stream = await client.container.logs(container);
  const matched: string[] = [];
  let seen = '';
  const found = new Promise<string[]>((resolve, reject) => {
    const lines = createInterface({ input: stream });
    lines.on('line', (line) => {
      seen += `${line}\n`;
      if (pattern.test(line) && matched.push(line) >= times) resolve(matched);
    });
    lines.on('close', () => reject(new Error(`the log of ${id.slice(0, 12)} ended with ${matched.length} × ${pattern}`)));
  });
  try {
    return await within(found, timeoutMs, `${times} × ${pattern} in the log of ${id.slice(0, 12)}`);
  } catch (e) {
    throw new Error(`${(e as Error).message}; log so far:\n${seen}`);
  } finally {
    stream.destroy();
  }
}

/** Waits for the container to end (the engine's wait); returns its exit code. */
export async function waitForExit(id: string, timeoutMs = 60_000): Promise<number> {
  const { container } = await containerById(id);
  const { StatusCode } = await within(
    container.wait() as Promise<{ StatusCode: number }>,
    timeoutMs,
    `container ${id.slice(0, 12)} to exit`,
  );
  return StatusCode;
}

/** Stops the container like `docker stop` (SIGTERM, then SIGKILL after the grace period); returns how long it took and the exit code. */
export async function stopTimed(id: string, graceSeconds = 10): Promise<{ ms: number; exitCode: number }> {
  const { client, container } = await containerById(id);
  const started = performance.now();
  await client.container.stop(container, { timeout: graceSeconds * 1000 });
  const ms = performance.now() - started;
  return { ms, exitCode: (await stateOf(id)).ExitCode };
}
