/**
 * What tracing costs (`--tracing`): the build before this work, this build with traces off, and
 * this build with all three programs exporting spans over OTLP/HTTP to a sink the benchmark runs
 * (otlp-sink.ts, a process of its own), at sampling ratio 1 and sampled; and a second instance of
 * the build before, whose difference from the first is what the machine's noise alone makes.
 *
 * Each repetition starts every variant side by side (a broker with its HTTP endpoint, not scraped,
 * and W zero-delay workers), then loads each in turn, order rotated: at saturation with our client
 * app's load mode (each variant its own build's client: this build's sends `timeout-ms` in a headers
 * frame and makes its spans, the build before's sends no metadata), then at a fixed open-loop rate
 * with the benchmark's generator. Before stopping them it reads each broker's replies, for the
 * spans the sink should have received.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { LoadSummary } from '@tsr/runtime';
import { type NodeProcess, spawnNode, waitForOutput } from '@tsr/testing';
import type { Bundles } from './bundle';
import { track } from './children';
import { readBrokerReplies } from './counters';
import type { SinkCounts } from './otlp-sink';
import type { LoadResult, LoadSpec } from './scenario';
import { latencySummary } from './stats';
import { type Target, type TargetKind, appPath, deadProcess } from './targets';
import { Sampler } from './usage';

/** The variants, in the order of the first repetition; `tracing-before` is the baseline. */
export const TRACING_KINDS: TargetKind[] = [
  'tracing-before',
  'tracing-before-again',
  'tracing-off',
  'tracing-off-no-deadline',
  'tracing-on-all',
  'tracing-on-sampled',
];
export const TRACING_BASELINE: TargetKind = 'tracing-before';
/** The request body of every run (16 B: the per-request costs, not the bytes). */
export const TRACING_SIZE = 16;

export interface TracingVariant {
  kind: TargetKind;
  /** The build (DIR/<app>/main.js); undefined: the run's. */
  apps: string | undefined;
  /** The environment of its three programs: OTEL_* set for the traced ones, blanked for the others. */
  env: NodeJS.ProcessEnv;
  /** The sampling ratio: 0 for no traces. */
  ratio: number;
  /** What its client app is given besides the load: `--timeout 0` sends no deadline, so no metadata at all. */
  clientArgs: string[];
}

/**
 * Where the build before's apps are: DIR/apps/<app>/main.js (a dist) or DIR/<app>/main.js.
 */
export function beforeAppsDir(dir: string): string {
  return existsSync(join(dir, 'apps', 'broker', 'main.js')) ? join(dir, 'apps') : dir;
}

