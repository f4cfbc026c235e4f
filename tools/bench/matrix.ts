/**
 * The benchmark plan: for each repetition, every worker count, every size, every target under the
 * same closed-loop load (targets alternate order between repetitions), then the open-loop latency
 * runs at half the broker's measured saturation, then our client app (RSS of the client).
 * All targets of one worker count are started together and stay up between runs, so the
 * runs that are compared follow each other within seconds. `--nats-only` and `--several-brokers`
 * run one experiment each, the same way, and so do `--tracing` and `--encrypted`.
 */
import type { Bundles } from './bundle';
import type { BenchOptions } from './options';
import { type ProcessUsage, cpuUsPerRequest } from './usage';
import { type LoadResult, type LoadSpec, idleClientRss, idleRss, runClientApp, runGenerators } from './scenario';
import { num } from './report/format';
import {
  type Sink,
  type TracingTotals,
  TRACING_BASELINE,
  TRACING_KINDS,
  TRACING_SIZE,
  clientLoadRecordSpec,
  readSink,
  runClientLoad,
  startSink,
  tracingVariants,
} from './tracing';
import type { SinkCounts } from './otlp-sink';
import { readBrokerReplies } from './counters';
import { type LatencySummary, RAMPING } from './stats';
import {
  type StartOptions,
  type Target,
  type TargetKind,
  latencyKinds,
  loadOnFirstBroker,
  severalBrokersKinds,
  shapeOf,
  startTarget,
  stopTarget,
  versusNatsKinds,
} from './targets';
import { encryptedKinds, encryptedStartOptions, encryptedWindow } from './encrypted';

/** DEALER sockets or NATS connections the generator opens for `inflight` concurrent requesters. */
export function natsComparisonSockets(kind: TargetKind, inflight: number, sockets: number): number {
  if (kind === 'nats' || kind === 'nats-tls') return 1;
  if (kind === 'nats-conns') return inflight;
  return Math.min(sockets, inflight);
}

export type Phase =
  | 'saturation'
  | 'latency'
  | 'client-app'
  | 'versus-nats'
  | 'brokers-saturation'
  | 'brokers-latency'
  | 'tracing-saturation'
  | 'tracing-latency'
  | 'encrypted';

export interface RunRecord {
  rep: number;
  /** Latency round within a repetition (every latency target in turn); absent for other phases. */
  round?: number;
  phase: Phase;
  target: TargetKind;
  workers: number;
  size: number;
  mode: 'closed' | 'open';
  inflight?: number;
  rate?: number;
  requestsPerSecond: number;
  answered: number;
  errors: number;
  unanswered: number;
  workersSeen: number;
  latency: LatencySummary;
  usage: ProcessUsage[];
  machineBusyCores: number;
  /** Answers in the window's first half over its second (closed loop: near 1 once warm); not for client-app runs. */
  windowRamp?: number;
  /** CPU time of the broker/forwarder/direct process (all its threads; both brokers where there are two) per request, µs. */
  cpuUsPerRequest: number;
  /** The workers' credit, behind our broker(s). */
  credit?: number;
  /** Brokers with their HTTP endpoint on (several brokers): windows moved to them, and demands for credit, in the window. */
  creditMoves?: number;
  creditWants?: number;
}

export interface IdleRecord {
  rep: number;
  target: TargetKind | 'client';
  workers: number;
  rssKiB: Record<string, number>;
}

export interface MatrixResult {
  runs: RunRecord[];
  idle: IdleRecord[];
  seconds: number;
  /** `--tracing`: what each variant handled over the run, and what the OTLP sink received from each. */
  tracing?: { totals: TracingTotals[]; sink: SinkCounts };
}

const rotate = <T>(xs: readonly T[], n: number): T[] => xs.map((_, i) => xs[(i + n) % xs.length]);

