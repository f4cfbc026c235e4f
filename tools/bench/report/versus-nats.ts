/**
 * Against NATS request-reply: our broker (and the other build's, `--versus-apps`) against
 * nats-server with Node responders, over one shared connection and over a connection per
 * requester, with the bare forwarders as floors; ratios paired within a repetition, and the
 * targets at 32 in flight.
 */
import type { RunRecord } from '../matrix';
import { type Spread, spread } from '../stats';
import { type TargetKind, targetLabel, versusNatsKinds } from '../targets';
import { type Table, comparedCells, fmtMedian, pair, sizeLabel, verdict } from './format';
import { type ComparedFigures, type Pick, compareFigures, generatorCores, uniq } from './runs';

/**
 * Our broker against one shape of NATS load, at one size and number of requesters: ours (`a`) and NATS's (`b`)
 * throughput, latency and server CPU per request (the broker process, nats-server), ratios paired per repetition.
 */
export interface VersusNatsRow extends ComparedFigures {
  size: number;
  inflight: number;
  workers: number;
  /** Our broker, or the other build's (`--versus-apps`). */
  ours: 'broker' | 'broker-other';
  nats: 'nats' | 'nats-conns';
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

/** Every target the comparison can load, in the order its tables name them. */
const KINDS = versusNatsKinds(true, true);

/** The comparison's runs, and its cases (size, requesters in flight) in the order they ran. */
export function versusNatsRuns(all: RunRecord[]): { runs: RunRecord[]; cases: [number, number][] } {
  const runs = all.filter((r) => r.phase === 'versus-nats');
  return { runs, cases: uniq(runs.map((r) => `${r.size}/${r.inflight}`)).map((k) => k.split('/').map(Number) as [number, number]) };
}

export function summarizeVersusNats(all: RunRecord[]): VersusNatsRow[] {
  const { runs, cases } = versusNatsRuns(all);
  const rows: VersusNatsRow[] = [];
  for (const [size, inflight] of cases) {
    const here = runs.filter((r) => r.size === size && r.inflight === inflight);
    for (const build of ['broker', 'broker-other'] as const) {
      const ours = here.filter((r) => r.target === build);
      for (const shape of ['nats', 'nats-conns'] as const) {
        const theirs = here.filter((r) => r.target === shape);
        // paired within a repetition: the runs were seconds apart, under the same machine load
        const pairs = ours.flatMap((o) => theirs.filter((t) => t.rep === o.rep).map((t) => [o, t] as const));
        if (pairs.length === 0) continue;
        const each = (f: Pick) => ({ ours: spread(pairs.map(([o]) => f(o))), nats: spread(pairs.map(([, t]) => f(t))) });
        rows.push({
          size,
          inflight: here[0].inflight ?? NaN,
          workers: here[0].workers,
          ours: build,
          nats: shape,
          ...compareFigures((f) => {
            const { ours: a, nats: b } = each(f);
            return { a, b, ratio: spread(pairs.map(([o, t]) => f(o) / f(t))) };
          }),
          generatorCores: each(generatorCores),
          machineBusy: each((r) => r.machineBusyCores),
        });
      }
    }
  }
  return rows.sort((a, b) => b.inflight - a.inflight || a.size - b.size || a.ours.localeCompare(b.ours));
}

export function summarizeVersusNatsCosts(all: RunRecord[]): VersusNatsCostRow[] {
  const { runs, cases } = versusNatsRuns(all);
  return cases
    .map(([size, inflight]) => {
      const of = (kind: TargetKind, f: Pick) =>
        spread(runs.filter((r) => r.size === size && r.inflight === inflight && r.target === kind).map(f));
      const rps: Partial<Record<TargetKind, Spread>> = {};
      const cpu: Partial<Record<TargetKind, Spread>> = {};
      for (const kind of KINDS) {
        if (of(kind, (r) => r.requestsPerSecond).n === 0) continue;
        rps[kind] = of(kind, (r) => r.requestsPerSecond);
        cpu[kind] = of(kind, (r) => r.cpuUsPerRequest);
      }
      return { size, inflight, rps, cpu };
    })
    .sort((a, b) => b.inflight - a.inflight || a.size - b.size);
}

/** The targets against NATS at `NATS_TARGET.inflight` requesters, against each shape of NATS load. */
export function natsChecks(rows: VersusNatsRow[]): string[] {
  const target = rows.filter((r) => r.inflight === NATS_TARGET.inflight && r.ours === 'broker');
  if (target.length === 0) return [];
  const each = (f: (r: VersusNatsRow) => string) =>
    target.map((r) => `${sizeLabel(r.size)} vs ${r.nats === 'nats' ? 'one connection' : 'a connection per requester'} ${f(r)}`).join(', ');
  return [
    `NATS target, broker CPU per request <= ${NATS_TARGET.cpuRatio} x nats-server's at ${NATS_TARGET.inflight} in flight: ` +
      `${verdict(target.every((r) => r.cpu.ratio.median <= NATS_TARGET.cpuRatio))} (median ratios ${each((r) => `${r.cpu.ratio.median.toFixed(2)}`)})`,
    `NATS target, throughput >= ${NATS_TARGET.rpsRatio.toFixed(1)} x NATS at ${NATS_TARGET.inflight} in flight: ` +
      `${verdict(target.every((r) => r.rps.ratio.median >= NATS_TARGET.rpsRatio))} (median ratios ${each((r) => `${r.rps.ratio.median.toFixed(2)}`)})`,
  ];
}

export function versusNatsTables(rows: VersusNatsRow[], costs: VersusNatsCostRow[]): Table[] {
  const out: Table[] = [];
  const withOther = rows.some((r) => r.ours === 'broker-other');
  if (rows.length)
    out.push({
      title:
        'Against NATS request-reply (closed loop, zero-delay workers / responders): ours / NATS, median [min–max] of ratios paired within each repetition',
      head: [
        'requesters',
        'size',
        ...(withOther ? ['build'] : []),
        'NATS load',
        'workers',
        'req/s ours / NATS',
        'req/s ratio',
        'p50 ms ours / NATS',
        'p50 ratio',
        'p99 ms ours / NATS',
        'p99 ratio',
        'server CPU µs/req broker / nats-server',
        'CPU ratio',
        'generator cores ours / NATS',
        'machine busy ours / NATS',
      ],
      rows: rows.map((r) => [
        String(r.inflight),
        sizeLabel(r.size),
        ...(withOther ? [r.ours === 'broker' ? 'this' : 'other'] : []),
        r.nats === 'nats' ? 'one connection' : 'connection each',
        String(r.workers),
        ...comparedCells(r.rps, 0),
        ...comparedCells(r.p50, 2),
        ...comparedCells(r.p99, 2),
        ...comparedCells(r.cpu, 1),
        pair(r.generatorCores.ours, r.generatorCores.nats),
        pair(r.machineBusy.ours, r.machineBusy.nats),
      ]),
      notes: [
        'ours: our broker with zero-delay workers (--credit as the plan says), loaded by the DEALER generator; NATS: nats-server with Node responders (nats.js) in one queue group, each answering `<request> <id>` at once.',
        'NATS load "one connection": all requesters share one nats.js connection; "connection each": one connection per requester. The generator publishes with a reply subject and reads replies from one inbox subscription per connection.',
        'ratios < 1 mean ours is lower: good for latency and CPU, bad for req/s. server CPU = the broker process or nats-server, all threads.',
      ],
    });
  if (costs.length) {
    const kinds = KINDS.filter((k) => costs.some((r) => r.cpu[k]));
    out.push({
      title: 'Against NATS, every target: server CPU µs per request and requests/s (median)',
      head: ['requesters', 'size', ...kinds.map((k) => `${targetLabel[k]}: µs/req, req/s`)],
      rows: costs.map((r) => [
        String(r.inflight),
        sizeLabel(r.size),
        ...kinds.map((k) => `${fmtMedian(r.cpu[k], 1)}, ${fmtMedian(r.rps[k])}`),
      ]),
      notes: [
        'the bare forwarders are the floors: what any broker in Node on zeromq (bare forwarder) and any ZeroMQ broker (C forwarder) costs with the same workers and load; NATS shapes share one nats-server.',
      ],
    });
  }
  return out;
}
