/**
 * Turns the raw runs into the summary (medians and spread over repetitions, ratios paired within
 * a repetition), the tables printed to stdout and written to results.md.
 */
import type { IdleRecord, RunRecord } from './matrix';
import { RAMPING, type Spread, spread } from './stats';
import { type TargetKind, latencyKinds, targetLabel } from './targets';

export interface SaturationRow {
  size: number;
  workers: number;
  rps: Partial<Record<TargetKind, Spread>>;
  /** broker / forwarder, paired per repetition. */
  ratio: Spread;
  /** LRU forwarder / forwarder, paired per repetition (diagnostic). */
  lruRatio?: Spread;
  /** broker / LRU forwarder, paired per repetition (diagnostic). */
  brokerToLru?: Spread;
  p50: Partial<Record<TargetKind, Spread>>;
  p99: Partial<Record<TargetKind, Spread>>;
  cpuUsPerRequest: Partial<Record<TargetKind, Spread>>;
}

export interface LatencyRow {
  size: number;
  workers: number;
  rate: Spread;
  achieved: Partial<Record<TargetKind, Spread>>;
  p50: Partial<Record<TargetKind, Spread>>;
  p99: Partial<Record<TargetKind, Spread>>;
  p999: Partial<Record<TargetKind, Spread>>;
  /** CPU of the broker, forwarder or direct process per request at that rate. */
  cpuUsPerRequest: Partial<Record<TargetKind, Spread>>;
  /** broker p99 - direct p99, paired per trial (ms). */
  addedP99: Spread;
  addedP50: Spread;
  /** broker p99 - forwarder p99 (ms). */
  addedP99VsForwarder: Spread;
  /** forwarder p99 - direct p99 (ms): what two extra hops cost any broker in Node on this machine. */
  floorP99: Spread;
  /** C forwarder p99 - direct p99 (ms): the same floor without Node (n = 0 when it was not built). */
  cFloorP99: Spread;
}

export interface RssRow {
  process: string;
  idleMiB: Spread;
  loadMiB: Record<number, Spread>;
}

export interface CpuRow {
  target: TargetKind;
  size: number;
  workers: number;
  rps: Spread;
  main: Spread;
  workersCores: Spread;
  generators: Spread;
  machine: Spread;
  others: Spread;
  /** Of the target process: kernel share of its CPU time, context switches per request. */
  cpuUsPerRequest: Spread;
}

export interface ClientAppRow {
  size: number;
  rps: Partial<Record<TargetKind, Spread>>;
  ratio: Spread;
  p50: Partial<Record<TargetKind, Spread>>;
  p99: Partial<Record<TargetKind, Spread>>;
  clientCores: Spread;
}

/** What a feature costs: the broker with it (metrics scraped every second, CURVE) against the broker without, paired. */
export interface CostRow {
  size: number;
  workers: number;
  /** req/s with / req/s without, paired within each repetition. */
  ratio: Spread;
  ratios: number[];
  /** CPU µs per request of the broker with / without, paired: steadier than req/s on a busy machine. */
  cpuRatios: number[];
}

/** Our broker against one shape of NATS load, at one size and number of requesters; ratios paired per repetition. */
export interface VersusNatsRow {
  size: number;
  inflight: number;
  workers: number;
  /** Our broker, or the other build's (`--versus-apps`). */
  ours: 'broker' | 'broker-other';
  nats: 'nats' | 'nats-conns';
  rps: { ours: Spread; nats: Spread; ratio: Spread };
  p50: { ours: Spread; nats: Spread; ratio: Spread };
  p99: { ours: Spread; nats: Spread; ratio: Spread };
  /** CPU µs per request of the broker process and of nats-server. */
  cpu: { ours: Spread; nats: Spread; ratio: Spread };
  /** Cores used by the load generator, and by the whole machine, during each. */
  generatorCores: { ours: Spread; nats: Spread };
  machineBusy: { ours: Spread; nats: Spread };
}

/** Every target of the comparison with NATS at one size and number of requesters: the floors beside broker and NATS. */
export interface VersusNatsCostRow {
  size: number;
  inflight: number;
  rps: Partial<Record<TargetKind, Spread>>;
  /** CPU µs per request of the target's main process (broker, forwarder, nats-server), all threads. */
  cpu: Partial<Record<TargetKind, Spread>>;
}