/** Targets compared side by side (against NATS, encrypted), loaded in turn at every size and number of requesters. */
interface InTurn {
  phase: Phase;
  kinds: TargetKind[];
  workers: number;
  sizes: number[];
  inflight: number[];
  /** DEALER sockets or NATS connections the generator opens for a target's requesters. */
  sockets: (kind: TargetKind, inflight: number) => number;
  /** The warm-up and measured window of a run at this size. */
  window: (size: number) => { warmupMs: number; durationMs: number };
  start: StartOptions;
}

/**
 * The saturation targets of every worker count (the LRU forwarder at --lru-size, direct in the latency block
 * besides): `broker-metrics` is the same broker with its HTTP endpoint scraped, for the cost of metrics;
 * `broker-curve` with CURVE on every socket, for the cost of encryption.
 */
const SATURATION_KINDS: TargetKind[] = ['broker', 'broker-metrics', 'broker-curve', 'forwarder'];
/** Our client app's load mode runs against these, at these of --sizes, with this many requests in flight. */
const CLIENT_APP = { kinds: ['broker', 'forwarder', 'direct'] as TargetKind[], sizes: [16, 65536], concurrency: 16 };
const clientAppSizes = (o: BenchOptions) => CLIENT_APP.sizes.filter((s) => o.sizes.includes(s));

/** The runs of each phase in one repetition (none against NATS when nats-server is missing). */
function runsPerRepetition(o: BenchOptions, withC: boolean, withNats: boolean) {
  const lru = o.lruSize && o.sizes.includes(o.lruSize) ? 1 : 0;
  const main = o.natsOnly || o.severalBrokers || o.tracing || o.encrypted ? 0 : 1;
  const brokers = o.severalBrokers ? o.brokersCredits.length * o.brokersSizes.length * severalBrokersKinds.length : 0;
  const tracing = o.tracing ? TRACING_KINDS.length : 0;
  return {
    /** The encrypted runs' seconds, each size its own window: they differ too much to count runs alone. */
    encryptedSeconds: o.encrypted
      ? o.encryptedSizes.reduce((a, size) => {
          const w = encryptedWindow(o, size);
          return a + encryptedKinds(!!o.versusApps, withC).length * ((400 + w.warmupMs + w.durationMs + 300) / 1000);
        }, 0)
      : 0,
    encrypted: o.encrypted ? o.encryptedSizes.length * encryptedKinds(!!o.versusApps, withC).length : 0,
    brokersSaturation: brokers,
    brokersLatency: brokers * o.latencyRounds,
    tracingSaturation: tracing,
    tracingLatency: tracing * o.latencyRounds,
    saturation: main * (o.workers.length * (o.sizes.length * SATURATION_KINDS.length + lru) + o.sizes.length) /* direct */,
    latency: main * o.sizes.length * latencyKinds(withC).length * o.latencyRounds,
    clientApp: main * clientAppSizes(o).length * CLIENT_APP.kinds.length,
    versusNats:
      withNats && !o.severalBrokers && !o.tracing && !o.encrypted
        ? o.natsSizes.length * o.natsInflight.length * versusNatsKinds(withC, !!o.versusApps).length
        : 0,
  };
}

export function plannedRuns(o: BenchOptions, withC: boolean, withNats: boolean): number {
  const n = runsPerRepetition(o, withC, withNats);
  return (
    (n.saturation +
      n.latency +
      n.clientApp +
      n.versusNats +
      n.brokersSaturation +
      n.brokersLatency +
      n.tracingSaturation +
      n.tracingLatency +
      n.encrypted) *
    o.reps
  );
}

