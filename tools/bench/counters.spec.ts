import { creditDelta, parseCreditCounters } from './counters';
import { cpuUsPerRequest } from './usage';

describe('the brokers’ lease counters', () => {
  const page = (moves: number, wants: number) =>
    [
      '# HELP tsr_broker_credit_moves_total Windows workers of several brokers moved here (TSR/1 CREDIT)',
      '# TYPE tsr_broker_credit_moves_total counter',
      `tsr_broker_credit_moves_total ${moves}`,
      `tsr_broker_credit_wants_total ${wants}`,
      'tsr_broker_credit_wants_total_other 99',
    ].join('\n');

  it('reads them from a /metrics page, NaN for one that is not there', () => {
    expect(parseCreditCounters(page(12, 3))).toEqual({ moves: 12, wants: 3 });
    expect(parseCreditCounters('tsr_broker_requests_total 5\n')).toEqual({ moves: NaN, wants: NaN });
  });

  it('counts what happened between two readings, NaN when nothing was read', () => {
    expect(creditDelta({ moves: 4, wants: 1 }, { moves: 10, wants: 3 })).toEqual({ moves: 6, wants: 2 });
    expect(creditDelta(undefined, undefined)).toEqual({ moves: NaN, wants: NaN });
  });
});

describe('CPU per request', () => {
  const usage = [
    { label: 'broker', cpuCores: 0.3, peakRssKiB: 1 },
    { label: 'broker2', cpuCores: 0.2, peakRssKiB: 1 },
    { label: 'worker1', cpuCores: 0.4, peakRssKiB: 1 },
  ];

  it('is the target’s first process’s, or its servers’ together (two brokers)', () => {
    expect(cpuUsPerRequest(usage, 10_000)).toBeCloseTo(30);
    expect(cpuUsPerRequest(usage, 10_000, 2)).toBeCloseTo(50);
  });
});
