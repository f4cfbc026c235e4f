import { chartsMarkdown } from './chart';
import { type RunRecord, natsComparisonSockets } from './matrix';
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
    windowRamp: 1,
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
  const runs = p99s.flatMap(([rep, round, b, f, d]) => [
    latencyRun(rep, round, 'broker', b),
    latencyRun(rep, round, 'forwarder', f),
    latencyRun(rep, round, 'direct', d),
  ]);
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
    expect(tables(summarize(runs, [], 1)).find((t) => t.title.startsWith('Latency at half'))?.head).not.toContain(
      'C forwarder p99 vs direct',
    );
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
    const runs = [1, 2, 3].flatMap((rep) => [
      saturationRun(rep, 'broker', 10_000),
      saturationRun(rep, 'broker-metrics', [9_900, 9_700, 10_100][rep - 1]),
      saturationRun(rep, 'forwarder', 12_000),
    ]);
    const s = summarize(runs, [], 1);
    expect(s.metricsCost).toHaveLength(1);
    expect(s.metricsCost[0].ratios).toEqual([0.99, 0.97, 1.01]);
    expect(s.checks.find((c) => c.startsWith('metrics cost'))).toMatch(
      /^metrics cost target \(< 5 % .*\): met, median throughput with metrics \/ without 0\.990 \(cost 1\.0 %, quartiles 0\.980–1\.000\) over 3 paired runs/,
    );
    const slow = summarize(
      [saturationRun(1, 'broker', 10_000), saturationRun(1, 'broker-metrics', 9_000), saturationRun(1, 'forwarder', 12_000)],
      [],
      1,
    );
    expect(slow.checks.find((c) => c.startsWith('metrics cost'))).toMatch(/NOT met/);
  });

  it('reports what CURVE costs the same way: with / without, paired within each repetition', () => {
    const runs = [1, 2].flatMap((rep) => [
      saturationRun(rep, 'broker', 10_000),
      saturationRun(rep, 'broker-curve', [8_000, 9_000][rep - 1]),
      saturationRun(rep, 'forwarder', 12_000),
    ]);
    const s = summarize(runs, [], 1);
    expect(s.curveCost[0].ratios).toEqual([0.8, 0.9]);
    expect(s.checks.find((c) => c.startsWith('CURVE cost'))).toMatch(
      /^CURVE cost \(.*\): median throughput with CURVE \/ without 0\.850 \(cost 15\.0 %/,
    );
    expect(
      summarize(
        runs.filter((r) => r.target !== 'broker-curve'),
        [],
        1,
      ).checks.some((c) => c.startsWith('CURVE cost')),
    ).toBe(false);
  });
});

