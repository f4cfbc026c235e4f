/** Our client app's own load mode (REQ sockets, closed loop) against broker, bare forwarder and direct: a cross-check, and the client's cost. */
import type { Spread } from '../stats';
import type { TargetKind } from '../targets';
import { type Table, fmtSpread, pair, sizeLabel } from './format';
import { type RunIndex, rpsRatio } from './runs';

export interface ClientAppRow {
  size: number;
  rps: Partial<Record<TargetKind, Spread>>;
  ratio: Spread;
  p50: Partial<Record<TargetKind, Spread>>;
  p99: Partial<Record<TargetKind, Spread>>;
  clientCores: Spread;
}

export const summarizeClientApp = (x: RunIndex, workers: number): ClientAppRow[] =>
  x.sizes
    .map((size) => ({
      size,
      rps: x.perKind('client-app', size, workers, (r) => r.requestsPerSecond),
      ratio: x.paired('client-app', 'broker', 'forwarder', size, workers, rpsRatio),
      p50: x.perKind('client-app', size, workers, (r) => r.latency.p50),
      p99: x.perKind('client-app', size, workers, (r) => r.latency.p99),
      clientCores: x.over('client-app', 'broker', size, workers, (r) => r.usage.find((u) => u.label === 'client')?.cpuCores ?? NaN),
    }))
    .filter((r) => r.ratio.n > 0);

export const clientAppTable = (rows: ClientAppRow[]): Table => ({
  title: `Our client app's load mode (REQ sockets, closed loop), requests/s: median [min–max]`,
  head: [
    'size',
    'broker',
    'bare forwarder',
    'broker / forwarder',
    'direct',
    'p50 / p99 ms broker',
    'p50 / p99 ms direct',
    'client CPU cores',
  ],
  rows: rows.map((r) => [
    sizeLabel(r.size),
    fmtSpread(r.rps.broker),
    fmtSpread(r.rps.forwarder),
    fmtSpread(r.ratio, 2),
    fmtSpread(r.rps.direct),
    pair(r.p50.broker, r.p99.broker),
    pair(r.p50.direct, r.p99.direct),
    fmtSpread(r.clientCores, 2),
  ]),
});