/** Each variant's build and environment; the traced ones export to `sinkPort`, under a path of their own. */
export function tracingVariants(beforeApps: string, sinkPort: number, sample: number, env = process.env): Record<string, TracingVariant> {
  // anything OTEL_* in the benchmark's own environment is blanked (empty counts as unset) so that it reaches no program
  const blank: NodeJS.ProcessEnv = Object.fromEntries(Object.keys(env).flatMap((k) => (k.startsWith('OTEL_') ? [[k, '']] : [])));
  const traced = (kind: TargetKind, ratio: number): TracingVariant => ({
    kind,
    apps: undefined,
    ratio,
    clientArgs: [],
    env: {
      ...blank,
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${sinkPort}/${kind}`,
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: String(ratio),
    },
  });
  const plain = (kind: TargetKind, apps: string | undefined, clientArgs: string[] = []): TracingVariant => ({
    kind,
    apps,
    ratio: 0,
    env: blank,
    clientArgs,
  });
  return {
    'tracing-before': plain('tracing-before', beforeApps),
    'tracing-before-again': plain('tracing-before-again', beforeApps),
    'tracing-off': plain('tracing-off', undefined),
    // what the deadline costs apart: the same build, its requests without metadata
    'tracing-off-no-deadline': plain('tracing-off-no-deadline', undefined, ['--timeout', '0']),
    'tracing-on-all': traced('tracing-on-all', 1),
    'tracing-on-sampled': traced('tracing-on-sampled', sample),
  };
}

export interface Sink {
  proc: NodeProcess;
  port: number;
}

/** Starts the OTLP/HTTP sink on a free port of 127.0.0.1. */
export async function startSink(bundles: Bundles): Promise<Sink> {
  const proc = track(spawnNode('otlp-sink', [bundles.otlpSink], bundles.env));
  const line = await waitForOutput(proc, /ready \d+/);
  return { proc, port: Number(line.split(' ')[1]) };
}

/** What the sink received so far, by variant (its endpoint's path). */
export async function readSink(sink: Sink): Promise<SinkCounts> {
  const r = await fetch(`http://127.0.0.1:${sink.port}/counts`);
  return (await r.json()) as SinkCounts;
}

/** What a variant's programs handled over the run: the spans it should have exported come from these. */
export interface TracingTotals {
  kind: TargetKind;
  ratio: number;
  /** Replies its brokers forwarded, every run of every repetition (warm-ups, the generator's requests too). */
  brokerReplies: number;
  /** Requests our client app sent (each a `request` span), and the attempts beyond the first (a `send` span each besides). */
  clientRequests: number;
  clientRetried: number;
}

/** Spans one request makes, by program: the broker's `queue` and `dispatch`, the worker's `process`, the client's `request` and `send`. */
export const SPANS_PER_REQUEST = { broker: 2, worker: 1, client: 2 };

/** The spans a variant should have exported at sampling ratio 1 (times its ratio otherwise), by service.name. */
export function expectedSpans(t: TracingTotals): Record<'tsr-broker' | 'tsr-worker' | 'tsr-client', number> {
  return {
    'tsr-broker': SPANS_PER_REQUEST.broker * t.brokerReplies * t.ratio,
    'tsr-worker': SPANS_PER_REQUEST.worker * t.brokerReplies * t.ratio,
    'tsr-client': (SPANS_PER_REQUEST.client * t.clientRequests + t.clientRetried) * t.ratio,
  };
}

export interface ClientLoadSpec {
  concurrency: number;
  size: number;
  warmupMs: number;
  durationMs: number;
}

export interface ClientLoadResult extends LoadResult {
  /** What the client app printed (its whole run, warm-up included). */
  client: LoadSummary;
}

/**
 * Our client app's load mode (`--requests <many> --concurrency C --duration S --json`) against the
 * target, the variant's build and environment; the window is timed from the client's start: a
 * warm-up, then `durationMs` over which the broker's replies (its tsr_broker_replies_total, read at
 * the window's ends and middle) and every process's CPU are measured. The client keeps sending
 * until at least half a second after the window.
 */
export async function runClientLoad(
  target: Target,
  variant: TracingVariant,
  spec: ClientLoadSpec,
  bundles: Bundles,
  watchAlso: NodeProcess[] = [],
): Promise<ClientLoadResult> {
  const port = target.httpPorts[0];
  if (port === undefined) throw new Error(`${target.kind}: its broker's HTTP endpoint is needed (the replies counter)`);
  const seconds = Math.ceil((spec.warmupMs + spec.durationMs + 500) / 1000);
  const client = track(
    spawnNode(
      'client',
      [
        appPath('client', variant.apps),
        '127.0.0.1',
        String(target.port),
        '--requests',
        String(1e9),
        '--concurrency',
        String(spec.concurrency),
        '--duration',
        String(seconds),
        '--json',
        '--request',
        'x'.repeat(spec.size),
        ...variant.clientArgs,
      ],
      { ...bundles.env, ...variant.env, TSR_LOG: 'error' },
    ),
  );
  const sampler = new Sampler([
    ...target.watched(),
    { label: 'client', pid: client.child.pid ?? -1 },
    ...watchAlso.map((p) => ({ label: p.label, pid: p.child.pid ?? -1 })),
  ]);
  const start = Date.now();
  const replies: Promise<number>[] = [];
  const at = (ms: number, f: () => void) => setTimeout(f, start + ms - Date.now());
  const marks = [
    at(spec.warmupMs, () => {
      sampler.markStart();
      replies[0] = readBrokerReplies(port);
    }),
    at(spec.warmupMs + spec.durationMs / 2, () => (replies[1] = readBrokerReplies(port))),
    at(spec.warmupMs + spec.durationMs, () => {
      sampler.markEnd();
      replies[2] = readBrokerReplies(port);
    }),
  ];
  // the client ends by itself (its --duration, then at most 2 s to send its last spans); one that hangs is killed
  const watchdog = setTimeout(() => client.child.kill('SIGKILL'), seconds * 1000 + 10_000);
  const code = await client.exited;
  clearTimeout(watchdog);
  const early = Date.now() < start + spec.warmupMs + spec.durationMs;
  marks.forEach(clearTimeout);
  const { usage, machineBusyCores } = await sampler.stop();
  const dead = deadProcess(target);
  if (dead) throw new Error(`${dead.label} died during the load: ${dead.stderr.slice(-500)}`);
  if (code !== 0 || early)
    throw new Error(`client ${early ? 'ended before the window did' : `failed (${code})`}: ${client.stderr.slice(-800)}`);
  const summary = JSON.parse(client.stdout.trim().split('\n').pop() ?? '') as LoadSummary;
  const [r0, r1, r2] = await Promise.all(replies);
  const answered = r2 - r0;
  return {
    requestsPerSecond: answered / (spec.durationMs / 1000),
    answered,
    errors: summary.errors,
    unanswered: 0,
    // the client's own percentiles, over its whole run (warm-up included): closed loop, they follow the throughput
    latency: { ...latencySummary([]), count: summary.answered, p50: summary.p50, p99: summary.p99, max: summary.max },
    workersSeen: NaN,
    usage,
    machineBusyCores,
    windowRamp: (r1 - r0) / (r2 - r1),
    creditMoves: NaN,
    creditWants: NaN,
    client: summary,
  };
}

/** The load spec a client run is recorded with (closed loop, C clients in flight). */
export const clientLoadRecordSpec = (spec: ClientLoadSpec): LoadSpec => ({
  mode: 'closed',
  size: spec.size,
  inflight: spec.concurrency,
  generators: 1,
  sockets: spec.concurrency,
  warmupMs: spec.warmupMs,
  durationMs: spec.durationMs,
});
