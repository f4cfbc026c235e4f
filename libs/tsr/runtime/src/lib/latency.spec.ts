import { formatSummary, percentile, summarize } from './latency';

describe('latency summary', () => {
  it('nearest-rank percentiles', () => {
    const sorted = Float64Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(sorted, 50)).toBe(50);
    expect(percentile(sorted, 95)).toBe(95);
    expect(percentile(sorted, 99)).toBe(99);
    expect(percentile(sorted, 100)).toBe(100);
    expect(percentile(Float64Array.of(7), 99)).toBe(7);
    expect(percentile(new Float64Array(0), 50)).toBeNaN();
  });

  it('summarizes unsorted samples numerically, not as text', () => {
    const s = summarize(Float64Array.of(10, 9, 100, 1, 2), { requests: 6, errors: 1, retried: 2, stray: 0 }, 2);
    expect(s).toMatchObject({ requests: 6, answered: 5, errors: 1, retried: 2, requestsPerSecond: 2.5, p50: 9, max: 100 });
    expect(formatSummary(s)).toContain('throughput 3 req/s');
    expect(formatSummary(s)).toContain('p50 9.00 ms');
  });
});
