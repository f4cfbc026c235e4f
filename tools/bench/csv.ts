/** The raw runs as CSV: one line per run, small enough to commit next to the readable report. */
import type { IdleRecord, RunRecord } from './matrix';

const cell = (v: unknown) =>
  v === undefined || (typeof v === 'number' && !Number.isFinite(v))
    ? ''
    : typeof v === 'number'
      ? String(Math.round(v * 1000) / 1000)
      : String(v);

/** Runs, with the target process's usage and each other process's cores and peak RSS as `label:cores:rssKiB`; the workers' credit and the lease counters where known. */
export function runsCsv(runs: readonly RunRecord[]): string {
  const head =
    'rep,round,phase,target,workers,size,mode,inflight,rate,rps,answered,errors,unanswered,workers_seen,p50_ms,p90_ms,p99_ms,p999_ms,max_ms,target_cpu_us_per_req,machine_busy_cores,window_ramp,credit,credit_moves,credit_wants,processes';
  const rows = runs.map((r) =>
    [
      r.rep,
      r.round,
      r.phase,
      r.target,
      r.workers,
      r.size,
      r.mode,
      r.inflight,
      r.rate,
      r.requestsPerSecond,
      r.answered,
      r.errors,
      r.unanswered,
      r.workersSeen,
    ]
      .concat([
        r.latency.p50,
        r.latency.p90,
        r.latency.p99,
        r.latency.p999,
        r.latency.max,
        r.cpuUsPerRequest,
        r.machineBusyCores,
        r.windowRamp,
        r.credit,
        r.creditMoves,
        r.creditWants,
      ])
      .map(cell)
      .concat(r.usage.map((u) => `${u.label}:${cell(u.cpuCores)}:${cell(u.peakRssKiB)}`).join(' '))
      .join(','),
  );
  return [head, ...rows].join('\n') + '\n';
}

/** Idle RSS after start, per process (KiB). */
export function idleCsv(idle: readonly IdleRecord[]): string {
  return (
    [
      'rep,target,workers,process,rss_kib',
      ...idle.flatMap((i) => Object.entries(i.rssKiB).map(([p, kib]) => [i.rep, i.target, i.workers, p, cell(kib)].join(','))),
    ].join('\n') + '\n'
  );
}