describe('against NATS', () => {
  /** A run of the comparison: req/s, p99 (ms) and CPU µs per request of the target's main process. */
  const run = (rep: number, target: TargetKind, inflight: number, rps: number, p99: number, cpuUs: number): RunRecord => ({
    ...latencyRun(rep, 0, target, p99),
    round: undefined,
    phase: 'versus-nats',
    mode: 'closed',
    workers: 4,
    inflight,
    rate: undefined,
    requestsPerSecond: rps,
    cpuUsPerRequest: cpuUs,
    usage: [
      { label: target, cpuCores: (cpuUs * rps) / 1e6, peakRssKiB: 50_000 },
      { label: 'loadgen1', cpuCores: 0.4, peakRssKiB: 60_000 },
    ],
  });
  // two repetitions; the machine is twice as busy in the second: the ratios stay
  const runs = [1, 2].flatMap((rep) => {
    const k = rep === 1 ? 1 : 0.5;
    return [
      run(rep, 'broker', 32, 20_000 * k, 4, 30),
      run(rep, 'nats', 32, 40_000 * k, 5, 10),
      run(rep, 'nats-conns', 32, 16_000 * k, 8, 25),
      run(rep, 'forwarder', 32, 22_000 * k, 4, 27),
      run(rep, 'broker', 1, 3_000 * k, 1, 80),
      run(rep, 'nats', 1, 3_000 * k, 1, 60),
    ];
  });
  const s = summarize(runs, [], 1);

  it('pairs ours with each shape of NATS load within a repetition, C = 32 first', () => {
    expect(s.versusNats.map((r) => `${r.inflight} ${r.nats}`)).toEqual(['32 nats', '32 nats-conns', '1 nats']);
    const [shared, conns] = s.versusNats;
    expect(shared.rps.ratio.median).toBeCloseTo(0.5);
    expect(shared.rps.ratio.n).toBe(2);
    expect(shared.cpu.ratio.median).toBeCloseTo(3);
    expect(shared.p99.ratio.median).toBeCloseTo(0.8);
    expect(shared.generatorCores.ours.median).toBeCloseTo(0.4);
    expect(conns.rps.ratio.median).toBeCloseTo(1.25);
    expect(conns.cpu.ratio.median).toBeCloseTo(1.2);
  });

  it('judges the targets at 32 in flight against every shape of NATS load', () => {
    expect(s.checks.find((c) => c.includes('CPU per request'))).toMatch(
      /<= 1\.5 x nats-server's at 32 in flight: NOT met \(median ratios 16 B vs one connection 3\.00, 16 B vs a connection per requester 1\.20\)/,
    );
    expect(s.checks.find((c) => c.includes('throughput >='))).toMatch(
      /NOT met \(median ratios 16 B vs one connection 0\.50, 16 B vs a connection per requester 1\.25\)/,
    );
  });

  it('tabulates the ratios, and every target’s cost with the floors beside them', () => {
    const ts = tables(s);
    expect(ts[0].title).toMatch(/^Against NATS request-reply/);
    expect(ts[0].rows[0].slice(0, 6)).toEqual(['32', '16 B', 'one connection', '4', '15,000 / 30,000', '0.50 [0.50–0.50]']);
    expect(ts[1].head).toEqual([
      'requesters',
      'size',
      'broker: µs/req, req/s',
      'bare forwarder: µs/req, req/s',
      'NATS, one shared connection: µs/req, req/s',
      'NATS, a connection per requester: µs/req, req/s',
    ]);
    expect(ts[1].rows[0]).toEqual(['32', '16 B', '30.0, 15,000', '27.0, 16,500', '10.0, 30,000', '25.0, 12,000']);
  });

  it('counts the closed-loop windows measured before the load reached its pace, and names them', () => {
    expect(s.checks).toContain('warm-up: 0 of 12 closed-loop windows still ramping up (first half < 0.85 x the second)');
    const ramping = summarize([...runs, { ...run(3, 'nats', 32, 30_000, 5, 10), windowRamp: 0.6 }], [], 1);
    expect(ramping.checks).toContain(
      'warm-up: 1 of 13 closed-loop windows still ramping up (first half < 0.85 x the second): versus-nats nats 16 B',
    );
  });

  it('prints only its own tables, and no chart, when nothing else ran (--nats-only)', () => {
    expect(tables(s)).toHaveLength(2);
    expect(chartsMarkdown(s)).toBe('');
    expect(s.checks.some((c) => c.startsWith('throughput target'))).toBe(false);
  });
});

describe('parseOptions for several brokers', () => {
  it('defaults to credits 1 and 4, 4 workers, 16 B, half of saturation, a 3 s warm-up, and writes to tmp unless --out', () => {
    const o = parseOptions(['--several-brokers'], '2026-01-01', '/r');
    expect([o.severalBrokers, o.brokersCredits, o.brokersWorkers, o.brokersSizes, o.brokersRate, o.brokersWarmupMs]).toEqual([
      true,
      [1, 4],
      4,
      [16],
      0.5,
      3000,
    ]);
    expect(o.out).toBe('/r/tmp/benchmarks/2026-01-01-brokers');
    expect(parseOptions(['--several-brokers', '--out', '/x'], '2026-01-01', '/r').out).toBe('/x');
  });

  it('refuses what would not split the load over two brokers, or is no share of saturation', () => {
    expect(() => parseOptions(['--several-brokers', '--sockets', '3'], '2026-01-01', '/r')).toThrow('--sockets must be even');
    expect(() => parseOptions(['--brokers-rate', '1.5'], '2026-01-01', '/r')).toThrow('--brokers-rate: a share of saturation');
    expect(() => parseOptions(['--brokers-credits', '0,4'], '2026-01-01', '/r')).toThrow('--brokers-credits: positive integers');
    expect(() => parseOptions(['--several-brokers', '--nats-only'], '2026-01-01', '/r')).toThrow('one or the other');
  });
});

