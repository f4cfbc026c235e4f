/**
 * The NATS baseline's server: `nats-server` from the system (Debian: `apt-get install nats-server`).
 * Without it the benchmark runs without the NATS comparison and says how to get it.
 */
import { execFileSync } from 'node:child_process';
import type { NativeBuild } from './native';

export function findNatsServer(): NativeBuild {
  for (const path of ['nats-server', '/usr/sbin/nats-server', '/usr/local/bin/nats-server']) {
    try {
      const version = execFileSync(path, ['--version'], { stdio: 'pipe', encoding: 'utf8' }).trim();
      return { path, version };
    } catch {
      /* not this one */
    }
  }
  return {
    missing:
      'nats-server not found: the NATS baseline is left out; to include it: apt-get install nats-server (Debian), or put nats-server on PATH',
  };
}
