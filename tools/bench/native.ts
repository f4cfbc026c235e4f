/**
 * The benchmark's native baseline: the bare forwarder in C on libzmq (native/forwarder.c), built
 * once per run into the bundles' temp dir. It needs a C compiler and libzmq's headers
 * (Debian: `apt-get install gcc libzmq3-dev`); without them the benchmark runs without it.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/** A native program the benchmark runs (with its version when it reports one), or why it is not there. */
export type NativeBuild = { path: string; version?: string } | { missing: string };

export function buildNativeForwarder(dir: string): NativeBuild {
  const path = join(dir, 'forwarder-c');
  try {
    execFileSync('cc', ['-O2', '-o', path, join(__dirname, 'native', 'forwarder.c'), '-lzmq'], { stdio: 'pipe' });
    return { path };
  } catch (e) {
    const detail = ((e as { stderr?: Buffer }).stderr?.toString() ?? (e as Error).message).trim().split('\n')[0];
    return { missing: `C forwarder not built (${detail}); to include it: apt-get install gcc libzmq3-dev` };
  }
}
