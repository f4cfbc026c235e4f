/**
 * Saturation: every target under the same closed-loop load, for each size and worker count; the
 * throughput target (broker ≥ 0.8 × bare forwarder) and the LRU forwarder diagnostic.
 */
import type { Spread } from '../stats';
import type { TargetKind } from '../targets';
import { type Table, fmtMedian, fmtSpread, pair, sizeLabel } from './format';
import { type RunIndex, rpsRatio } from './runs';

export interface SaturationRow {
  size: number;
  workers: number;
  rps: Partial<Record<TargetKind, Spread>>;
  /** broker / forwarder, paired per repetition. */
  ratio: Spread;
  /** LRU forwarder / forwarder, paired per repetition (diagnostic). */
  lruRatio?: Spread;
  /** broker / LRU forwarder, paired per repetition (diagnostic). */
  brokerToLru?: Spread;
  p50: Partial<Record<TargetKind, Spread>>;
  p99: Partial<Record<TargetKind, Spread>>;
  cpuUsPerRequest: Partial<Record<TargetKind, Spread>>;
}

/** The throughput target: broker / bare forwarder, paired median. */
const TARGET_RATIO = 0.8;

export function summarizeSaturation(x: RunIndex): SaturationRow[] {
  const rows: SaturationRow[] = [];
  for (const size of x.sizes)
    for (const workers of x.workerCounts) {
      const row: SaturationRow = {
        size,
        workers,
        rps: x.perKind('saturation', size, workers, (r) => r.requestsPerSecond),
        ratio: x.paired('saturation', 'broker', 'forwarder', size, workers, rpsRatio),
        p50: x.perKind('saturation', size, workers, (r) => r.latency.p50),
        p99: x.perKind('saturation', size, workers, (r) => r.latency.p99),
        cpuUsPerRequest: x.perKind('saturation', size, workers, (r) => r.cpuUsPerRequest),
      };
      if (row.rps['forwarder-lru']) {
        row.lruRatio = x.paired('saturation', 'forwarder-lru', 'forwarder', size, workers, rpsRatio);
        row.brokerToLru = x.paired('saturation', 'broker', 'forwarder-lru', size, workers, rpsRatio);
      }
      if (row.rps.broker) rows.push(row);
    }
  return rows;
}

export function throughputChecks(rows: SaturationRow[]): string[] {
  if (!rows.length) return [];
  const met = rows.filter((r) => r.ratio.median >= TARGET_RATIO);
  return [
    `throughput target (broker >= ${TARGET_RATIO} x bare forwarder): met in ${met.length} of ${rows.length} cases` +
      `; ratio medians ${rows.map((r) => `${sizeLabel(r.size)}/W${r.workers} ${r.ratio.median.toFixed(2)}`).join(', ')}`,
  ];
}

export const lruChecks = (rows: SaturationRow[]): string[] =>
  rows
    .filter((r) => r.lruRatio && r.brokerToLru)
    .map(
      (r) =>
        `diagnostic, ${sizeLabel(r.size)}, ${r.workers} worker(s): LRU forwarder / bare forwarder ${r.lruRatio?.median.toFixed(2)} (the one-request-per-worker rule alone), ` +
        `broker / LRU forwarder ${r.brokerToLru?.median.toFixed(2)} (what our code costs beyond the rule)`,
    );

export function saturationTable(rows: SaturationRow[]): Table {
  const hasLru = rows.some((r) => r.rps['forwarder-lru']);
  return {
    title: 'Saturation throughput (closed loop), requests/s: median [min–max] over repetitions',
    head: [
      'size',
      'workers',
      'broker',
      'bare forwarder',
      'broker / forwarder',
      ...(hasLru ? ['LRU forwarder', 'LRU / forwarder'] : []),
      'direct (no broker)',
      'CPU µs/req broker',
      'CPU µs/req forwarder',
      'p50 / p99 ms broker',
      'p50 / p99 ms direct',
    ],
    rows: rows.map((r) => [
      sizeLabel(r.size),
      String(r.workers),
      fmtSpread(r.rps.broker),
      fmtSpread(r.rps.forwarder),
      fmtSpread(r.ratio, 2),
      ...(hasLru ? [fmtSpread(r.rps['forwarder-lru']), r.lruRatio ? fmtSpread(r.lruRatio, 2) : '–'] : []),
      fmtSpread(r.rps.direct),
      fmtMedian(r.cpuUsPerRequest.broker, 1),
      fmtMedian(r.cpuUsPerRequest.forwarder, 1),
      pair(r.p50.broker, r.p99.broker),
      pair(r.p50.direct, r.p99.direct),
    ]),
    notes: [
      'ratio = broker / bare forwarder, paired within each repetition (same load, runs seconds apart).',
      'CPU µs/req = CPU time of the broker (or forwarder) process, all threads, per request: less sensitive to the noisy machine than req/s.',
      'closed-loop latency at saturation mostly restates throughput (Little: in flight / throughput); see the half-saturation table.',
    ],
  };
}