describe('parseOptions against NATS', () => {
  it('defaults to 32 and 1 requesters, 16 B and 1 KiB, 4 workers, and --nats-only writes to tmp', () => {
    const o = parseOptions(['--nats-only'], '2026-01-01', '/r');
    expect([o.natsInflight, o.natsSizes, o.natsWorkers, o.natsOnly]).toEqual([[32, 1], [16, 1024], 4, true]);
    expect(o.out).toBe('/r/tmp/benchmarks/2026-01-01-nats');
    expect(() => parseOptions(['--nats-inflight', '0'], '2026-01-01', '/r')).toThrow('--nats-inflight: positive integers');
  });

  it('warms each run against NATS up longer than the others (1.5 s, 0.8 s in a quick run), and refuses a warm-up that is not a number', () => {
    expect([parseOptions([], '2026-01-01', '/r').natsWarmupMs, parseOptions(['--quick'], '2026-01-01', '/r').natsWarmupMs]).toEqual([
      1500, 800,
    ]);
    expect(parseOptions(['--nats-warmup', '3000'], '2026-01-01', '/r').natsWarmupMs).toBe(3000);
    expect(() => parseOptions(['--nats-warmup', 'soon'], '2026-01-01', '/r')).toThrow(
      '--nats-warmup must be a whole number of milliseconds',
    );
  });

  it('opens one connection for the shared shape, one per requester for the other, and at most --sockets DEALERs for ours', () => {
    expect(natsComparisonSockets('nats', 32, 4)).toBe(1);
    expect(natsComparisonSockets('nats-conns', 32, 4)).toBe(32);
    expect(natsComparisonSockets('broker', 32, 4)).toBe(4);
    expect(natsComparisonSockets('broker', 1, 4)).toBe(1);
  });
});

describe('against NATS, with another build (--versus-apps)', () => {
  const run = (rep: number, target: TargetKind, rps: number, cpuUs: number): RunRecord => ({
    ...latencyRun(rep, 0, target, 2),
    round: undefined,
    phase: 'versus-nats',
    mode: 'closed',
    workers: 4,
    inflight: 32,
    requestsPerSecond: rps,
    cpuUsPerRequest: cpuUs,
    usage: [{ label: target, cpuCores: 0.5, peakRssKiB: 50_000 }],
  });
  const runs = [1, 2].flatMap((rep) => [
    run(rep, 'broker', 24_000 / rep, 20),
    run(rep, 'broker-other', 20_000 / rep, 30),
    run(rep, 'nats', 30_000 / rep, 10),
  ]);
  const s = summarize(runs, [], 1);

  it('compares each build with NATS, and this build with the other, paired per repetition; the targets judge this build', () => {
    expect(s.versusNats.map((r) => r.ours)).toEqual(['broker', 'broker-other']);
    expect(s.versusNats[1].cpu.ratio.median).toBeCloseTo(3);
    expect(s.checks.find((c) => c.startsWith('this build / other build'))).toMatch(
      /32 in flight 16 B: CPU\/req 0\.67, req\/s 1\.20, p99 1\.00/,
    );
    expect(s.checks.find((c) => c.includes('CPU per request <='))).toMatch(/median ratios 16 B vs one connection 2\.00\)/);
    expect(tables(s)[0].rows.map((r) => r[2])).toEqual(['this', 'other']);
  });
});
