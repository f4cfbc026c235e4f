import type { RunRecord } from '../matrix';
import type { TargetKind } from '../targets';
import { runRecord } from './__fixtures__/run-record';
import { summarize, tables } from './index';

interface Figures {
  rps: number;
  /** Cores of the server (broker or nats-server), of the four workers (responders) together, of the generator. */
  server: number;
  workers?: number;
  generator?: number;
}

/** A run of the encrypted experiment: 4 workers, 32 in flight, closed loop. */
function run(rep: number, size: number, target: TargetKind, f: Figures): RunRecord {
  const workers = f.workers ?? 0.4;
  return runRecord({
    phase: 'encrypted',
    rep,
    target,
    size,
    open: false,
    inflight: 32,
    rate: 0,
    rps: f.rps,
    p99: 4,
    usage: [
      { label: target.startsWith('nats') ? 'nats-server' : 'broker', cpuCores: f.server, peakRssKiB: 60_000 },
      ...[1, 2, 3, 4].map((i) => ({ label: `worker${i}`, cpuCores: workers / 4, peakRssKiB: 50_000 })),
      { label: 'loadgen1', cpuCores: f.generator ?? 0.5, peakRssKiB: 70_000 },
    ],
    brokerCores: f.server,
  });
}

/**
 * Two repetitions, the machine half as fast in the second (the ratios stay): at 16 B CURVE keeps
 * 0.75 of the plain throughput and beats NATS with TLS 1.25 x, its broker costing 30 µs per request
 * against nats-server's 25; at 64 KiB 0.75, 1.875 x, 200 µs against 400.
 */
const thisBuild = (rep: number): RunRecord[] => {
  const k = rep === 1 ? 1 : 0.5;
  const at = (size: number, target: TargetKind, rps: number, server: number, workers?: number) =>
    run(rep, size, target, { rps: rps * k, server: server * k, workers: workers === undefined ? undefined : workers * k });
  return [
    at(16, 'broker', 20_000, 0.4),
    at(16, 'broker-curve', 15_000, 0.45, 0.6),
    at(16, 'nats', 24_000, 0.3),
    at(16, 'nats-tls', 12_000, 0.3),
    at(65536, 'broker', 2_000, 0.3),
    at(65536, 'broker-curve', 1_500, 0.3),
    at(65536, 'nats', 1_000, 0.3),
    at(65536, 'nats-tls', 800, 0.32),
  ];
};

