import { chartsMarkdown } from '../chart';
import type { Phase, RunRecord } from '../matrix';
import type { TargetKind } from '../targets';
import { runRecord } from './__fixtures__/run-record';
import { summarize, tables } from './index';

interface Figures {
  rps: number;
  /** Cores of the first broker, and of the second (two brokers only). */
  cores: [number, number?];
  p99?: number;
  lost?: number;
  moves?: number;
  wants?: number;
}

/** A run of the several-brokers experiment: 4 workers, 16 B, one second measured. */
function run(phase: Phase, rep: number, credit: number, target: TargetKind, f: Figures, round?: number): RunRecord {
  const [first, second] = f.cores;
  const brokers =
    second === undefined
      ? [{ label: 'broker', cpuCores: first, peakRssKiB: 60_000 }]
      : [
          { label: 'broker', cpuCores: first, peakRssKiB: 60_000 },
          { label: 'broker2', cpuCores: second, peakRssKiB: 60_000 },
        ];
  return {
    ...runRecord({
      phase,
      rep,
      round,
      target,
      open: phase === 'brokers-latency',
      inflight: 64,
      rate: 5_000,
      rps: f.rps,
      p99: f.p99 ?? 4,
      usage: [
        ...brokers,
        { label: 'worker1', cpuCores: 0.2, peakRssKiB: 50_000 },
        { label: 'loadgen1', cpuCores: 0.4, peakRssKiB: 70_000 },
      ],
      brokerCores: first + (second ?? 0),
    }),
    unanswered: f.lost ?? 0,
    credit,
    creditMoves: target === 'broker' ? 0 : (f.moves ?? 0),
    creditWants: target === 'broker' ? 0 : (f.wants ?? 0),
  };
}

