import type { Phase, RunRecord } from '../../matrix';
import type { ProcessUsage } from '../../usage';
import type { TargetKind } from '../../targets';

/** What a spec's run is made of; the rest is the same in every run: 4 workers, the machine 1.9 cores busy. */
export interface RunShape {
  phase: Phase;
  rep: number;
  round?: number;
  target: TargetKind;
  /** Bytes; 16 unless given. */
  size?: number;
  /** Open loop at `rate` (the latency phases), or closed with `inflight` in flight. */
  open: boolean;
  inflight: number;
  rate: number;
  rps: number;
  /** The other percentiles follow from it. */
  p99: number;
  usage: ProcessUsage[];
  /** The cores of the broker(s): cpuUsPerRequest follows from them. */
  brokerCores: number;
}

/** A run record for the report's specs, its figures from `shape`. */
export const runRecord = (s: RunShape): RunRecord => ({
  rep: s.rep,
  round: s.round,
  phase: s.phase,
  target: s.target,
  workers: 4,
  size: s.size ?? 16,
  mode: s.open ? 'open' : 'closed',
  inflight: s.open ? undefined : s.inflight,
  rate: s.open ? s.rate : undefined,
  requestsPerSecond: s.rps,
  answered: s.rps,
  errors: 0,
  unanswered: 0,
  workersSeen: 4,
  latency: { count: s.rps, p50: s.p99 / 4, p90: s.p99 / 2, p99: s.p99, p999: s.p99 * 2, max: s.p99 * 3 },
  usage: s.usage,
  machineBusyCores: 1.9,
  windowRamp: 1,
  cpuUsPerRequest: (s.brokerCores / s.rps) * 1e6,
});
