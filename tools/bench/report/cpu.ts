/** Where the machine's cores went during the saturation runs: the target process, its workers, the generator, everything else. */
import type { Spread } from '../stats';
import type { TargetKind } from '../targets';
import { type Table, fmtMedian, sizeLabel } from './format';
import { KINDS, type Pick, type RunIndex, cores, generatorCores } from './runs';

export interface CpuRow {
  target: TargetKind;
  size: number;
  workers: number;
  rps: Spread;
  main: Spread;
  workersCores: Spread;
  generators: Spread;
  machine: Spread;
  others: Spread;
  /** Of the target process, all threads. */
  cpuUsPerRequest: Spread;
}

/** With `workers` behind broker and forwarder (the latency block's). */
export function summarizeCpu(x: RunIndex, workers: number): CpuRow[] {
  const rows: CpuRow[] = [];
  for (const size of x.sizes)
    for (const target of KINDS) {
      const s = (f: Pick) => x.over('saturation', target, size, workers, f);
      const row: CpuRow = {
        target,
        size,
        workers: target === 'direct' ? 0 : workers,
        rps: s((r) => r.requestsPerSecond),
        main: s((r) => r.usage[0].cpuCores),
        workersCores: s((r) => cores(r, (l) => l.startsWith('worker'))),
        generators: s(generatorCores),
        machine: s((r) => r.machineBusyCores),
        others: s((r) => r.machineBusyCores - cores(r)),
        cpuUsPerRequest: s((r) => r.cpuUsPerRequest),
      };
      if (row.rps.n > 0) rows.push(row);
    }
  return rows;
}

export const cpuTable = (rows: CpuRow[]): Table => ({
  title: 'Where the 2 cores went during the saturation runs (CPU cores used, median)',
  head: ['target', 'size', 'req/s', 'target process', 'workers', 'load generator', 'machine busy', 'other processes', 'target CPU µs/req'],
  rows: rows.map((r) => [
    r.target,
    sizeLabel(r.size),
    fmtMedian(r.rps),
    fmtMedian(r.main, 2),
    fmtMedian(r.workersCores, 2),
    fmtMedian(r.generators, 2),
    fmtMedian(r.machine, 2),
    fmtMedian(r.others, 2),
    fmtMedian(r.cpuUsPerRequest, 1),
  ]),
  notes: [
    `with ${rows.find((r) => r.target !== 'direct')?.workers ?? '?'} worker(s); "target" is the broker, forwarder or direct process; "other processes" = machine busy minus everything the benchmark started.`,
    'machine busy near 2.0 means the machine, not one process, is the limit: every process (including the generator and other tenants) competes for the same two cores.',
  ],
});