describe('several brokers: two brokers sharing their workers against one', () => {
  // two repetitions at credit 4; the machine is half as fast in the second: the ratios stay
  const runs = [1, 2].flatMap((rep) => {
    const k = rep === 1 ? 1 : 0.5;
    return [
      run('brokers-saturation', rep, 4, 'broker', { rps: 10_000 * k, cores: [0.2 * k] }),
      run('brokers-saturation', rep, 4, 'brokers-2', { rps: 9_000 * k, cores: [0.108 * k, 0.108 * k], moves: 90 * k, wants: 45 * k }),
      run('brokers-saturation', rep, 4, 'brokers-2-one', { rps: 10_000 * k, cores: [0.2 * k, 0.01 * k] }),
      ...[1, 2].flatMap((round) => [
        run('brokers-latency', rep, 4, 'broker', { rps: 5_000, cores: [0.1], p99: 2 }, round),
        run('brokers-latency', rep, 4, 'brokers-2', { rps: 5_000, cores: [0.06, 0.06], p99: 2 * (round + 1) }, round),
        run('brokers-latency', rep, 4, 'brokers-2-one', { rps: 5_000, cores: [0.1, 0.01], p99: 2 }, round),
      ]),
    ];
  });
  const s = summarize(runs, [], 1);

  it('pairs two brokers with one within each repetition at saturation, and within each round at the fixed rate', () => {
    expect(s.severalBrokers.map((r) => `${r.credit} ${r.shape}`)).toEqual(['4 brokers-2', '4 brokers-2-one']);
    const [both, one] = s.severalBrokers;
    expect(both.saturation.rps.ratio.median).toBeCloseTo(0.9);
    expect(both.saturation.rps.ratio.n).toBe(2);
    // both brokers' CPU summed: 24 µs per request against 20
    expect(both.saturation.cpu.ratio.median).toBeCloseTo(1.2);
    expect(both.saturation.secondShare.median).toBeCloseTo(0.5);
    expect(both.saturation.movesPerRequest.median).toBeCloseTo(0.01);
    expect(both.saturation.wantsPerRequest.median).toBeCloseTo(0.005);
    // four trials (two rounds of two repetitions): p99 ratios 2, 3, 2, 3
    expect(both.latency.p99.ratio.n).toBe(4);
    expect(both.latency.p99.ratio.median).toBeCloseTo(2.5);
    expect(both.rate.median).toBe(5_000);
    expect(one.saturation.rps.ratio.median).toBeCloseTo(1);
    expect(one.saturation.secondShare.median).toBeCloseTo(0.01 / 0.21);
  });

  it('states each case, and judges the target: throughput >= 0.8, p99 < 2 x, nothing lost beyond one broker', () => {
    expect(s.checks).toContain(
      'two brokers / one, credit 4, 16 B, 4 workers, load on both: throughput 0.90 [0.90–0.90], broker CPU per request 1.20 [1.20–1.20]; ' +
        'at 5,000 req/s p50 2.50 [2.00–3.00], p99 2.50 [2.00–3.00]; credit moves per request 0.010 at saturation, 0.000 at the rate; ' +
        'requests lost (two / one) 0 / 0 at saturation, 0 / 0 at the rate',
    );
    expect(s.checks.find((c) => c.startsWith('several brokers target'))).toBe(
      'several brokers target (two / one: throughput >= 0.8, p99 at the fixed rate < 2 x, no more requests lost than one broker): ' +
        'met in 1 of 2 cases; NOT met: credit 4, 16 B, 4 workers, load on both',
    );
  });

  it('counts the requests two brokers never answered, and judges a case that lost any', () => {
    const starving = [
      ...runs.filter((r) => r.rep === 1),
      run('brokers-saturation', 3, 1, 'broker', { rps: 8_000, cores: [0.2] }),
      run('brokers-saturation', 3, 1, 'brokers-2', { rps: 8_000, cores: [0.2, 0], lost: 32 }),
      run('brokers-latency', 3, 1, 'broker', { rps: 4_000, cores: [0.1] }, 1),
      run('brokers-latency', 3, 1, 'brokers-2', { rps: 2_000, cores: [0.1, 0], lost: 2_000 }, 1),
      // a repetition where the credit was shared: nothing lost, two brokers at 0.75 of one
      run('brokers-saturation', 4, 1, 'broker', { rps: 8_000, cores: [0.2] }),
      run('brokers-saturation', 4, 1, 'brokers-2', { rps: 6_000, cores: [0.15, 0.15] }),
      run('brokers-latency', 4, 1, 'broker', { rps: 4_000, cores: [0.1], p99: 2 }, 1),
      run('brokers-latency', 4, 1, 'brokers-2', { rps: 4_000, cores: [0.1, 0.1], p99: 3 }, 1),
    ];
    const row = summarize(starving, [], 1).severalBrokers.find((r) => r.credit === 1 && r.shape === 'brokers-2');
    expect([row?.saturation.lost, row?.latency.lost, row?.latency.runsLosing]).toEqual([{ two: 32, one: 0 }, { two: 2_000, one: 0 }, 1]);
    expect([row?.saturation.rps.ratio.n, row?.saturation.lossless.rps.n, row?.saturation.lossless.rps.median]).toEqual([2, 1, 0.75]);
    expect(row?.saturation.lossless.cpu.median).toBeCloseTo(2); // 50 µs per request against 25
    const checks = summarize(starving, [], 1).checks;
    expect(checks.find((c) => c.includes('credit 1, 16 B, 4 workers, load on both'))).toMatch(
      /requests lost \(two \/ one\) 32 \(0\.2 %\) \/ 0 at saturation, 2,000 \(25\.0 %\) \/ 0 at the rate \(in 2 of 4 runs of two brokers\); over the trials that lost none, throughput 0\.75 \(1 trials\), broker CPU per request 2\.00, p99 1\.50 \(1 trials\)$/,
    );
    expect(checks.find((c) => c.startsWith('several brokers target'))).toMatch(/NOT met: .*credit 1, 16 B, 4 workers, load on both/);
    const table = tables(summarize(starving, [], 1)).find((t) => t.title.startsWith('Two brokers against one at a fixed rate'));
    expect(table?.rows.find((r) => r[0] === '1')?.at(-1)).toBe('2,000 (25.0 %) / 0');
  });

  it('tabulates saturation and the fixed rate, and nothing else when nothing else ran', () => {
    const ts = tables(s);
    expect(ts.map((t) => t.title.split(' ').slice(0, 6).join(' '))).toEqual([
      'Two brokers sharing their workers against',
      'Two brokers against one at a',
    ]);
    expect(ts[0].rows[0].slice(0, 8)).toEqual([
      '4',
      '16 B',
      '4',
      'two brokers, load on both',
      '6,750 / 7,500',
      '0.90 [0.90–0.90]',
      '0.90 [0.90–0.90]', // none lost: every repetition
      '24.0 / 20.0',
    ]);
    expect(ts[0].rows[0].slice(8)).toEqual(['1.20 [1.20–1.20]', '0.50', '10.0 / 5.0', '0 / 0']);
    expect(ts[1].rows[0].slice(4, 10)).toEqual([
      '5,000 [5,000–5,000]',
      '1.25 / 0.50',
      '2.50 [2.00–3.00]',
      '5.00 / 2.00',
      '2.50 [2.00–3.00]',
      '2.50 [2.00–3.00]',
    ]);
    expect(s.checks.some((c) => c.startsWith('throughput target'))).toBe(false);
  });

  it('draws one broker beside two with each shape of load, for each credit', () => {
    const chart = chartsMarkdown(s);
    expect(chart).toContain('title "Two brokers against one: throughput at saturation (median req/s)"\n  x-axis ["credit 4"]');
    // one broker, two with the load on both, two with the load on one
    expect(chart).toMatch(
      / {2}bar \[7500\]\n {2}bar \[6750\]\n {2}bar \[7500\]\n```\nSeries, in order: broker, two brokers, load on both, two brokers, load on one\./,
    );
    expect(chart).toMatch(/p99 latency at the fixed rate \(ms, median\)"\n.*\n.*\n {2}bar \[2\]\n {2}bar \[5\]\n {2}bar \[2\]/);
  });
});