/** The targets against NATS, at this many requesters in flight: broker CPU per request and throughput. */
export const NATS_TARGET = { inflight: 32, cpuRatio: 1.5, rpsRatio: 1.0 };

export interface Summary {
  versusNats: VersusNatsRow[];
  versusNatsCosts: VersusNatsCostRow[];
  saturation: SaturationRow[];
  metricsCost: CostRow[];
  curveCost: CostRow[];
  latency: LatencyRow[];
  clientApp: ClientAppRow[];
  rss: RssRow[];
  cpu: CpuRow[];
  checks: string[];
}

const uniq = <T>(xs: T[]) => [...new Set(xs)];
const KINDS: TargetKind[] = ['broker', 'forwarder', 'forwarder-lru', 'forwarder-c', 'direct'];

export function summarize(runs: RunRecord[], idle: IdleRecord[], latencyWorkers: number): Summary {
  // A trial is one repetition, or one latency round within it: runs are paired within a trial.
  const trialOf = (r: RunRecord) => `${r.rep}.${r.round ?? 0}`;
  const trials = uniq(runs.map(trialOf));
  const sizes = uniq(runs.map((r) => r.size)).sort((a, b) => a - b);
  const workerCounts = uniq(runs.filter((r) => r.target !== 'direct').map((r) => r.workers)).sort((a, b) => a - b);
  const find = (phase: string, target: TargetKind, size: number, workers: number | undefined, trial: string) =>
    runs.find((r) => r.phase === phase && r.target === target && r.size === size && trialOf(r) === trial && (workers === undefined || target === 'direct' || r.workers === workers));
  const over = (phase: string, target: TargetKind, size: number, workers: number | undefined, f: (r: RunRecord) => number) =>
    spread(trials.map((trial) => find(phase, target, size, workers, trial)).filter((r): r is RunRecord => !!r).map(f));
  const pairs = (phase: string, a: TargetKind, b: TargetKind, size: number, workers: number | undefined, f: (x: RunRecord, y: RunRecord) => number) =>
    trials.flatMap((trial) => {
      const x = find(phase, a, size, workers, trial);
      const y = find(phase, b, size, workers, trial);
      return x && y ? [f(x, y)] : [];
    });
  const paired = (phase: string, a: TargetKind, b: TargetKind, size: number, workers: number | undefined, f: (x: RunRecord, y: RunRecord) => number) =>
    spread(pairs(phase, a, b, size, workers, f));
  const perKind = (phase: string, size: number, workers: number | undefined, f: (r: RunRecord) => number) => {
    const out: Partial<Record<TargetKind, Spread>> = {};
    for (const k of KINDS) {
      const s = over(phase, k, size, workers, f);
      if (s.n > 0) out[k] = s;
    }
    return out;
  };
  const rpsRatio = (x: RunRecord, y: RunRecord) => x.requestsPerSecond / y.requestsPerSecond;

  const saturation: SaturationRow[] = [];
  for (const size of sizes)
    for (const workers of workerCounts) {
      const row: SaturationRow = {
        size,
        workers,
        rps: perKind('saturation', size, workers, (r) => r.requestsPerSecond),
        ratio: paired('saturation', 'broker', 'forwarder', size, workers, rpsRatio),
        p50: perKind('saturation', size, workers, (r) => r.latency.p50),
        p99: perKind('saturation', size, workers, (r) => r.latency.p99),
        cpuUsPerRequest: perKind('saturation', size, workers, (r) => r.cpuUsPerRequest),
      };
      if (row.rps['forwarder-lru']) {
        row.lruRatio = paired('saturation', 'forwarder-lru', 'forwarder', size, workers, rpsRatio);
        row.brokerToLru = paired('saturation', 'broker', 'forwarder-lru', size, workers, rpsRatio);
      }
      if (row.rps.broker) saturation.push(row);
    }

  const costOf = (kind: TargetKind): CostRow[] =>
    saturation
      .map((r) => {
        const ratios = pairs('saturation', kind, 'broker', r.size, r.workers, rpsRatio);
        const cpuRatios = pairs('saturation', kind, 'broker', r.size, r.workers, (x, y) => x.cpuUsPerRequest / y.cpuUsPerRequest);
        return { size: r.size, workers: r.workers, ratio: spread(ratios), ratios, cpuRatios };
      })
      .filter((r) => r.ratio.n > 0);
  const metricsCost = costOf('broker-metrics');
  const curveCost = costOf('broker-curve');
  /** The median ratios with / without, over every paired run, and per case. */
  const costLine = (rows: CostRow[], what: string) => {
    const all = spread(rows.flatMap((r) => r.ratios));
    const cpu = spread(rows.flatMap((r) => r.cpuRatios));
    const cost = (1 - all.median) * 100;
    return {
      cost,
      text:
        `median throughput ${what} / without ${all.median.toFixed(3)} (cost ${cost.toFixed(1)} %, quartiles ${all.q1.toFixed(3)}–${all.q3.toFixed(3)}) over ${all.n} paired runs; ` +
        `broker CPU µs per request ${what} / without ${cpu.median.toFixed(3)}; ` +
        `per case ${rows.map((r) => `${sizeLabel(r.size)}/W${r.workers} ${r.ratio.median.toFixed(2)}`).join(', ')}`,
    };
  };

  /** a's p99 minus b's in the half-saturation runs, paired within each trial. */
  const p99Gap = (a: TargetKind, b: TargetKind, size: number) => paired('latency', a, b, size, latencyWorkers, (x, y) => x.latency.p99 - y.latency.p99);
  const latency: LatencyRow[] = sizes
    .map((size) => ({
      size,
      workers: latencyWorkers,
      rate: over('latency', 'broker', size, latencyWorkers, (r) => r.rate ?? NaN),
      achieved: perKind('latency', size, latencyWorkers, (r) => r.requestsPerSecond),
      p50: perKind('latency', size, latencyWorkers, (r) => r.latency.p50),
      p99: perKind('latency', size, latencyWorkers, (r) => r.latency.p99),
      p999: perKind('latency', size, latencyWorkers, (r) => r.latency.p999),
      cpuUsPerRequest: perKind('latency', size, latencyWorkers, (r) => r.cpuUsPerRequest),
      addedP99: p99Gap('broker', 'direct', size),
      addedP50: paired('latency', 'broker', 'direct', size, latencyWorkers, (x, y) => x.latency.p50 - y.latency.p50),
      addedP99VsForwarder: p99Gap('broker', 'forwarder', size),
      floorP99: p99Gap('forwarder', 'direct', size),
      cFloorP99: p99Gap('forwarder-c', 'direct', size),
    }))
    .filter((r) => r.rate.n > 0);

  const clientApp: ClientAppRow[] = sizes
    .map((size) => ({
      size,
      rps: perKind('client-app', size, latencyWorkers, (r) => r.requestsPerSecond),
      ratio: paired('client-app', 'broker', 'forwarder', size, latencyWorkers, rpsRatio),
      p50: perKind('client-app', size, latencyWorkers, (r) => r.latency.p50),
      p99: perKind('client-app', size, latencyWorkers, (r) => r.latency.p99),
      clientCores: over('client-app', 'broker', size, latencyWorkers, (r) => r.usage.find((u) => u.label === 'client')?.cpuCores ?? NaN),
    }))
    .filter((r) => r.ratio.n > 0);

  // RSS: idle right after start; under load = peak while the runs of that size went on
  const MiB = (k: number | undefined) => (k === undefined ? NaN : k / 1024);
  const idleOf = (target: TargetKind | 'client', label: string, workers?: number) =>
    spread(idle.filter((i) => i.target === target && (workers === undefined || i.workers === workers)).map((i) => MiB(i.rssKiB[label])));
  const loadOf = (phase: string, target: TargetKind, label: string, workers: number | undefined) =>
    Object.fromEntries(sizes.map((size) => [size, over(phase, target, size, workers, (r) => MiB(r.usage.find((u) => u.label === label)?.peakRssKiB))])) as Record<number, Spread>;
  const W = latencyWorkers;
  const rss: RssRow[] = [
    { process: `broker (${W} worker${W > 1 ? 's' : ''})`, idleMiB: idleOf('broker', 'broker', W), loadMiB: loadOf('saturation', 'broker', 'broker', W) },
    { process: 'worker (behind broker)', idleMiB: idleOf('broker', 'worker1', W), loadMiB: loadOf('saturation', 'broker', 'worker1', W) },
    { process: 'client (our app, load mode)', idleMiB: idleOf('client', 'client'), loadMiB: loadOf('client-app', 'broker', 'client', W) },
    { process: 'bare forwarder', idleMiB: idleOf('forwarder', 'forwarder', W), loadMiB: loadOf('saturation', 'forwarder', 'forwarder', W) },
    { process: 'direct reply server', idleMiB: idleOf('direct', 'direct'), loadMiB: loadOf('saturation', 'direct', 'direct', undefined) },
    { process: 'load generator', idleMiB: spread([]), loadMiB: loadOf('saturation', 'broker', 'loadgen1', W) },
  ];

  const cores = (r: RunRecord, pick: (label: string) => boolean) => r.usage.filter((u) => pick(u.label)).reduce((a, u) => a + u.cpuCores, 0);
  const cpu: CpuRow[] = [];
  for (const size of sizes)
    for (const target of KINDS) {
      const s = (f: (r: RunRecord) => number) => over('saturation', target, size, W, f);
      const row: CpuRow = {
        target,
        size,
        workers: target === 'direct' ? 0 : W,
        rps: s((r) => r.requestsPerSecond),
        main: s((r) => r.usage[0].cpuCores),
        workersCores: s((r) => cores(r, (l) => l.startsWith('worker'))),
        generators: s((r) => cores(r, (l) => l.startsWith('loadgen'))),
        machine: s((r) => r.machineBusyCores),
        others: s((r) => r.machineBusyCores - cores(r, () => true)),
        cpuUsPerRequest: s((r) => r.cpuUsPerRequest),
      };
      if (row.rps.n > 0) cpu.push(row);
    }

  const versusNats = summarizeVersusNats(runs);
  const versusNatsCosts = summarizeVersusNatsCosts(runs);
  const checks: string[] = [...natsChecks(versusNats), ...buildChecks(runs), ...rampCheck(runs)];
  const met = saturation.filter((r) => r.ratio.median >= 0.8);
  if (saturation.length) checks.push(
    `throughput target (broker >= 0.8 x bare forwarder): met in ${met.length} of ${saturation.length} cases` +
      (saturation.length ? `; ratio medians ${saturation.map((r) => `${sizeLabel(r.size)}/W${r.workers} ${r.ratio.median.toFixed(2)}`).join(', ')}` : ''),
  );
  if (metricsCost.length) {
    const { cost, text } = costLine(metricsCost, 'with metrics');
    checks.push(`metrics cost target (< 5 % of throughput, /metrics and /status scraped every second): ${cost < 5 ? 'met' : 'NOT met'}, ${text}`);
  }
  if (curveCost.length) checks.push(`CURVE cost (encryption on both sockets, keys checked at connection): ${costLine(curveCost, 'with CURVE').text}`);
  for (const r of saturation.filter((x) => x.lruRatio && x.brokerToLru))
    checks.push(
      `diagnostic, ${sizeLabel(r.size)}, ${r.workers} worker(s): LRU forwarder / bare forwarder ${r.lruRatio?.median.toFixed(2)} (the one-request-per-worker rule alone), ` +
        `broker / LRU forwarder ${r.brokerToLru?.median.toFixed(2)} (what our code costs beyond the rule)`,
    );
  for (const r of latency)
    checks.push(
      `latency target (p99 added < 1 ms at half saturation), ${sizeLabel(r.size)}, ${r.workers} worker(s), ${Math.round(r.rate.median)} req/s: ` +
        `${r.addedP99.median < 1 ? 'met' : 'NOT met'} (broker p99 - direct p99 = ${r.addedP99.median.toFixed(2)} ms, range ${r.addedP99.min.toFixed(2)} to ${r.addedP99.max.toFixed(2)}; ` +
        `the bare forwarder alone adds ${r.floorP99.median.toFixed(2)} ms${r.cFloorP99.n ? `, a C forwarder on libzmq ${r.cFloorP99.median.toFixed(2)} ms` : ''}, ` +
        `the broker beyond the bare forwarder ${r.addedP99VsForwarder.median.toFixed(2)} ms; ${r.addedP99.n} paired trials)`,
    );
  return { versusNats, versusNatsCosts, saturation, metricsCost, curveCost, latency, clientApp, rss, cpu, checks };
}

