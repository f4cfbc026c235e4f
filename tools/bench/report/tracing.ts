/**
 * What tracing costs (`--tracing`): each variant against the build before this work, paired within
 * each repetition (saturation, our client app's load) or round (a fixed open-loop rate, the
 * generator's load): throughput and the CPU per request of broker, client and workers; p50 and p99
 * at the rate. `tracing-before-again` / `tracing-before` is what two instances of one build differ
 * by on this machine: the noise that `tracing-off` / `tracing-before` is judged against. And the
 * spans the sink received from each traced variant, against what its requests should have made.
 */
import type { Phase, RunRecord } from '../matrix';
import type { SinkCounts } from '../otlp-sink';
import type { Spread } from '../stats';
import { type TargetKind, targetLabel } from '../targets';
import { TRACING_BASELINE, type TracingTotals, expectedSpans } from '../tracing';
import { type Table, comparedCells, fmtSpread, num, sizeLabel } from './format';
import { type Compared, type Pick, cores, indexRuns, perRequest, workersPerRequest } from './runs';

const PHASES = { saturation: 'tracing-saturation', latency: 'tracing-latency' } as const satisfies Record<string, Phase>;
/** Against the baseline, in this order: the noise first, then what is judged against it. */
const COMPARED: TargetKind[] = ['tracing-before-again', 'tracing-off', 'tracing-off-no-deadline', 'tracing-on-all', 'tracing-on-sampled'];
/** Judged against the noise: this build with tracing off, with the deadline and without. */
const JUDGED: TargetKind[] = ['tracing-off', 'tracing-off-no-deadline'];
const NOISE: TargetKind = 'tracing-before-again';

const FIGURES = {
  rps: (r: RunRecord) => r.requestsPerSecond,
  broker: (r: RunRecord) => r.cpuUsPerRequest,
  client: perRequest((l) => l === 'client'),
  workers: workersPerRequest,
  p50: (r: RunRecord) => r.latency.p50,
  p99: (r: RunRecord) => r.latency.p99,
} satisfies Record<string, Pick>;

export interface TracingRow {
  kind: TargetKind;
  size: number;
  /** Our client app at saturation: requests/s (the broker's replies in the window), CPU µs per request of broker, client, workers. */
  saturation: { rps: Compared; broker: Compared; client: Compared; workers: Compared };
  /** The sink's cores over the saturation windows of this variant. */
  sinkCores: Spread;
  /** The generator at a fixed rate: the rate, p50 and p99, the broker's CPU µs per request. */
  rate: Spread;
  latency: { p50: Compared; p99: Compared; broker: Compared };
}

export function summarizeTracing(all: RunRecord[]): TracingRow[] {
  const runs = all.filter((r) => r.phase === PHASES.saturation || r.phase === PHASES.latency);
  if (runs.length === 0) return [];
  const x = indexRuns(runs);
  const rows: TracingRow[] = [];
  for (const size of x.sizes)
    for (const kind of COMPARED) {
      const compare = (phase: Phase, f: Pick): Compared => x.compared(phase, kind, TRACING_BASELINE, size, undefined, f);
      const saturation = {
        rps: compare(PHASES.saturation, FIGURES.rps),
        broker: compare(PHASES.saturation, FIGURES.broker),
        client: compare(PHASES.saturation, FIGURES.client),
        workers: compare(PHASES.saturation, FIGURES.workers),
      };
      if (saturation.rps.ratio.n === 0) continue;
      rows.push({
        kind,
        size,
        saturation,
        sinkCores: x.over(PHASES.saturation, kind, size, undefined, (r) => cores(r, (l) => l === 'otlp-sink')),
        rate: x.over(PHASES.latency, TRACING_BASELINE, size, undefined, (r) => r.rate ?? NaN),
        latency: {
          p50: compare(PHASES.latency, FIGURES.p50),
          p99: compare(PHASES.latency, FIGURES.p99),
          broker: compare(PHASES.latency, FIGURES.broker),
        },
      });
    }
  return rows;
}

const spreadText = (s: Spread) =>
  s.n === 0 ? '–' : s.n === 1 ? s.median.toFixed(2) : `${s.median.toFixed(2)} [${s.min.toFixed(2)}–${s.max.toFixed(2)}]`;

/** Whether a ratio's median lies within the range of the noise's (two of the build before). */
const within = (c: Compared, noise: Compared) => c.ratio.median >= noise.ratio.min && c.ratio.median <= noise.ratio.max;

export function tracingChecks(rows: TracingRow[]): string[] {
  if (rows.length === 0) return [];
  const lines = rows.map(
    (r) =>
      `${targetLabel[r.kind]} / before, ${sizeLabel(r.size)}: throughput ${spreadText(r.saturation.rps.ratio)}, CPU per request: broker ${spreadText(r.saturation.broker.ratio)}, ` +
      `client ${spreadText(r.saturation.client.ratio)}, workers ${spreadText(r.saturation.workers.ratio)}; at ${num(r.rate.median)} req/s p50 ${spreadText(r.latency.p50.ratio)}, p99 ${spreadText(r.latency.p99.ratio)}`,
  );
  for (const size of new Set(rows.map((r) => r.size)))
    for (const kind of JUDGED) {
      const noise = rows.find((r) => r.kind === NOISE && r.size === size);
      const off = rows.find((r) => r.kind === kind && r.size === size);
      if (!noise || !off) continue;
      const figures: [string, Compared, Compared][] = [
        ['throughput', off.saturation.rps, noise.saturation.rps],
        ['broker CPU per request', off.saturation.broker, noise.saturation.broker],
        ['client CPU per request', off.saturation.client, noise.saturation.client],
        ['workers CPU per request', off.saturation.workers, noise.saturation.workers],
        ['p50 at the rate', off.latency.p50, noise.latency.p50],
        ['p99 at the rate', off.latency.p99, noise.latency.p99],
      ];
      const outside = figures.filter(([, c, n]) => !within(c, n));
      lines.push(
        `${targetLabel[kind]} against the noise (its median / before within the range of before, again / before), ${sizeLabel(size)}: ` +
          (outside.length === 0
            ? 'every figure within it'
            : `outside it: ${outside.map(([name, c, n]) => `${name} ${c.ratio.median.toFixed(2)} (noise ${n.ratio.min.toFixed(2)}–${n.ratio.max.toFixed(2)})`).join(', ')}`),
      );
    }
  return lines;
}

