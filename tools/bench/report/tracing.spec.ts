import type { Phase, RunRecord } from '../matrix';
import { countSpans, prefixOf } from '../otlp-sink';
import type { TargetKind } from '../targets';
import { expectedSpans, tracingVariants } from '../tracing';
import { runRecord } from './__fixtures__/run-record';
import { summarize, tables } from './index';
import { tracingSpansTable } from './tracing';

interface Figures {
  rps: number;
  /** Cores of broker, client (saturation) and of all workers together. */
  broker: number;
  client?: number;
  workers?: number;
  p99?: number;
}

/** A run of the tracing experiment: 4 workers, 16 B. */
function run(phase: Phase, rep: number, target: TargetKind, f: Figures, round?: number): RunRecord {
  const workers = f.workers ?? 0.4;
  return runRecord({
    phase,
    rep,
    round,
    target,
    open: phase === 'tracing-latency',
    inflight: 32,
    rate: 4_000,
    rps: f.rps,
    p99: f.p99 ?? 4,
    usage: [
      { label: 'broker', cpuCores: f.broker, peakRssKiB: 60_000 },
      ...[1, 2, 3, 4].map((i) => ({ label: `worker${i}`, cpuCores: workers / 4, peakRssKiB: 50_000 })),
      ...(f.client === undefined ? [] : [{ label: 'client', cpuCores: f.client, peakRssKiB: 70_000 }]),
      { label: 'otlp-sink', cpuCores: target.startsWith('tracing-on') ? 0.05 : 0, peakRssKiB: 40_000 },
    ],
    brokerCores: f.broker,
  });
}

describe('what tracing costs: each variant against the build before, paired', () => {
  // two repetitions; the machine is half as fast in the second: the ratios stay
  const runs = [1, 2].flatMap((rep) => {
    const k = rep === 1 ? 1 : 0.5;
    const sat = (target: TargetKind, rps: number, broker: number, client: number) =>
      run('tracing-saturation', rep, target, { rps: rps * k, broker: broker * k, client: client * k });
    const at = (target: TargetKind, p99: number) => run('tracing-latency', rep, target, { rps: 4_000, broker: 0.2, p99 }, 1);
    return [
      sat('tracing-before', 10_000, 0.2, 0.5),
      // the noise: 0.95 in one repetition, 1.05 in the other
      sat('tracing-before-again', rep === 1 ? 9_500 : 10_500, 0.2, 0.5),
      sat('tracing-off', 10_000, 0.2, 0.5),
      sat('tracing-off-no-deadline', 10_000, 0.2, 0.5),
      sat('tracing-on-all', 5_000, 0.2, 0.75),
      sat('tracing-on-sampled', 9_000, 0.18, 0.45),
      at('tracing-before', 4),
      at('tracing-before-again', rep === 1 ? 3 : 5),
      at('tracing-off', 4),
      at('tracing-off-no-deadline', 4),
      at('tracing-on-all', 8),
      at('tracing-on-sampled', 4),
    ];
  });
  const s = summarize(runs, [], 1);

  it('pairs each variant with the build before within each repetition', () => {
    expect(s.tracing.map((r) => r.kind)).toEqual([
      'tracing-before-again',
      'tracing-off',
      'tracing-off-no-deadline',
      'tracing-on-all',
      'tracing-on-sampled',
    ]);
    const [noise, off, , all] = s.tracing;
    expect([noise.saturation.rps.ratio.min, noise.saturation.rps.ratio.max]).toEqual([0.95, 1.05]);
    expect(off.saturation.rps.ratio.median).toBeCloseTo(1);
    expect(all.saturation.rps.ratio.median).toBeCloseTo(0.5);
    // 40 µs per request against 20 at the broker, 150 against 50 at the client
    expect(all.saturation.broker.ratio.median).toBeCloseTo(2);
    expect(all.saturation.client.ratio.median).toBeCloseTo(3);
    expect(all.saturation.workers.ratio.median).toBeCloseTo(2);
    expect(all.sinkCores.median).toBeCloseTo(0.05);
    expect(all.latency.p99.ratio.median).toBeCloseTo(2);
    expect(all.rate.median).toBe(4_000);
  });

  it('judges off, with the deadline and without, against the noise: the spread of two instances of the build before', () => {
    expect(s.checks).toContain(
      'off (this build, no OTEL_*) / before, 16 B: throughput 1.00 [1.00–1.00], CPU per request: broker 1.00 [1.00–1.00], client 1.00 [1.00–1.00], workers 1.00 [1.00–1.00]; at 4,000 req/s p50 1.00 [1.00–1.00], p99 1.00 [1.00–1.00]',
    );
    const judged = (checks: string[]) => checks.filter((c) => c.includes(' against the noise '));
    expect(judged(s.checks)).toEqual([
      'off (this build, no OTEL_*) against the noise (its median / before within the range of before, again / before), 16 B: every figure within it',
      'off, no deadline (client --timeout 0) against the noise (its median / before within the range of before, again / before), 16 B: every figure within it',
    ]);
    const costly = runs.map((r) => (r.target === 'tracing-off' && r.phase === 'tracing-saturation' ? { ...r, cpuUsPerRequest: 30 } : r));
    expect(judged(summarize(costly, [], 1).checks).map((c) => c.split(': ').pop())).toEqual([
      'broker CPU per request 1.50 (noise 0.95–1.05)',
      'every figure within it',
    ]);
  });

  it('tabulates saturation and the fixed rate, and nothing else when nothing else ran', () => {
    const ts = tables(s);
    expect(ts.map((t) => t.title.split(' ').slice(0, 6).join(' '))).toEqual([
      'What tracing costs at saturation (our',
      'What tracing costs at a fixed',
    ]);
    expect(ts[0].rows[3]).toEqual([
      'on, sampling 1',
      '16 B',
      '3,750 / 7,500',
      '0.50 [0.50–0.50]',
      '40.0 / 20.0',
      '2.00 [2.00–2.00]',
      '150.0 / 50.0',
      '3.00 [3.00–3.00]',
      '120.0 / 60.0',
      '2.00 [2.00–2.00]',
      '0.05',
    ]);
    expect(ts[1].rows[0].slice(2)).toEqual([
      '4,000 [4,000–4,000]',
      '1.00 / 1.00',
      '1.00 [0.75–1.25]',
      '4.00 / 4.00',
      '1.00 [0.75–1.25]',
      '50.0 / 50.0',
      '1.00 [1.00–1.00]',
    ]);
    expect(s.checks.some((c) => c.startsWith('throughput target'))).toBe(false);
  });
});