export function estimateSeconds(o: BenchOptions, withC: boolean, withNats: boolean): number {
  const n = runsPerRepetition(o, withC, withNats);
  /** One generator run: its start, the warm-up, the window, the drain. */
  const run = (ms: number, warmupMs = o.warmupMs) => (400 + warmupMs + ms + 300) / 1000;
  /** Starting the targets: each worker count's, the idle client's, the comparison's, each credit's one and two brokers. */
  const starts = o.tracing
    ? TRACING_KINDS.length * 2.5
    : o.encrypted
      ? encryptedKinds(!!o.versusApps, withC).length * 1.5
      : o.severalBrokers
        ? o.brokersCredits.length * 4
        : (o.natsOnly ? 0 : o.workers.length * 3 + 2) + (withNats ? 6 : 0);
  /** Our client app's run: its start, its --duration, its end (traced: the last spans sent). */
  const clientRun = Math.ceil((o.tracingWarmupMs + o.durationMs + 500) / 1000) + 1;
  return (
    (n.saturation * run(o.durationMs) +
      n.latency * run(o.latencyDurationMs) +
      n.clientApp * 1.5 +
      n.versusNats * run(o.durationMs, o.natsWarmupMs) +
      n.brokersSaturation * run(o.durationMs, o.brokersWarmupMs) +
      n.brokersLatency * run(o.latencyDurationMs, o.brokersWarmupMs) +
      n.tracingSaturation * clientRun +
      n.tracingLatency * run(o.latencyDurationMs, o.tracingWarmupMs) +
      n.encryptedSeconds +
      starts) *
    o.reps
  );
}

