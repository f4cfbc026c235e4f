/**
 * `--profile`: runs the broker and the bare forwarder under the same closed-loop load with
 * `node --cpu-prof`, and prints where each spends its main-thread time, per request.
 * The .cpuprofile files are kept (open them in Chrome DevTools or VS Code).
 */
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Bundles } from './bundle';
import { type ProfileSummary, formatProfile, summarizeProfile } from './cpuprofile';
import { runGenerators } from './scenario';
import { type TargetKind, startTarget, stopTarget, targetLabel } from './targets';

export interface ProfileOptions {
  kinds: TargetKind[];
  workers: number;
  size: number;
  inflight: number;
  durationMs: number;
  dir: string;
  /** V8 sampling interval in µs (default 1000; 100 gives finer detail). */
  intervalUs: number;
  /** The workers' --credit behind our broker, as in the benchmark proper. */
  credit: number;
}

export interface ProfileResult {
  kind: TargetKind;
  requests: number;
  requestsPerSecond: number;
  summary: ProfileSummary;
  /** Main-thread time per request in the profile, µs (samples include time the thread was preempted). */
  busyUsPerRequest: number;
  /** CPU time per request of the whole process (all threads, /proc), µs, in the measured window. */
  cpuUsPerRequest: number;
  contextSwitchesPerRequest: number;
}

/** Handler names whose inclusive time is worth knowing (broker-server.ts, broker-core.ts, frames.ts). */
const HANDLERS = ['onFrontend', 'onBackend', 'clientRequest', 'workerReply', 'workerReady', 'dispatch', 'toWorker', 'toClient', 'armTimer', 'parseClientRequest', 'parseWorkerMessage', 'traza', 'send', 'receive', 'next'];

export async function profileTargets(o: ProfileOptions, bundles: Bundles, log: (text: string) => void = (t) => process.stdout.write(t + '\n')): Promise<ProfileResult[]> {
  const results: ProfileResult[] = [];
  for (const kind of o.kinds) {
    const dir = join(o.dir, kind);
    mkdirSync(dir, { recursive: true });
    const flags = ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-interval', String(o.intervalUs)];
    const target = await startTarget(kind, o.workers, bundles, { nodeFlags: flags, credit: o.credit });
    const load = await runGenerators(target, { mode: 'closed', size: o.size, inflight: o.inflight, generators: 1, sockets: 4, warmupMs: 300, durationMs: o.durationMs }, bundles);
    await stopTarget(target); // SIGTERM: the process exits normally and writes its profile
    const file = readdirSync(dir)
      .filter((f) => f.endsWith('.cpuprofile'))
      .map((f) => join(dir, f))
      .sort()
      .pop();
    if (!file) throw new Error(`${kind} wrote no profile in ${dir}`);
    const own = (url: string) => url.includes('/dist/apps/') || url.includes('/apps/broker/') || url.includes('baselines');
    const summary = summarizeProfile(file, own, HANDLERS);
    const r = {
      kind,
      requests: load.sent,
      requestsPerSecond: load.requestsPerSecond,
      summary,
      busyUsPerRequest: (summary.busyMs * 1000) / load.sent,
      cpuUsPerRequest: (load.usage[0].cpuCores / load.requestsPerSecond) * 1e6,
      contextSwitchesPerRequest: load.usage[0].contextSwitches / load.answered,
    };
    results.push(r);
    log(
      `\n${formatProfile(summary, `${targetLabel[kind]} (${o.workers} worker(s), ${o.size} B, ${o.inflight} in flight)`)}\n` +
        `  ${load.sent} requests, ${load.requestsPerSecond.toFixed(0)} req/s in the window, main thread in profile ${r.busyUsPerRequest.toFixed(1)} µs per request; ` +
        `process CPU (/proc) ${r.cpuUsPerRequest.toFixed(1)} µs per request, ${r.contextSwitchesPerRequest.toFixed(2)} context switches per request\n  profile: ${file}`,
    );
  }
  return results;
}