describe('encrypted: our CURVE against NATS with TLS, each against itself in the clear', () => {
  const s = summarize([1, 2].flatMap(thisBuild), [], 1);

  it('pairs the ratios within each repetition, one row per size', () => {
    expect(s.encrypted.map((r) => [r.size, r.workers, r.inflight])).toEqual([
      [16, 4, 32],
      [65536, 4, 32],
    ]);
    const [small, large] = s.encrypted;
    expect(small.ours.cost.ratio.median).toBeCloseTo(0.75);
    expect(small.tlsCost.ratio.median).toBeCloseTo(0.5);
    expect(small.ours.versusTls.ratio.median).toBeCloseTo(1.25);
    expect([small.ours.cpu.a.median, small.ours.cpu.b.median, small.ours.cpu.ratio.median].map((v) => Number(v.toFixed(2)))).toEqual([
      30, 25, 1.2,
    ]);
    expect(large.ours.cpu.ratio.median).toBeCloseTo(0.5);
    expect([large.ours.cpu.ratio.min, large.ours.cpu.ratio.max].map((v) => Number(v.toFixed(3)))).toEqual([0.5, 0.5]);
    expect(small.other).toBeUndefined();
  });

  it('checks each target at every size, with the figures, and says which limits were raised', () => {
    expect(s.checks.filter((c) => c.startsWith('encrypted target'))).toEqual([
      'encrypted target, this build: CURVE throughput >= 1.0 x NATS with TLS at every size: met (CURVE / NATS TLS, median [min–max] of paired ratios: 16 B 1.25 [1.25–1.25], 64 KiB 1.88 [1.88–1.88])',
      "encrypted target, this build: broker CPU per request <= 1.0 x nats-server's with TLS at every size: NOT met (broker / nats-server: 16 B 1.20 [1.20–1.20], 30.0 / 25.0 µs, 64 KiB 0.50 [0.50–0.50], 200.0 / 400.0 µs)",
      'encrypted target, this build: CURVE / plain throughput >= 0.7 at 64 KiB: met (0.75 [0.75–0.75])',
    ]);
    expect(s.checks).toContain('encrypted: every request answered');
    expect(s.checks.find((c) => c.startsWith('limits raised'))).toMatch(
      /^limits raised for 1 MiB, encrypted and in the clear alike: nats-server's max_payload to 8 MiB \(its default 1 MiB .*MAX_CLIENT_BYTES to 64 MiB/,
    );
  });

  it("prints the most CURVE / plain can be, given a box's cost and a plain request's CPU in every process", () => {
    // Measured for the sizes over 16 KiB only (16 B requests share boxes in batches).
    const bounded = summarize([1, 2].flatMap(thisBuild), [], 1, { boxes: 'native libsodium', usPerBox: { 65536: 40 } });
    // A plain request at 64 KiB, medians of the two repetitions (the workers' and generator's cores stay as the machine
    // slows): 150 + 300 + 375 µs (broker, workers, generator).
    expect(bounded.checks.find((c) => c.startsWith('encrypted: the most'))).toBe(
      'encrypted: the most CURVE / plain throughput can be, boxes alone (8 of its size per request over 16 KiB, native libsodium; ' +
        "against a plain request's CPU in every process, broker, workers and generator, at equal busy cores): " +
        '64 KiB 0.72 (40.0 µs a box, 825.0 µs a plain request)',
    );
    expect(s.checks.some((c) => c.startsWith('encrypted: the most'))).toBe(false); // no box measured, no line
    const smallOnly = summarize(
      [1, 2].flatMap((rep) => thisBuild(rep).filter((r) => r.size === 16)),
      [],
      1,
      { boxes: 'native libsodium', usPerBox: {} },
    );
    expect(smallOnly.checks.some((c) => c.startsWith('encrypted: the most'))).toBe(false); // only batched sizes ran
  });

  it('says a target is not measured when its size did not run, and fails a size whose CURVE did not run', () => {
    const small = summarize(
      [1, 2].flatMap((rep) => thisBuild(rep).filter((r) => r.size === 16)),
      [],
      1,
    );
    expect(small.checks.find((c) => c.includes('CURVE / plain'))).toBe(
      'encrypted target, this build: CURVE / plain throughput >= 0.7 at 64 KiB: not measured (no 64 KiB run)',
    );
    const slow = summarize(
      [1, 2].flatMap((rep) =>
        thisBuild(rep).map((r) => (r.target === 'broker-curve' && r.size === 65536 ? { ...r, requestsPerSecond: 600 } : r)),
      ),
      [],
      1,
    );
    expect(slow.checks.find((c) => c.includes('CURVE / plain'))).toMatch(/: NOT met \(0\.45 \[0\.30–0\.60\]\)$/);
  });

  it('counts the requests never answered, by target and size', () => {
    const lossy = summarize(
      [1, 2].flatMap((rep) => thisBuild(rep).map((r) => (r.target === 'broker' && r.size === 65536 ? { ...r, unanswered: rep + 2 } : r))),
      [],
      1,
    );
    expect(lossy.checks).toContain('encrypted: requests never answered, over all repetitions: broker 64 KiB 7');
    expect(tables(lossy)[1].rows.find((r) => r[0] === '64 KiB' && r[1] === 'broker')?.[7]).toBe('7');
  });

  it('tabulates the ratios by size, and every target’s CPU per request, and nothing else when nothing else ran', () => {
    const ts = tables(s);
    expect(ts.map((t) => t.title.split(' ').slice(0, 5).join(' '))).toEqual([
      'Our CURVE against NATS with',
      'Encrypted, every target: requests/s and',
    ]);
    expect(ts[0].head).toHaveLength(10);
    expect(ts[0].rows[0]).toEqual([
      '16 B',
      '4',
      '11,250 / 15,000',
      '0.75 [0.75–0.75]',
      '9,000 / 18,000',
      '0.50 [0.50–0.50]',
      '11,250 / 9,000',
      '1.25 [1.25–1.25]',
      '30.0 / 25.0',
      '1.20 [1.20–1.20]',
    ]);
    // CURVE's workers: 0.6 cores at 15,000 req/s, 40 µs per request; the generator 0.5 cores
    expect(ts[1].rows.find((r) => r[0] === '16 B' && r[1] === 'broker, CURVE')).toEqual([
      '16 B',
      'broker, CURVE',
      '11,250 [7,500–15,000]',
      '30.0 [30.0–30.0]',
      '40.0 [40.0–40.0]',
      '50.0 [33.3–66.7]',
      '1.90 [1.90–1.90]',
      '0',
    ]);
    expect(ts[1].rows.map((r) => r[1]).slice(0, 4)).toEqual([
      'broker',
      'broker, CURVE',
      'NATS, one shared connection',
      'NATS with TLS, one shared connection',
    ]);
    expect(s.checks.some((c) => c.startsWith('throughput target') || c.startsWith('NATS target'))).toBe(false);
  });
});