const generatorCores = (r: RunRecord) => r.usage.filter((u) => u.label.startsWith('loadgen')).reduce((a, u) => a + u.cpuCores, 0);

function summarizeVersusNats(all: RunRecord[]): VersusNatsRow[] {
  const runs = all.filter((r) => r.phase === 'versus-nats');
  const key = (r: RunRecord) => `${r.size}/${r.inflight}`;
  const rows: VersusNatsRow[] = [];
  for (const k of uniq(runs.map(key))) {
    const here = runs.filter((r) => key(r) === k);
    for (const build of ['broker', 'broker-other'] as const) {
      const ours = here.filter((r) => r.target === build);
      for (const shape of ['nats', 'nats-conns'] as const) {
        const theirs = here.filter((r) => r.target === shape);
        // paired within a repetition: the runs were seconds apart, under the same machine load
        const pairs = ours.flatMap((o) => theirs.filter((t) => t.rep === o.rep).map((t) => [o, t] as const));
        if (pairs.length === 0) continue;
        const compare = (f: (r: RunRecord) => number) => ({
          ours: spread(pairs.map(([o]) => f(o))),
          nats: spread(pairs.map(([, t]) => f(t))),
          ratio: spread(pairs.map(([o, t]) => f(o) / f(t))),
        });
        rows.push({
          size: here[0].size,
          inflight: here[0].inflight ?? NaN,
          workers: here[0].workers,
          ours: build,
          nats: shape,
          rps: compare((r) => r.requestsPerSecond),
          p50: compare((r) => r.latency.p50),
          p99: compare((r) => r.latency.p99),
          cpu: compare((r) => r.cpuUsPerRequest),
          generatorCores: { ours: spread(pairs.map(([o]) => generatorCores(o))), nats: spread(pairs.map(([, t]) => generatorCores(t))) },
          machineBusy: { ours: spread(pairs.map(([o]) => o.machineBusyCores)), nats: spread(pairs.map(([, t]) => t.machineBusyCores)) },
        });
      }
    }
  }
  return rows.sort((a, b) => b.inflight - a.inflight || a.size - b.size || a.ours.localeCompare(b.ours));
}