export async function runMatrix(o: BenchOptions, bundles: Bundles, log: (line: string) => void): Promise<MatrixResult> {
  const started = performance.now();
  const runs: RunRecord[] = [];
  const idle: IdleRecord[] = [];
  const withC = 'path' in bundles.nativeForwarder;
  const withNats = 'path' in bundles.natsServer;
  const total = plannedRuns(o, withC, withNats);
  const load = (size: number, extra: Partial<LoadSpec>): LoadSpec => ({
    mode: 'closed',
    size,
    generators: o.generators,
    sockets: o.sockets,
    warmupMs: o.warmupMs,
    durationMs: o.durationMs,
    ...extra,
  });

  const record = (rep: number, phase: Phase, t: Target, size: number, spec: LoadSpec, r: LoadResult, round?: number) => {
    const rec: RunRecord = {
      ...r,
      rep,
      round,
      phase,
      target: t.kind,
      workers: t.workers,
      size,
      mode: spec.mode,
      inflight: spec.mode === 'closed' ? spec.inflight : undefined,
      rate: spec.mode === 'open' ? spec.rate : undefined,
      cpuUsPerRequest: cpuUsPerRequest(r.usage, r.requestsPerSecond, t.servers),
      credit: t.credit,
    };
    runs.push(rec);
    const ours = r.usage.reduce((a, u) => a + (Number.isFinite(u.cpuCores) ? u.cpuCores : 0), 0);
    const servers = r.usage.slice(0, t.servers).reduce((a, u) => a + u.cpuCores, 0);
    const warn = [
      r.errors || r.unanswered ? ` ${r.errors} errors, ${r.unanswered} unanswered` : '',
      t.kind !== 'direct' && r.workersSeen < t.workers ? ` only ${r.workersSeen}/${t.workers} workers answered` : '',
      spec.mode === 'closed' && r.windowRamp < RAMPING
        ? ` still ramping (first half of the window ${num(r.windowRamp, 2)} x the second)`
        : '',
      Number.isFinite(r.creditMoves) ? `, credit moves ${r.creditMoves}, wants ${r.creditWants}` : '',
    ].join('');
    log(
      `  [${runs.length}/${total}] ${phase.padEnd(10)} ${t.kind.padEnd(13)} W=${t.workers}${t.credit === undefined ? '' : ` credit ${t.credit}`} ${String(size).padStart(5)} B ` +
        `${spec.mode === 'closed' ? `in flight ${spec.inflight}` : `rate ${num(spec.rate ?? 0)}/s`}: ${num(r.requestsPerSecond).padStart(7)} req/s, ` +
        `p50 ${num(r.latency.p50, 2)} p99 ${num(r.latency.p99, 2)} ms, ${t.kind} ${num(servers, 2)} cores (${num(rec.cpuUsPerRequest, 1)} µs/req), ` +
        `machine ${num(r.machineBusyCores, 2)} busy cores, ours ${num(ours, 2)}${warn}`,
    );
    return rec;
  };

  /**
   * Targets compared in turn: all started side by side and up throughout, then at every size and
   * number of requesters each loaded in turn (order rotated per repetition), closed loop, the same
   * load; a shape of load (`shapeOf`) runs on the processes of the target it is a shape of.
   */
  const inTurn = async (rep: number, c: InTurn) => {
    const targets = new Map<TargetKind, Target>();
    try {
      for (const kind of c.kinds.filter((k) => !shapeOf[k])) targets.set(kind, await startTarget(kind, c.workers, bundles, c.start));
      for (const kind of c.kinds) {
        const of = shapeOf[kind];
        if (of) targets.set(kind, { ...(targets.get(of) as Target), kind });
      }
      for (const size of c.sizes)
        for (const inflight of c.inflight)
          for (const kind of rotate(c.kinds, rep - 1)) {
            const t = targets.get(kind) as Target;
            const spec = load(size, {
              mode: 'closed',
              inflight,
              sockets: c.sockets(kind, inflight),
              batch: o.clientBatches,
              ...c.window(size),
            });
            record(rep, c.phase, t, size, spec, await runGenerators(t, spec, bundles));
          }
    } finally {
      for (const [kind, t] of targets) if (!shapeOf[kind]) await stopTarget(t);
    }
  };

  /** Our broker against NATS request-reply: the same workers/responders count, sizes and requesters in flight. */
  const versusNats = (rep: number) =>
    inTurn(rep, {
      phase: 'versus-nats',
      kinds: versusNatsKinds(withC, !!o.versusApps),
      workers: o.natsWorkers,
      sizes: o.natsSizes,
      inflight: o.natsInflight,
      sockets: (kind, inflight) => natsComparisonSockets(kind, inflight, o.sockets),
      window: () => ({ warmupMs: o.natsWarmupMs, durationMs: o.durationMs }),
      start: { credit: o.credit, otherApps: o.versusApps },
    });

  /** Our CURVE against NATS with TLS, each beside itself in the clear (encrypted.ts): every requester on one connection. */
  const encrypted = (rep: number) =>
    inTurn(rep, {
      phase: 'encrypted',
      kinds: encryptedKinds(!!o.versusApps, withC),
      workers: o.encryptedWorkers,
      sizes: o.encryptedSizes,
      inflight: [o.encryptedInflight],
      sockets: () => 1,
      window: (size) => encryptedWindow(o, size),
      start: encryptedStartOptions(o.credit, o.versusApps),
    });

  /**
   * Two brokers sharing W workers against one broker with as many (docs/protocol.md, "Several
   * brokers"), a block per credit: the one broker, the two loaded over both frontends and over the
   * first only, in turn (order rotated per repetition), at saturation; then in rounds at a fixed
   * open-loop rate, a share of the one broker's saturation measured moments before. The brokers'
   * HTTP endpoints are on (not scraped): their lease counters are read at each window's ends.
   */
  const severalBrokers = async (rep: number) => {
    for (const credit of o.brokersCredits) {
      const targets = new Map<TargetKind, Target>();
      try {
        targets.set('broker', await startTarget('broker', o.brokersWorkers, bundles, { credit, http: true }));
        const two = await startTarget('brokers-2', o.brokersWorkers, bundles, { credit, http: true });
        targets.set('brokers-2', two);
        targets.set('brokers-2-one', loadOnFirstBroker(two));
        for (const size of o.brokersSizes) {
          const spec = (extra: Partial<LoadSpec>) => load(size, { warmupMs: o.brokersWarmupMs, batch: o.clientBatches, ...extra });
          let one = NaN;
          for (const kind of rotate(severalBrokersKinds, rep - 1)) {
            const t = targets.get(kind) as Target;
            const s = spec({ mode: 'closed', inflight: o.inflight });
            const rec = record(rep, 'brokers-saturation', t, size, s, await runGenerators(t, s, bundles));
            if (kind === 'broker') one = rec.requestsPerSecond;
          }
          const rate = Math.max(100, Math.round(one * o.brokersRate));
          for (let round = 1; round <= o.latencyRounds; round++)
            for (const kind of rotate(severalBrokersKinds, rep - 1 + round - 1)) {
              const t = targets.get(kind) as Target;
              const s = spec({ mode: 'open', rate, durationMs: o.latencyDurationMs });
              record(rep, 'brokers-latency', t, size, s, await runGenerators(t, s, bundles), round);
            }
        }
      } finally {
        for (const [kind, t] of targets) if (kind !== 'brokers-2-one') await stopTarget(t);
      }
    }
  };

  /**
   * What tracing costs (tracing.ts): every variant started side by side, then each loaded in turn
   * (order rotated per repetition) by our client app at saturation, then in rounds at a fixed
   * open-loop rate by the generator, a share of the build before's saturation measured moments
   * before. Each broker's replies are read before it stops: the spans its variant should have sent.
   */
  const sink: Sink | undefined = o.tracing ? await startSink(bundles) : undefined;
  const variants = sink ? tracingVariants(o.beforeDist ?? '', sink.port, o.tracingSample) : {};
  const tracingTotals = new Map<TargetKind, TracingTotals>(
    Object.values(variants).map((v) => [v.kind, { kind: v.kind, ratio: v.ratio, brokerReplies: 0, clientRequests: 0, clientRetried: 0 }]),
  );
  const tracing = async (rep: number, sink: Sink) => {
    const targets = new Map<TargetKind, Target>();
    try {
      for (const kind of TRACING_KINDS) {
        const v = variants[kind];
        targets.set(kind, await startTarget(kind, o.tracingWorkers, bundles, { credit: o.credit, http: true, apps: v.apps, env: v.env }));
      }
      const size = TRACING_SIZE;
      const spec = { concurrency: o.tracingConcurrency, size, warmupMs: o.tracingWarmupMs, durationMs: o.durationMs };
      let before = NaN;
      for (const kind of rotate(TRACING_KINDS, rep - 1)) {
        const t = targets.get(kind) as Target;
        const r = await runClientLoad(t, variants[kind], spec, bundles, [sink.proc]);
        const rec = record(rep, 'tracing-saturation', t, size, clientLoadRecordSpec(spec), r);
        if (kind === TRACING_BASELINE) before = rec.requestsPerSecond;
        const totals = tracingTotals.get(kind) as TracingTotals;
        totals.clientRequests += r.client.requests;
        totals.clientRetried += r.client.retried;
      }
      const rate = Math.max(100, Math.round(before * o.tracingRate));
      for (let round = 1; round <= o.latencyRounds; round++)
        for (const kind of rotate(TRACING_KINDS, rep - 1 + round - 1)) {
          const t = targets.get(kind) as Target;
          const s = load(size, {
            mode: 'open',
            rate,
            warmupMs: o.tracingWarmupMs,
            durationMs: o.latencyDurationMs,
            batch: o.clientBatches,
          });
          record(rep, 'tracing-latency', t, size, s, await runGenerators(t, s, bundles), round);
        }
      for (const [kind, t] of targets) (tracingTotals.get(kind) as TracingTotals).brokerReplies += await readBrokerReplies(t.httpPorts[0]);
    } finally {
      // the traced programs send their last spans as they stop (SIGTERM; at most 2 s)
      for (const t of targets.values()) await stopTarget(t);
    }
  };

  for (let rep = 1; rep <= o.reps; rep++) {
    log(`repetition ${rep}/${o.reps}`);
    if (o.severalBrokers) {
      await severalBrokers(rep);
      continue;
    }
    if (sink) {
      await tracing(rep, sink);
      continue;
    }
    if (o.encrypted) {
      await encrypted(rep);
      continue;
    }
    if (withNats) await versusNats(rep);
    if (o.natsOnly) continue;
    idle.push({ rep, target: 'client', workers: 0, rssKiB: { client: await idleClientRss(bundles) } });
    for (const workers of o.workers) {
      const latencyBlock = workers === o.latencyWorkers;
      const kinds = [...SATURATION_KINDS];
      if (o.lruSize && o.sizes.includes(o.lruSize)) kinds.push('forwarder-lru');
      if (latencyBlock) kinds.push('direct');
      const targets = new Map<TargetKind, Target>();
      try {
        for (const kind of kinds) targets.set(kind, await startTarget(kind, workers, bundles, { credit: o.credit }));
        if (latencyBlock && withC) targets.set('forwarder-c', await startTarget('forwarder-c', workers, bundles)); // latency rounds only
        for (const t of targets.values()) idle.push({ rep, target: t.kind, workers: t.workers, rssKiB: await idleRss(t, 150) });
        for (const size of o.sizes) {
          const saturation = new Map<TargetKind, RunRecord>();
          for (const kind of rotate(kinds, rep - 1)) {
            if (kind === 'forwarder-lru' && size !== o.lruSize) continue;
            const t = targets.get(kind) as Target;
            const spec = load(size, { mode: 'closed', inflight: o.inflight });
            saturation.set(kind, record(rep, 'saturation', t, size, spec, await runGenerators(t, spec, bundles)));
          }
          if (!latencyBlock) continue;
          // half of the broker's saturation throughput measured just now, the same rate for every target
          const rate = Math.max(100, Math.round((saturation.get('broker')?.requestsPerSecond ?? 0) / 2));
          // several short rounds rather than one long run: p99 pairs taken close together in time
          for (let round = 1; round <= o.latencyRounds; round++)
            for (const kind of rotate(latencyKinds(withC), rep - 1 + round - 1)) {
              const t = targets.get(kind) as Target;
              const spec = load(size, { mode: 'open', rate, durationMs: o.latencyDurationMs });
              record(rep, 'latency', t, size, spec, await runGenerators(t, spec, bundles), round);
            }
          if (!clientAppSizes(o).includes(size)) continue;
          // our client app's own load mode: sized to last about a second at the broker's pace
          const requests = Math.min(
            40_000,
            Math.max(500, Math.round((saturation.get('broker')?.requestsPerSecond ?? 1000) * (o.durationMs / 1000) * 0.6)),
          );
          for (const kind of rotate(CLIENT_APP.kinds, rep - 1)) {
            const t = targets.get(kind) as Target;
            const c = await runClientApp(t, size, requests, CLIENT_APP.concurrency, bundles);
            const rec: RunRecord = {
              rep,
              phase: 'client-app',
              target: kind,
              workers: t.workers,
              size,
              mode: 'closed',
              inflight: CLIENT_APP.concurrency,
              requestsPerSecond: c.summary.requestsPerSecond,
              answered: c.summary.answered,
              errors: c.summary.errors,
              unanswered: 0,
              workersSeen: NaN,
              latency: { count: c.summary.answered, p50: c.summary.p50, p90: NaN, p99: c.summary.p99, p999: NaN, max: c.summary.max },
              usage: c.usage,
              machineBusyCores: c.machineBusyCores,
              cpuUsPerRequest: cpuUsPerRequest(c.usage, c.summary.requestsPerSecond),
            };
            runs.push(rec);
            const client = c.usage.find((u) => u.label === 'client');
            log(
              `  [${runs.length}/${total}] client-app ${kind.padEnd(13)} W=${t.workers} ${String(size).padStart(5)} B our client --requests ${requests} --concurrency ${CLIENT_APP.concurrency}: ` +
                `${num(c.summary.requestsPerSecond).padStart(7)} req/s, p50 ${num(c.summary.p50, 2)} p99 ${num(c.summary.p99, 2)} ms, client ${num(client?.cpuCores ?? NaN, 2)} cores, RSS ${num((client?.peakRssKiB ?? NaN) / 1024, 1)} MiB`,
            );
          }
        }
      } finally {
        for (const t of targets.values()) await stopTarget(t);
      }
    }
  }
  return {
    runs,
    idle,
    seconds: (performance.now() - started) / 1000,
    ...(sink ? { tracing: { totals: [...tracingTotals.values()], sink: await readSink(sink) } } : {}),
  };
}
