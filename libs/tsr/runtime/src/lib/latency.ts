/** Latency samples (ms) and the summary the load mode prints. */
export interface LoadSummary {
  requests: number;
  answered: number;
  errors: number;
  retried: number;
  /** Answers refused because they answered another request (a duplicate somewhere upstream). */
  stray: number;
  seconds: number;
  requestsPerSecond: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentile of sorted samples. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

export function summarize(
  latenciesMs: Float64Array,
  counts: { requests: number; errors: number; retried: number; stray: number },
  seconds: number,
): LoadSummary {
  const sorted = latenciesMs.slice().sort();
  return {
    ...counts,
    answered: sorted.length,
    seconds,
    requestsPerSecond: sorted.length / seconds,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted.length ? sorted[sorted.length - 1] : NaN,
  };
}

export function formatSummary(s: LoadSummary): string {
  const ms = (v: number) => `${v.toFixed(2)} ms`;
  return [
    `requests ${s.requests}, answered ${s.answered}, errors ${s.errors}, retried ${s.retried}, stray answers ${s.stray}, ${s.seconds.toFixed(2)} s`,
    `throughput ${s.requestsPerSecond.toFixed(0)} req/s`,
    s.answered === 0 ? 'latency: no answers' : `latency p50 ${ms(s.p50)}, p95 ${ms(s.p95)}, p99 ${ms(s.p99)}, max ${ms(s.max)}`,
  ].join('\n');
}
