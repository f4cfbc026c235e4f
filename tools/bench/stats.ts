/** Small statistics: quantiles of samples and of repetitions (percentiles as the client's load mode reports them). */
import { percentile } from '@tsr/runtime';

/** Linear-interpolated quantile (q in 0..1) of an ascending array. */
function quantile(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const pos = (n - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export interface Spread {
  n: number;
  median: number;
  min: number;
  max: number;
  q1: number;
  q3: number;
}

/** Median and spread of repeated measurements (NaNs ignored). */
export function spread(values: readonly number[]): Spread {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  return {
    n: v.length,
    median: quantile(v, 0.5),
    min: v[0] ?? NaN,
    max: v[v.length - 1] ?? NaN,
    q1: quantile(v, 0.25),
    q3: quantile(v, 0.75),
  };
}

export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

/** Latency percentiles in ms from samples in µs. */
export function latencySummary(samplesUs: readonly number[]): LatencySummary {
  const s = Float64Array.from(samplesUs).sort();
  const ms = (us: number) => us / 1000;
  return {
    count: s.length,
    p50: ms(percentile(s, 50)),
    p90: ms(percentile(s, 90)),
    p99: ms(percentile(s, 99)),
    p999: ms(percentile(s, 99.9)),
    max: ms(s.length ? s[s.length - 1] : NaN),
  };
}

/**
 * A closed-loop window whose first half answered less than this share of its second was measured
 * while the system still sped up: loopback ping-pong between processes that sat idle takes a while
 * to regain its pace, whatever the target (docs/benchmarks/README.md, "Warm-up").
 */
export const RAMPING = 0.85;