export function tracingTables(rows: TracingRow[]): Table[] {
  if (rows.length === 0) return [];
  const cases = (r: TracingRow) => [targetLabel[r.kind], sizeLabel(r.size)];
  return [
    {
      title:
        'What tracing costs at saturation (our client app, closed loop): variant / before, median [min–max] of ratios paired within each repetition',
      head: [
        'variant',
        'size',
        'req/s variant / before',
        'req/s ratio',
        'broker CPU µs/req',
        'broker ratio',
        'client CPU µs/req',
        'client ratio',
        'workers CPU µs/req',
        'workers ratio',
        'sink cores',
      ],
      rows: rows.map((r) => [
        ...cases(r),
        ...comparedCells(r.saturation.rps, 0),
        ...comparedCells(r.saturation.broker, 1),
        ...comparedCells(r.saturation.client, 1),
        ...comparedCells(r.saturation.workers, 1),
        num(r.sinkCores.median, 2),
      ]),
      notes: [
        'before: the build before this work (--before-dist), its own client (no metadata); before, again: a second broker, workers and client of that build, loaded in the same rotation: its ratio is the noise. off: this build without OTEL_* (its client sends timeout-ms in a headers frame, which the broker reads and forwards and the workers read: the cost of the deadline). off, no deadline: the same build and programs, its client given --timeout 0, so no request carries metadata; that client also sets no timer per request (the build before’s does), so its client figures are low. on: this build, broker, workers and client exporting spans over OTLP/HTTP (JSON) to the sink, sampler parentbased_traceidratio.',
        'req/s: the broker’s replies (tsr_broker_replies_total) over the window; CPU µs/req: user + system time of the process (all threads) over the window per request; workers: all of them summed. sink: the OTLP sink’s process, on the same two cores.',
      ],
    },
    {
      title:
        'What tracing costs at a fixed rate (the generator, open loop, a share of the build before’s saturation), ms: variant / before, median [min–max] of ratios paired within each round',
      head: [
        'variant',
        'size',
        'rate req/s',
        'p50 ms variant / before',
        'p50 ratio',
        'p99 ms variant / before',
        'p99 ratio',
        'broker CPU µs/req',
        'broker ratio',
      ],
      rows: rows.map((r) => [
        ...cases(r),
        fmtSpread(r.rate),
        ...comparedCells(r.latency.p50, 2),
        ...comparedCells(r.latency.p99, 2),
        ...comparedCells(r.latency.broker, 1),
      ]),
      notes: [
        'the generator (tools/bench/loadgen.ts) sends no metadata: the broker’s spans are roots, sampled at the broker, the worker’s their children; our client app has no fixed-rate mode.',
      ],
    },
  ];
}

/** The spans the sink received from each traced variant, against what the requests its programs handled should have made. */
export function tracingSpansTable(totals: TracingTotals[], sink: SinkCounts): Table | undefined {
  const traced = totals.filter((t) => t.ratio > 0);
  if (traced.length === 0) return undefined;
  const services = ['tsr-broker', 'tsr-worker', 'tsr-client'] as const;
  return {
    title: 'Spans the OTLP sink received, against the spans the requests should have made (sanity check), over the whole run',
    head: [
      'variant',
      'ratio',
      'requests (broker replies)',
      'client requests',
      'spans expected',
      'spans received',
      'received / expected',
      'broker / worker / client received',
      'exports',
      'bytes per span',
      'unreadable',
    ],
    rows: traced.map((t) => {
      const e = expectedSpans(t);
      const expected = services.reduce((a, s) => a + e[s], 0);
      const c = sink[t.kind] ?? { exports: 0, bytes: 0, spans: 0, byService: {}, unreadable: 0 };
      return [
        targetLabel[t.kind],
        String(t.ratio),
        num(t.brokerReplies),
        num(t.clientRequests),
        num(expected),
        num(c.spans),
        num(c.spans / expected, 3),
        services.map((s) => `${num(c.byService[s] ?? 0)} (${num((c.byService[s] ?? 0) / e[s], 2)})`).join(' / '),
        num(c.exports),
        num(c.bytes / c.spans, 0),
        num(c.unreadable),
      ];
    }),
    notes: [
      'expected at ratio 1: per request the broker’s queue and dispatch spans, the worker’s process span (requests = the brokers’ replies, warm-ups and the generator’s requests included), and per request of our client app its request span and a send span per attempt; times the ratio for the sampled variant (binomial: ± a few %).',
      'in brackets: received / expected per program. Fewer received than expected means spans dropped before export (the batch span processor’s queue of 2048 full) or not sent at the end.',
    ],
  };
}
