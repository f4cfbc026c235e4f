/**
 * `--profile`: runs the broker and the forwarders (or `--profile-kinds`) under the same closed-loop
 * load with `node --cpu-prof` and keeps each .cpuprofile (open it in Chrome DevTools, VS Code or
 * speedscope: they read V8's format, this tool does not parse it), with the process CPU time per
 * request. With `--perf`, Linux perf samples the servers instead, native code and the kernel
 * included (libsodium, copies, system calls, the garbage collector's threads), which V8's sampler
 * charges to the JavaScript that called them; its report by library and symbol is kept as text.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import type { Bundles } from './bundle';
import { runGenerators } from './scenario';
import { cpuUsPerRequest } from './usage';
import { type TargetKind, startTarget, stopTarget, targetLabel } from './targets';

export interface ProfileOptions {
  kinds: TargetKind[];
  workers: number;
  size: number;
  inflight: number;
  /** DEALER sockets the requests in flight are spread over (`--sockets`). */
  sockets: number;
  durationMs: number;
  dir: string;
  /** V8 sampling interval in µs (V8's own default is 1000; smaller gives finer detail). */
  intervalUs: number;
  /** The workers' --credit behind our broker, as in the benchmark proper. */
  credit: number;
  /** The generator batches requests to our broker, as our client library does (`--client-batches`). */
  batch: boolean;
  /** V8's sampler in each Node server (a .cpuprofile), or Linux perf on the servers (a text report). */
  profiler: 'v8' | 'perf';
}

/** perf starts this long after the load, to sample the measured window only (past the generators' 300 ms warm-up). */
const PERF_START_MS = 1000;

export interface ProfileResult {
  kind: TargetKind;
  requestsPerSecond: number;
  /** CPU time per request of the whole process (all threads), µs, in the measured window. */
  cpuUsPerRequest: number;
  /** The V8 CPU profile written by the process, or perf's report. */
  file: string;
}

/** The target kinds `--profile-kinds` names, or an error listing those there are. */
export function profileKinds(names: readonly string[]): TargetKind[] {
  const known = Object.keys(targetLabel);
  const unknown = names.filter((name) => !known.includes(name));
  if (names.length === 0 || unknown.length > 0)
    throw new Error(`--profile-kinds: ${unknown.join(', ') || 'none given'}; the kinds are ${known.join(', ')}`);
  return names as TargetKind[];
}

export async function profileTargets(o: ProfileOptions, bundles: Bundles, log: (text: string) => void): Promise<ProfileResult[]> {
  const results: ProfileResult[] = [];
  for (const kind of o.kinds) {
    const dir = join(o.dir, kind);
    mkdirSync(dir, { recursive: true });
    const flags = o.profiler === 'v8' ? ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-interval', String(o.intervalUs)] : [];
    const target = await startTarget(kind, o.workers, bundles, { nodeFlags: flags, credit: o.credit });
    const loading = runGenerators(
      target,
      {
        mode: 'closed',
        size: o.size,
        inflight: o.inflight,
        generators: 1,
        sockets: o.sockets,
        warmupMs: 300,
        durationMs: o.durationMs,
        batch: o.batch,
      },
      bundles,
    );
    const servers = target.procs.slice(0, target.servers).map((p) => p.child.pid);
    const perfReport = o.profiler === 'perf' ? recordWithPerf(servers, o.durationMs - PERF_START_MS, dir) : undefined;
    const [load, perfFile] = await Promise.all([loading, perfReport]);
    await stopTarget(target); // SIGTERM: the process exits normally and writes its profile
    const file =
      perfFile ??
      readdirSync(dir)
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
      `${targetLabel[kind]} (${o.workers} worker(s), ${o.size} B, ${o.inflight} in flight over ${o.sockets} socket(s)): ${r.requestsPerSecond.toFixed(0)} req/s, process CPU ${r.cpuUsPerRequest.toFixed(1)} µs per request; profile: ${file}`,
    );
  }
  return results;
}

const run = promisify(execFile);

/** Throws, saying how to get it, where Linux perf cannot be run: before the run, not at its first profile. */
export function requirePerf(): void {
  try {
    execFileSync('perf', ['--version'], { stdio: 'pipe' });
  } catch {
    throw new Error('--perf needs Linux perf, which is not on PATH: apt-get install linux-perf (Debian)');
  }
}

/**
 * Samples `pids` (all their threads) with perf for `ms` once the load is measured, call graphs
 * kept, and writes perf's report by library and symbol next to its data; returns the report's path.
 * perf runs beside the event loop, which goes on sampling the processes' CPU and memory meanwhile.
 */
async function recordWithPerf(pids: (number | undefined)[], ms: number, dir: string): Promise<string> {
  await sleep(PERF_START_MS);
  const data = join(dir, 'perf.data');
  const seconds = String(Math.max(1, ms / 1000));
  await run('perf', ['record', '-F', '999', '-g', '-o', data, '-p', pids.join(','), '--', 'sleep', seconds]);
  const { stdout: report } = await run(
    'perf',
    ['report', '-i', data, '--stdio', '--no-children', '--sort', 'dso,sym', '-g', 'none', '--percent-limit', '0.3'],
    { maxBuffer: 64 << 20 },
  );
  const file = join(dir, 'perf-report.txt');
  writeFileSync(file, report);
  return file;
}
