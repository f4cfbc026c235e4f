/** Resident memory of each kind of process: idle right after start, and the peak under the load of each size. */
import type { IdleRecord } from '../matrix';
import { type Spread, spread } from '../stats';
import type { TargetKind } from '../targets';
import { type Table, fmtMedian, fmtSpread, sizeLabel } from './format';
import type { RunIndex } from './runs';

export interface RssRow {
  process: string;
  idleMiB: Spread;
  loadMiB: Record<number, Spread>;
}

const MiB = (k: number | undefined) => (k === undefined ? NaN : k / 1024);

/** With `workers` behind broker and forwarder (the latency block's). */
export function summarizeMemory(x: RunIndex, idle: IdleRecord[], workers: number): RssRow[] {
  const idleOf = (target: TargetKind | 'client', label: string, w?: number) =>
    spread(idle.filter((i) => i.target === target && (w === undefined || i.workers === w)).map((i) => MiB(i.rssKiB[label])));
  const loadOf = (phase: 'saturation' | 'client-app', target: TargetKind, label: string, w: number | undefined) =>
    Object.fromEntries(
      x.sizes.map((size) => [size, x.over(phase, target, size, w, (r) => MiB(r.usage.find((u) => u.label === label)?.peakRssKiB))]),
    ) as Record<number, Spread>;
  const W = workers;
  return [
    {
      process: `broker (${W} worker${W > 1 ? 's' : ''})`,
      idleMiB: idleOf('broker', 'broker', W),
      loadMiB: loadOf('saturation', 'broker', 'broker', W),
    },
    { process: 'worker (behind broker)', idleMiB: idleOf('broker', 'worker1', W), loadMiB: loadOf('saturation', 'broker', 'worker1', W) },
    { process: 'client (our app, load mode)', idleMiB: idleOf('client', 'client'), loadMiB: loadOf('client-app', 'broker', 'client', W) },
    { process: 'bare forwarder', idleMiB: idleOf('forwarder', 'forwarder', W), loadMiB: loadOf('saturation', 'forwarder', 'forwarder', W) },
    { process: 'direct reply server', idleMiB: idleOf('direct', 'direct'), loadMiB: loadOf('saturation', 'direct', 'direct', undefined) },
    { process: 'load generator', idleMiB: spread([]), loadMiB: loadOf('saturation', 'broker', 'loadgen1', W) },
  ];
}

export function memoryTable(rows: RssRow[]): Table {
  const sizes = Object.keys(rows[0]?.loadMiB ?? {}).map(Number);
  return {
    title: 'Resident memory (RSS), MiB: idle after start, and peak under load of each size (median)',
    head: ['process', 'idle', ...sizes.map((z) => `load ${sizeLabel(z)}`)],
    rows: rows.map((r) => [r.process, fmtSpread(r.idleMiB, 1), ...sizes.map((z) => fmtMedian(r.loadMiB[z], 1))]),
  };
}
