/**
 * `--profile`: runs the broker and the forwarders under the same closed-loop load with
 * `node --cpu-prof` and keeps each .cpuprofile (open it in Chrome DevTools, VS Code or speedscope:
 * they read V8's format, this tool does not parse it), with the process CPU time per request.
 */
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Bundles } from './bundle';
import { runGenerators } from './scenario';
import { cpuUsPerRequest } from './usage';
import { type TargetKind, startTarget, stopTarget, targetLabel } from './targets';

export interface ProfileOptions {
  kinds: TargetKind[];
  workers: number;
  size: number;
  inflight: number;
  durationMs: number;
  dir: string;
  /** V8 sampling interval in µs (V8's own default is 1000; smaller gives finer detail). */
  intervalUs: number;
  /** The workers' --credit behind our broker, as in the benchmark proper. */
  credit: number;
}

export interface ProfileResult {
  kind: TargetKind;
  requestsPerSecond: number;
  /** CPU time per request of the whole process (all threads), µs, in the measured window. */
  cpuUsPerRequest: number;
  /** The V8 CPU profile written by the process. */
  file: string;
}

export async function profileTargets(o: ProfileOptions, bundles: Bundles, log: (text: string) => void): Promise<ProfileResult[]> {
  const results: ProfileResult[] = [];
  for (const kind of o.kinds) {
    const dir = join(o.dir, kind);
    mkdirSync(dir, { recursive: true });
    const flags = ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-interval', String(o.intervalUs)];
    const target = await startTarget(kind, o.workers, bundles, { nodeFlags: flags, credit: o.credit });
    const load = await runGenerators(
      target,
      { mode: 'closed', size: o.size, inflight: o.inflight, generators: 1, sockets: 4, warmupMs: 300, durationMs: o.durationMs },
      bundles,
    );
    await stopTarget(target); // SIGTERM: the process exits normally and writes its profile
    const file = readdirSync(dir)
      .filter((f) => f.endsWith('.cpuprofile'))
      .map((f) => join(dir, f))
      .sort()
      .pop();
    if (!file) throw new Error(`${kind} wrote no profile in ${dir}`);
    const r = {
      kind,
      requestsPerSecond: load.requestsPerSecond,
      cpuUsPerRequest: cpuUsPerRequest(load.usage, load.requestsPerSecond),
      file,
    };
    results.push(r);
    log(
      `${targetLabel[kind]} (${o.workers} worker(s), ${o.size} B, ${o.inflight} in flight): ${r.requestsPerSecond.toFixed(0)} req/s, process CPU ${r.cpuUsPerRequest.toFixed(1)} µs per request; profile: ${file}`,
    );
  }
  return results;
}