const VERSUS_NATS_KINDS: TargetKind[] = ['broker', 'broker-other', 'forwarder', 'forwarder-c', 'nats', 'nats-conns'];

function summarizeVersusNatsCosts(all: RunRecord[]): VersusNatsCostRow[] {
  const runs = all.filter((r) => r.phase === 'versus-nats');
  const cases = uniq(runs.map((r) => `${r.size}/${r.inflight}`)).map((k) => k.split('/').map(Number));
  return cases
    .map(([size, inflight]) => {
      const of = (kind: TargetKind, f: (r: RunRecord) => number) => spread(runs.filter((r) => r.size === size && r.inflight === inflight && r.target === kind).map(f));
      const rps: Partial<Record<TargetKind, Spread>> = {};
      const cpu: Partial<Record<TargetKind, Spread>> = {};
      for (const kind of VERSUS_NATS_KINDS) {
        if (of(kind, (r) => r.requestsPerSecond).n === 0) continue;
        rps[kind] = of(kind, (r) => r.requestsPerSecond);
        cpu[kind] = of(kind, (r) => r.cpuUsPerRequest);
      }
      return { size, inflight, rps, cpu };
    })
    .sort((a, b) => b.inflight - a.inflight || a.size - b.size);
}

/** This build against the other (`--versus-apps`), paired within each repetition of the comparison with NATS. */
function buildChecks(all: RunRecord[]): string[] {
  const runs = all.filter((r) => r.phase === 'versus-nats');
  const other = runs.filter((r) => r.target === 'broker-other');
  if (other.length === 0) return [];
  const cases = uniq(other.map((r) => `${r.size}/${r.inflight}`)).map((k) => k.split('/').map(Number));
  const ratios = (size: number, inflight: number, f: (r: RunRecord) => number) =>
    spread(other.filter((o) => o.size === size && o.inflight === inflight).flatMap((o) => runs.filter((r) => r.target === 'broker' && r.rep === o.rep && r.size === size && r.inflight === inflight).map((r) => f(r) / f(o))));
  return [
    'this build / other build (--versus-apps), medians of ratios paired per repetition: ' +
      cases
        .map(([size, inflight]) => `${inflight} in flight ${sizeLabel(size)}: CPU/req ${ratios(size, inflight, (r) => r.cpuUsPerRequest).median.toFixed(2)}, req/s ${ratios(size, inflight, (r) => r.requestsPerSecond).median.toFixed(2)}, p99 ${ratios(size, inflight, (r) => r.latency.p99).median.toFixed(2)}`)
        .join('; '),
  ];
}