describe('encrypted, with another build (--versus-apps): its CURVE beside this build’s', () => {
  // the other build, the same in both repetitions: CURVE at 0.5 of its plain throughput, its broker 60 µs per request at 16 B
  const other = (rep: number): RunRecord[] => [
    run(rep, 16, 'broker-other', { rps: 20_000, server: 0.4 }),
    run(rep, 16, 'broker-other-curve', { rps: 10_000, server: 0.6 }),
    run(rep, 65536, 'broker-other', { rps: 2_000, server: 0.3 }),
    run(rep, 65536, 'broker-other-curve', { rps: 1_000, server: 0.3 }),
  ];
  const s = summarize(
    [1, 2].flatMap((rep) => [...thisBuild(rep), ...other(rep)]),
    [],
    1,
  );

  it('adds its columns to the same rows, before and after side by side', () => {
    const [t] = tables(s);
    expect(t.head.slice(10)).toEqual([
      'other build: req/s CURVE / plain',
      'ratio',
      'other build: req/s CURVE / NATS TLS',
      'ratio',
      'other build: CPU µs/req broker CURVE / nats-server TLS',
      'ratio',
    ]);
    expect(t.rows[0].slice(10)).toEqual([
      '10,000 / 20,000',
      '0.50 [0.50–0.50]',
      '10,000 / 9,000',
      '1.25 [0.83–1.67]',
      '60.0 / 25.0',
      '2.40 [2.40–2.40]',
    ]);
    expect(s.encrypted[1].other?.cost.ratio.median).toBeCloseTo(0.5);
  });

  it('checks the other build’s CURVE against the same targets', () => {
    const checks = s.checks.filter((c) => c.startsWith('encrypted target, the other build (--versus-apps)'));
    expect(checks.map((c) => c.split(': ')[2].split(' (')[0])).toEqual(['met', 'NOT met', 'NOT met']);
  });
});

describe('encrypted, with the C forwarder: libzmq’s CURVE, the floor, beside ours', () => {
  // libzmq's CURVE keeps 0.6 of its plain throughput at both sizes, ahead of NATS with TLS; its
  // forwarder costs 20 µs per request at 16 B, 300 µs at 64 KiB; the machine half as fast in the second repetition
  const libzmq = (rep: number): RunRecord[] => {
    const k = rep === 1 ? 1 : 0.5;
    const at = (size: number, target: TargetKind, rps: number, server: number) =>
      run(rep, size, target, { rps: rps * k, server: server * k });
    return [
      at(16, 'forwarder-c', 30_000, 0.3),
      at(16, 'forwarder-c-curve', 18_000, 0.36),
      at(65536, 'forwarder-c', 2_500, 0.25),
      at(65536, 'forwarder-c-curve', 1_500, 0.45),
    ];
  };
  const s = summarize(
    [1, 2].flatMap((rep) => [...thisBuild(rep), ...libzmq(rep)]),
    [],
    1,
  );

  it('adds its columns to the same rows', () => {
    const [t, every] = tables(s);
    expect(t.head.slice(10).filter((h) => h !== 'ratio')).toEqual([
      'C forwarder: req/s CURVE / plain',
      'C forwarder: req/s CURVE / NATS TLS',
      'C forwarder: CPU µs/req CURVE / nats-server TLS',
    ]);
    expect(t.rows[1].slice(10)).toEqual([
      '1,125 / 1,875',
      '0.60 [0.60–0.60]',
      '1,125 / 600',
      '1.88 [1.88–1.88]',
      '300.0 / 400.0',
      '0.75 [0.75–0.75]',
    ]);
    expect(t.notes?.some((n) => n.startsWith('C forwarder: tools/bench/native/forwarder.c'))).toBe(true);
    expect(every.rows.map((r) => r[1]).filter((k) => k.startsWith('C forwarder'))).toEqual([
      'C forwarder',
      'C forwarder, CURVE',
      'C forwarder',
      'C forwarder, CURVE',
    ]);
  });

  it('checks libzmq’s CURVE against the same targets, as the floor', () => {
    const checks = s.checks.filter((c) => c.startsWith('encrypted target, the C forwarder, libzmq’s CURVE (the floor)'));
    expect(checks.map((c) => c.split(': ')[2].split(' (')[0])).toEqual(['met', 'met', 'NOT met']);
  });
});
