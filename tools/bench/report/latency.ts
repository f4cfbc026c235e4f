/**
 * Latency at half of the broker's saturation: open-loop runs at the same rate against broker,
 * bare forwarder, C forwarder (when built) and direct, in rounds; each round is a trial, and what
 * the broker adds is paired within it. The target: broker p99 - direct p99 < 1 ms.
 */
import type { Spread } from '../stats';
import { type TargetKind, latencyKinds } from '../targets';
import { type Table, fmtMedian, fmtSpread, pair, sizeLabel } from './format';
import type { RunIndex } from './runs';

export interface LatencyRow {
  size: number;
  workers: number;
  rate: Spread;
  achieved: Partial<Record<TargetKind, Spread>>;
  p50: Partial<Record<TargetKind, Spread>>;
  p99: Partial<Record<TargetKind, Spread>>;
  p999: Partial<Record<TargetKind, Spread>>;
  /** CPU of the broker, forwarder or direct process per request at that rate. */
  cpuUsPerRequest: Partial<Record<TargetKind, Spread>>;
  /** broker p99 - direct p99, paired per trial (ms). */
  addedP99: Spread;
  addedP50: Spread;
  /** broker p99 - forwarder p99 (ms). */
  addedP99VsForwarder: Spread;
  /** forwarder p99 - direct p99 (ms): what two extra hops cost any broker in Node on this machine. */
  floorP99: Spread;
  /** C forwarder p99 - direct p99 (ms): the same floor without Node (n = 0 when it was not built). */
  cFloorP99: Spread;
}

/** The latency target: what the broker may add to p99, in ms. */
const TARGET_MS = 1;

export function summarizeLatency(x: RunIndex, workers: number): LatencyRow[] {
  /** a's p99 minus b's in the half-saturation runs, paired within each trial. */
  const p99Gap = (a: TargetKind, b: TargetKind, size: number) =>
    x.paired('latency', a, b, size, workers, (p, q) => p.latency.p99 - q.latency.p99);
  return x.sizes
    .map((size) => ({
      size,
      workers,
      rate: x.over('latency', 'broker', size, workers, (r) => r.rate ?? NaN),
      achieved: x.perKind('latency', size, workers, (r) => r.requestsPerSecond),
      p50: x.perKind('latency', size, workers, (r) => r.latency.p50),
      p99: x.perKind('latency', size, workers, (r) => r.latency.p99),
      p999: x.perKind('latency', size, workers, (r) => r.latency.p999),
      cpuUsPerRequest: x.perKind('latency', size, workers, (r) => r.cpuUsPerRequest),
      addedP99: p99Gap('broker', 'direct', size),
      addedP50: x.paired('latency', 'broker', 'direct', size, workers, (p, q) => p.latency.p50 - q.latency.p50),
      addedP99VsForwarder: p99Gap('broker', 'forwarder', size),
      floorP99: p99Gap('forwarder', 'direct', size),
      cFloorP99: p99Gap('forwarder-c', 'direct', size),
    }))
    .filter((r) => r.rate.n > 0);
}

export const latencyChecks = (rows: LatencyRow[]): string[] =>
  rows.map(
    (r) =>
      `latency target (p99 added < ${TARGET_MS} ms at half saturation), ${sizeLabel(r.size)}, ${r.workers} worker(s), ${Math.round(r.rate.median)} req/s: ` +
      `${r.addedP99.median < TARGET_MS ? 'met' : 'NOT met'} (broker p99 - direct p99 = ${r.addedP99.median.toFixed(2)} ms, range ${r.addedP99.min.toFixed(2)} to ${r.addedP99.max.toFixed(2)}; ` +
      `the bare forwarder alone adds ${r.floorP99.median.toFixed(2)} ms${r.cFloorP99.n ? `, a C forwarder on libzmq ${r.cFloorP99.median.toFixed(2)} ms` : ''}, ` +
      `the broker beyond the bare forwarder ${r.addedP99VsForwarder.median.toFixed(2)} ms; ${r.addedP99.n} paired trials)`,
  );

export function latencyTable(rows: LatencyRow[]): Table {
  const withC = rows.some((r) => r.cFloorP99.n > 0);
  return {
    title: 'Latency at half of the broker’s saturation (open loop, the same rate for every target), ms: median over trials',
    head: [
      'size',
      'workers',
      'rate req/s',
      'broker p50 / p99',
      'forwarder p50 / p99',
      ...(withC ? ['C forwarder p50 / p99'] : []),
      'direct p50 / p99',
      'broker p99.9',
      'added p99 vs direct',
      'added p99 vs forwarder',
      'forwarder p99 vs direct',
      ...(withC ? ['C forwarder p99 vs direct'] : []),
      `CPU µs/req broker / forwarder${withC ? ' / C' : ''} / direct`,
      `target < ${TARGET_MS} ms`,
    ],
    rows: rows.map((r) => [
      sizeLabel(r.size),
      String(r.workers),
      fmtSpread(r.rate),
      pair(r.p50.broker, r.p99.broker),
      pair(r.p50.forwarder, r.p99.forwarder),
      ...(withC ? [pair(r.p50['forwarder-c'], r.p99['forwarder-c'])] : []),
      pair(r.p50.direct, r.p99.direct),
      fmtMedian(r.p999.broker, 2),
      fmtSpread(r.addedP99, 2),
      fmtSpread(r.addedP99VsForwarder, 2),
      fmtSpread(r.floorP99, 2),
      ...(withC ? [fmtSpread(r.cFloorP99, 2)] : []),
      latencyKinds(withC)
        .map((k) => fmtMedian(r.cpuUsPerRequest[k], 0))
        .join(' / '),
      r.addedP99.median < TARGET_MS ? 'met' : 'not met',
    ]),
    notes: [
      'a trial is one latency round of a repetition (every target in turn, order rotated); added = broker minus baseline, paired within a trial.',
      'forwarder p99 vs direct is the floor: what the two extra hops cost a broker that does nothing' +
        (withC ? '; the C forwarder (libzmq, no Node) is the same floor for any ZeroMQ broker.' : '.') +
        ' Latency is measured in the generator from send to reply.',
    ],
  };
}