/** How many closed-loop windows were measured before the load reached its pace (the warm-up too short for them). */
function rampCheck(all: RunRecord[]): string[] {
  const closed = all.filter((r): r is RunRecord & { windowRamp: number } => r.mode === 'closed' && Number.isFinite(r.windowRamp));
  if (closed.length === 0) return [];
  const ramping = closed.filter((r) => r.windowRamp < RAMPING);
  const which = uniq(ramping.map((r) => `${r.phase} ${r.target} ${sizeLabel(r.size)}`)).join(', ');
  return [`warm-up: ${ramping.length} of ${closed.length} closed-loop windows still ramping up (first half < ${RAMPING} x the second)${which ? `: ${which}` : ''}`];
}

/** The targets against NATS at `NATS_TARGET.inflight` requesters, against each shape of NATS load. */
function natsChecks(rows: VersusNatsRow[]): string[] {
  const target = rows.filter((r) => r.inflight === NATS_TARGET.inflight && r.ours === 'broker');
  if (target.length === 0) return [];
  const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');
  const each = (f: (r: VersusNatsRow) => string) => target.map((r) => `${sizeLabel(r.size)} vs ${r.nats === 'nats' ? 'one connection' : 'a connection per requester'} ${f(r)}`).join(', ');
  return [
    `NATS target, broker CPU per request <= ${NATS_TARGET.cpuRatio} x nats-server's at ${NATS_TARGET.inflight} in flight: ` +
      `${verdict(target.every((r) => r.cpu.ratio.median <= NATS_TARGET.cpuRatio))} (median ratios ${each((r) => `${r.cpu.ratio.median.toFixed(2)}`)})`,
    `NATS target, throughput >= ${NATS_TARGET.rpsRatio.toFixed(1)} x NATS at ${NATS_TARGET.inflight} in flight: ` +
      `${verdict(target.every((r) => r.rps.ratio.median >= NATS_TARGET.rpsRatio))} (median ratios ${each((r) => `${r.rps.ratio.median.toFixed(2)}`)})`,
  ];
}