describe('the spans the sink should have received', () => {
  const totals = { kind: 'tracing-on-all' as TargetKind, ratio: 1, brokerReplies: 1_000, clientRequests: 800, clientRetried: 2 };

  it('are the broker’s two, the worker’s one per request, and the client’s request and send spans, times the ratio', () => {
    expect(expectedSpans(totals)).toEqual({ 'tsr-broker': 2_000, 'tsr-worker': 1_000, 'tsr-client': 1_602 });
    expect(expectedSpans({ ...totals, ratio: 0.01 })['tsr-broker']).toBeCloseTo(20);
  });

  it('are tabulated against what the sink counted, by program', () => {
    const sink = {
      'tracing-on-all': {
        exports: 10,
        bytes: 4_602_000,
        spans: 4_602,
        byService: { 'tsr-broker': 2_000, 'tsr-worker': 1_000, 'tsr-client': 1_602 },
        unreadable: 0,
      },
    };
    const t = tracingSpansTable([totals, { ...totals, kind: 'tracing-off', ratio: 0 }], sink);
    expect(t?.rows).toEqual([
      ['on, sampling 1', '1', '1,000', '800', '4,602', '4,602', '1.000', '2,000 (1.00) / 1,000 (1.00) / 1,602 (1.00)', '10', '1,000', '0'],
    ]);
  });
});

describe('the OTLP sink', () => {
  const resource = (name: string) => `{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"${name}"}}]}`;
  const span = (parent: string) => `{"traceId":"t","spanId":"s","parentSpanId":"${parent}","name":"x"}`;

  it('counts the spans of an OTLP JSON export by service.name, without parsing it', () => {
    const body =
      `{"resourceSpans":[${resource('tsr-broker')},"scopeSpans":[{"scope":{"name":"tsr"},"spans":[${span('p')},${span('')}]}]},` +
      `${resource('tsr-worker')},"scopeSpans":[{"spans":[${span('q')}]}]}]}`;
    expect(countSpans(body)).toEqual({ 'tsr-broker': 2, 'tsr-worker': 1 });
    expect(countSpans('{"resourceSpans":[]}')).toEqual({});
    expect(countSpans('{"resourceMetrics":[]}')).toBeUndefined();
  });

  it('tells the variant by the path the exporter posts to', () => {
    expect(prefixOf('/tracing-on-all/v1/traces')).toBe('tracing-on-all');
    expect(prefixOf('/v1/traces')).toBe('');
    expect(prefixOf('/counts')).toBeUndefined();
  });
});

describe('the variants’ environment', () => {
  const v = tracingVariants('/before/apps', 4318, 0.01, { OTEL_TRACES_SAMPLER: 'always_on', PATH: '/bin' });

  it('points the traced ones at the sink, each under its own path, with the sampler and its ratio', () => {
    expect(v['tracing-on-sampled'].env).toEqual({
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318/tracing-on-sampled',
      OTEL_TRACES_SAMPLER_ARG: '0.01',
    });
    expect(v['tracing-on-all'].ratio).toBe(1);
  });

  it('blanks any OTEL_* of the benchmark’s own for the others, and runs the build before for the baseline and its twin', () => {
    expect(v['tracing-off'].env).toEqual({ OTEL_TRACES_SAMPLER: '' });
    // the deadline's cost apart: the same build, a client that sends none
    expect(Object.values(v).map((x) => [x.kind, x.clientArgs])).toEqual([
      ['tracing-before', []],
      ['tracing-before-again', []],
      ['tracing-off', []],
      ['tracing-off-no-deadline', ['--timeout', '0']],
      ['tracing-on-all', []],
      ['tracing-on-sampled', []],
    ]);
    expect([v['tracing-off'].apps, v['tracing-before'].apps, v['tracing-before-again'].apps]).toEqual([
      undefined,
      '/before/apps',
      '/before/apps',
    ]);
  });
});
