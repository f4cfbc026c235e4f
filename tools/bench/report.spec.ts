import { chartsMarkdown } from './chart';
import type { RunRecord } from './matrix';
import { parseOptions } from './options';
import { summarize, tables } from './report';
import type { TargetKind } from './targets';

/** A latency run with the given p99 (ms); everything else is filler. */
function latencyRun(rep: number, round: number, target: TargetKind, p99: number): RunRecord {
  return {
    rep,
    round,
    phase: 'latency',
    target,
    workers: target === 'direct' ? 0 : 1,
    size: 16,
    mode: 'open',
    rate: 5000,
    requestsPerSecond: 5000,
    answered: 10_000,
    errors: 0,
    unanswered: 0,
    workersSeen: 1,
    latency: { count: 10_000, p50: p99 / 4, p90: p99 / 2, p99, p999: p99 * 2, max: p99 * 3 },
    usage: [],
    machineBusyCores: 1,
    cpuUsPerRequest: 50,
  };
}

describe('summarize: half-saturation latency', () => {
  // two repetitions of two rounds; each round is its own trial, paired only within itself
  const p99s: [number, number, number, number, number][] = [
    // rep, round, broker, forwarder, direct
    [1, 1, 3.0, 2.5, 2.0],
    [1, 2, 9.0, 8.8, 8.5],
    [2, 1, 2.6, 2.2, 1.9],
    [2, 2, 2.4, 2.3, 1.8],
  ];
  const runs = p99s.flatMap(([rep, round, b, f, d]) => [latencyRun(rep, round, 'broker', b), latencyRun(rep, round, 'forwarder', f), latencyRun(rep, round, 'direct', d)]);
  const [row] = summarize(runs, [], 1).latency;

  it('pairs broker and baselines within each trial (repetition and round)', () => {
    expect(row.addedP99.n).toBe(4);
    // broker - direct per trial: 1.0, 0.5, 0.7, 0.6; a noisy round (rep 1 round 2) does not leak into others
    expect(row.addedP99.min).toBeCloseTo(0.5);
    expect(row.addedP99.max).toBeCloseTo(1.0);
    expect(row.addedP99.median).toBeCloseTo(0.65);
    expect(row.floorP99.median).toBeCloseTo(0.4); // forwarder - direct: 0.5, 0.3, 0.3, 0.5
    expect(row.addedP99VsForwarder.median).toBeCloseTo(0.3); // 0.5, 0.2, 0.4, 0.1
  });

  it('states the verdict with the floor and the broker’s own share', () => {
    const check = summarize(runs, [], 1).checks.find((c) => c.startsWith('latency target'));
    expect(check).toMatch(/: met \(broker p99 - direct p99 = 0\.65 ms/);
    expect(check).toMatch(/bare forwarder alone adds 0\.40 ms, the broker beyond the bare forwarder 0\.30 ms; 4 paired trials/);
  });

  it('draws the p99 of each target as a Mermaid chart, in the order it names them', () => {
    const chart = chartsMarkdown(summarize(runs, [], 1));
    expect(chart).toContain('```mermaid\nxychart-beta\n  title "p99 latency at half the broker saturation (ms, median)"');
    // medians over the four trials: broker 2.8, forwarder 2.4, direct 1.95
    expect(chart).toMatch(/ {2}bar \[2\.8\]\n {2}bar \[2\.4\]\n {2}bar \[1\.95\]\n```\nSeries, in order: broker, bare forwarder, direct\./);
  });

  it('adds the C forwarder’s floor when it ran, and a column for it', () => {
    const cRuns = p99s.map(([rep, round, , , d]) => latencyRun(rep, round, 'forwarder-c', d + 0.2));
    const s = summarize([...runs, ...cRuns], [], 1);
    expect(s.latency[0].cFloorP99.median).toBeCloseTo(0.2);
    expect(s.checks.find((c) => c.startsWith('latency target'))).toMatch(/a C forwarder on libzmq 0\.20 ms/);
    const table = tables(s).find((t) => t.title.startsWith('Latency at half'));
    expect(table?.head).toContain('C forwarder p99 vs direct');
    expect(tables(summarize(runs, [], 1)).find((t) => t.title.startsWith('Latency at half'))?.head).not.toContain('C forwarder p99 vs direct');
  });
});

describe('parseOptions', () => {
  it('takes --latency-rounds, with one round in a quick run unless given', () => {
    expect(parseOptions([], '2026-01-01', '/r').latencyRounds).toBe(3);
    expect(parseOptions(['--quick'], '2026-01-01', '/r').latencyRounds).toBe(1);
    expect(parseOptions(['--quick', '--latency-rounds', '4'], '2026-01-01', '/r').latencyRounds).toBe(4);
  });

  it('rejects a round count that is not a positive integer', () => {
    expect(() => parseOptions(['--latency-rounds', '0'], '2026-01-01', '/r')).toThrow('--latency-rounds must be a positive integer');
  });
});

describe('metrics cost', () => {
  const saturationRun = (rep: number, target: TargetKind, rps: number, size = 16): RunRecord => ({
    ...latencyRun(rep, 0, target, 1),
    round: undefined,
    phase: 'saturation',
    mode: 'closed',
    size,
    requestsPerSecond: rps,
    usage: [{ label: target, cpuCores: 1, peakRssKiB: 50_000 }],
  });

  it('pairs the broker with and without metrics within each repetition and checks the 5 % target on the median ratio', () => {
    const runs = [1, 2, 3].flatMap((rep) => [saturationRun(rep, 'broker', 10_000), saturationRun(rep, 'broker-metrics', [9_900, 9_700, 10_100][rep - 1]), saturationRun(rep, 'forwarder', 12_000)]);
    const s = summarize(runs, [], 1);
    expect(s.metricsCost).toHaveLength(1);
    expect(s.metricsCost[0].ratios).toEqual([0.99, 0.97, 1.01]);
    expect(s.checks.find((c) => c.startsWith('metrics cost'))).toMatch(/^metrics cost target \(< 5 % .*\): met, median throughput with metrics \/ without 0\.990 \(cost 1\.0 %, quartiles 0\.980–1\.000\) over 3 paired runs/);
    const slow = summarize([saturationRun(1, 'broker', 10_000), saturationRun(1, 'broker-metrics', 9_000), saturationRun(1, 'forwarder', 12_000)], [], 1);
    expect(slow.checks.find((c) => c.startsWith('metrics cost'))).toMatch(/NOT met/);
  });

  it('reports what CURVE costs the same way: with / without, paired within each repetition', () => {
    const runs = [1, 2].flatMap((rep) => [saturationRun(rep, 'broker', 10_000), saturationRun(rep, 'broker-curve', [8_000, 9_000][rep - 1]), saturationRun(rep, 'forwarder', 12_000)]);
    const s = summarize(runs, [], 1);
    expect(s.curveCost[0].ratios).toEqual([0.8, 0.9]);
    expect(s.checks.find((c) => c.startsWith('CURVE cost'))).toMatch(/^CURVE cost \(.*\): median throughput with CURVE \/ without 0\.850 \(cost 15\.0 %/);
    expect(summarize(runs.filter((r) => r.target !== 'broker-curve'), [], 1).checks.some((c) => c.startsWith('CURVE cost'))).toBe(false);
  });
});