export const sizeLabel = (b: number) => (b >= 1024 && b % 1024 === 0 ? `${b / 1024} KiB` : `${b} B`);

const num = (v: number, d = 0) => (Number.isFinite(v) ? v.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }) : '–');
/** `median [min–max]`, or just the median when there is one repetition. */
export const fmtSpread = (s: Spread | undefined, d = 0): string => (!s || s.n === 0 ? '–' : s.n === 1 ? num(s.median, d) : `${num(s.median, d)} [${num(s.min, d)}–${num(s.max, d)}]`);
const pair = (a: Spread | undefined, b: Spread | undefined, d = 2) => `${a ? num(a.median, d) : '–'} / ${b ? num(b.median, d) : '–'}`;

/** `ours / NATS` medians, then the paired ratio with its spread. */
const compared = (c: { ours: Spread; nats: Spread; ratio: Spread }, digits: number) => [pair(c.ours, c.nats, digits), fmtSpread(c.ratio, 2)];

export interface Table {
  title: string;
  head: string[];
  rows: string[][];
  notes?: string[];
}

export function tables(s: Summary): Table[] {
  const out: Table[] = [];
  if (s.versusNats.length)
    out.push({
      title: 'Against NATS request-reply (closed loop, zero-delay workers / responders): ours / NATS, median [min–max] of ratios paired within each repetition',
      head: ['requesters', 'size', ...(s.versusNats.some((r) => r.ours === 'broker-other') ? ['build'] : []), 'NATS load', 'workers', 'req/s ours / NATS', 'req/s ratio', 'p50 ms ours / NATS', 'p50 ratio', 'p99 ms ours / NATS', 'p99 ratio', 'server CPU µs/req broker / nats-server', 'CPU ratio', 'generator cores ours / NATS', 'machine busy ours / NATS'],
      rows: s.versusNats.map((r) => [
        String(r.inflight),
        sizeLabel(r.size),
        ...(s.versusNats.some((x) => x.ours === 'broker-other') ? [r.ours === 'broker' ? 'this' : 'other'] : []),
        r.nats === 'nats' ? 'one connection' : 'connection each',
        String(r.workers),
        ...compared(r.rps, 0),
        ...compared(r.p50, 2),
        ...compared(r.p99, 2),
        ...compared(r.cpu, 1),
        pair(r.generatorCores.ours, r.generatorCores.nats),
        pair(r.machineBusy.ours, r.machineBusy.nats),
      ]),
      notes: [
        'ours: our broker with zero-delay workers (--credit as the plan says), loaded by the DEALER generator; NATS: nats-server with Node responders (nats.js) in one queue group, each answering `<request> <id>` at once.',
        'NATS load "one connection": all requesters share one nats.js connection; "connection each": one connection per requester. The generator publishes with a reply subject and reads replies from one inbox subscription per connection.',
        'ratios < 1 mean ours is lower: good for latency and CPU, bad for req/s. server CPU = the broker process or nats-server, all threads.',
      ],
    });
  if (s.versusNatsCosts.length) {
    const kinds = VERSUS_NATS_KINDS.filter((k) => s.versusNatsCosts.some((r) => r.cpu[k]));
    out.push({
      title: 'Against NATS, every target: server CPU µs per request and requests/s (median)',
      head: ['requesters', 'size', ...kinds.map((k) => `${targetLabel[k]}: µs/req, req/s`)],
      rows: s.versusNatsCosts.map((r) => [String(r.inflight), sizeLabel(r.size), ...kinds.map((k) => `${num(r.cpu[k]?.median ?? NaN, 1)}, ${num(r.rps[k]?.median ?? NaN)}`)]),
      notes: ['the bare forwarders are the floors: what any broker in Node on zeromq (bare forwarder) and any ZeroMQ broker (C forwarder) costs with the same workers and load; NATS shapes share one nats-server.'],
    });
  }
  if (!s.saturation.length && !s.latency.length && !s.clientApp.length) return out; // only the comparison with NATS ran
  const hasLru = s.saturation.some((r) => r.rps['forwarder-lru']);
  const withC = s.latency.some((r) => r.cFloorP99.n > 0);
  out.push({
    title: 'Saturation throughput (closed loop), requests/s: median [min–max] over repetitions',
    head: ['size', 'workers', 'broker', 'bare forwarder', 'broker / forwarder', ...(hasLru ? ['LRU forwarder', 'LRU / forwarder'] : []), 'direct (no broker)', 'CPU µs/req broker', 'CPU µs/req forwarder', 'p50 / p99 ms broker', 'p50 / p99 ms direct'],
    rows: s.saturation.map((r) => [
      sizeLabel(r.size),
      String(r.workers),
      fmtSpread(r.rps.broker),
      fmtSpread(r.rps.forwarder),
      fmtSpread(r.ratio, 2),
      ...(hasLru ? [fmtSpread(r.rps['forwarder-lru']), r.lruRatio ? fmtSpread(r.lruRatio, 2) : '–'] : []),
      fmtSpread(r.rps.direct),
      num(r.cpuUsPerRequest.broker?.median ?? NaN, 1),
      num(r.cpuUsPerRequest.forwarder?.median ?? NaN, 1),
      pair(r.p50.broker, r.p99.broker),
      pair(r.p50.direct, r.p99.direct),
    ]),
    notes: [
      'ratio = broker / bare forwarder, paired within each repetition (same load, runs seconds apart).',
      'CPU µs/req = CPU time of the broker (or forwarder) process, all threads, per request: less sensitive to the noisy machine than req/s.',
      'closed-loop latency at saturation mostly restates throughput (Little: in flight / throughput); see the half-saturation table.',
    ],
  });
  out.push({
    title: 'Latency at half of the broker’s saturation (open loop, the same rate for every target), ms: median over trials',
    head: [
      'size',
      'workers',
      'rate req/s',
      'broker p50 / p99',
      'forwarder p50 / p99',
      ...(withC ? ['C forwarder p50 / p99'] : []),
      'direct p50 / p99',
      'broker p99.9',
      'added p99 vs direct',
      'added p99 vs forwarder',
      'forwarder p99 vs direct',
      ...(withC ? ['C forwarder p99 vs direct'] : []),
      `CPU µs/req broker / forwarder${withC ? ' / C' : ''} / direct`,
      'target < 1 ms',
    ],
    rows: s.latency.map((r) => [
      sizeLabel(r.size),
      String(r.workers),
      fmtSpread(r.rate),
      pair(r.p50.broker, r.p99.broker),
      pair(r.p50.forwarder, r.p99.forwarder),
      ...(withC ? [pair(r.p50['forwarder-c'], r.p99['forwarder-c'])] : []),
      pair(r.p50.direct, r.p99.direct),
      num(r.p999.broker?.median ?? NaN, 2),
      fmtSpread(r.addedP99, 2),
      fmtSpread(r.addedP99VsForwarder, 2),
      fmtSpread(r.floorP99, 2),
      ...(withC ? [fmtSpread(r.cFloorP99, 2)] : []),
      latencyKinds(withC).map((k) => num(r.cpuUsPerRequest[k]?.median ?? NaN, 0)).join(' / '),
      r.addedP99.median < 1 ? 'met' : 'not met',
    ]),
    notes: [
      'a trial is one latency round of a repetition (every target in turn, order rotated); added = broker minus baseline, paired within a trial.',
      'forwarder p99 vs direct is the floor: what the two extra hops cost a broker that does nothing' +
        (withC ? '; the C forwarder (libzmq, no Node) is the same floor for any ZeroMQ broker.' : '.') +
        ' Latency is measured in the generator from send to reply.',
    ],
  });
  if (s.clientApp.length)
    out.push({
      title: `Our client app's load mode (REQ sockets, closed loop), requests/s: median [min–max]`,
      head: ['size', 'broker', 'bare forwarder', 'broker / forwarder', 'direct', 'p50 / p99 ms broker', 'p50 / p99 ms direct', 'client CPU cores'],
      rows: s.clientApp.map((r) => [
        sizeLabel(r.size),
        fmtSpread(r.rps.broker),
        fmtSpread(r.rps.forwarder),
        fmtSpread(r.ratio, 2),
        fmtSpread(r.rps.direct),
        pair(r.p50.broker, r.p99.broker),
        pair(r.p50.direct, r.p99.direct),
        fmtSpread(r.clientCores, 2),
      ]),
    });
  const sizes = Object.keys(s.rss[0]?.loadMiB ?? {}).map(Number);
  out.push({
    title: 'Resident memory (RSS), MiB: idle after start, and peak under load of each size (median)',
    head: ['process', 'idle', ...sizes.map((z) => `load ${sizeLabel(z)}`)],
    rows: s.rss.map((r) => [r.process, fmtSpread(r.idleMiB, 1), ...sizes.map((z) => num(r.loadMiB[z]?.median ?? NaN, 1))]),
  });
  out.push({
    title: 'Where the 2 cores went during the saturation runs (CPU cores used, median)',
    head: ['target', 'size', 'req/s', 'target process', 'workers', 'load generator', 'machine busy', 'other processes', 'target CPU µs/req'],
    rows: s.cpu.map((r) => [
      r.target,
      sizeLabel(r.size),
      num(r.rps.median),
      num(r.main.median, 2),
      num(r.workersCores.median, 2),
      num(r.generators.median, 2),
      num(r.machine.median, 2),
      num(r.others.median, 2),
      num(r.cpuUsPerRequest.median, 1),
    ]),
    notes: [
      `with ${s.cpu.find((r) => r.target !== 'direct')?.workers ?? '?'} worker(s); "target" is the broker, forwarder or direct process; "other processes" = machine busy minus everything the benchmark started.`,
      'machine busy near 2.0 means the machine, not one process, is the limit: every process (including the generator and other tenants) competes for the same two cores.',
    ],
  });
  return out;
}

export function textTable(t: Table): string {
  const widths = t.head.map((h, i) => Math.max(h.length, ...t.rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [t.title, line(t.head), widths.map((w) => '-'.repeat(w)).join('  '), ...t.rows.map(line), ...(t.notes ?? []).map((n) => `  ${n}`)].join('\n');
}

export function markdownTable(t: Table): string {
  const esc = (c: string) => c.replace(/\|/g, '\\|');
  return [
    `**${t.title}**`,
    '',
    `| ${t.head.map(esc).join(' | ')} |`,
    `| ${t.head.map((_, i) => (i < 2 ? '---' : '---:')).join(' | ')} |`,
    ...t.rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
    ...(t.notes?.length ? ['', ...t.notes.map((n) => `- ${n}`)] : []),
  ].join('\n');
}
