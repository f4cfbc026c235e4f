/**
 * The runs of one benchmark as every experiment reads them: by phase, target, size and worker
 * count, over trials (a repetition, or one latency round within it), and paired within a trial.
 */
import type { Phase, RunRecord } from '../matrix';
import { type Spread, spread } from '../stats';
import type { TargetKind } from '../targets';

export const uniq = <T>(xs: T[]): T[] => [...new Set(xs)];

/** The targets of the main phases, in the order their tables name them. */
export const KINDS: TargetKind[] = ['broker', 'forwarder', 'forwarder-lru', 'forwarder-c', 'direct'];

export type Pick = (r: RunRecord) => number;
export type PairPick = (x: RunRecord, y: RunRecord) => number;

export const rpsRatio: PairPick = (x, y) => x.requestsPerSecond / y.requestsPerSecond;

/** One figure of two targets over trials (`a`, `b`), and a / b paired within each trial. */
export interface Compared {
  a: Spread;
  b: Spread;
  ratio: Spread;
}

/** What a comparison of two targets reports: throughput, p50, p99 and the server's CPU per request. */
export interface ComparedFigures {
  rps: Compared;
  p50: Compared;
  p99: Compared;
  /** CPU µs per request of the target's servers (broker or brokers, nats-server), all threads. */
  cpu: Compared;
}

/** Each figure of a comparison, by `compare`. */
export const compareFigures = (compare: (f: Pick) => Compared): ComparedFigures => ({
  rps: compare((r) => r.requestsPerSecond),
  p50: compare((r) => r.latency.p50),
  p99: compare((r) => r.latency.p99),
  cpu: compare((r) => r.cpuUsPerRequest),
});

/** CPU cores used by a run's processes whose label passes `pick` (all of them by default). */
export const cores = (r: RunRecord, pick: (label: string) => boolean = () => true): number =>
  r.usage.filter((u) => pick(u.label)).reduce((a, u) => a + u.cpuCores, 0);
export const generatorCores = (r: RunRecord): number => cores(r, (l) => l.startsWith('loadgen'));

/** CPU µs per request of a run's processes whose label passes `pick`. */
export const perRequest =
  (pick: (label: string) => boolean): Pick =>
  (r) =>
    (cores(r, pick) / r.requestsPerSecond) * 1e6;
/** The workers' (or NATS responders') and the generators' CPU µs per request, all of them summed. */
export const workersPerRequest = perRequest((l) => l.startsWith('worker'));
export const generatorPerRequest = perRequest((l) => l.startsWith('loadgen'));

/** Every size and worker count that ran, ascending, and the runs' figures over trials. */
export type RunIndex = ReturnType<typeof indexRuns>;

/** `workers` undefined: any worker count; direct runs match any count. */
export function indexRuns(runs: RunRecord[]) {
  // A trial is one repetition, or one latency round within it: runs are paired within a trial.
  const trialOf = (r: RunRecord) => `${r.rep}.${r.round ?? 0}`;
  const trials = uniq(runs.map(trialOf));
  const find = (phase: Phase, target: TargetKind, size: number, workers: number | undefined, trial: string) =>
    runs.find(
      (r) =>
        r.phase === phase &&
        r.target === target &&
        r.size === size &&
        trialOf(r) === trial &&
        (workers === undefined || target === 'direct' || r.workers === workers),
    );
  /** `f` over the trials, of the run of each. */
  const over = (phase: Phase, target: TargetKind, size: number, workers: number | undefined, f: Pick): Spread =>
    spread(
      trials
        .map((trial) => find(phase, target, size, workers, trial))
        .filter((r): r is RunRecord => !!r)
        .map(f),
    );
  /** `f` of a's run and b's run, trial by trial where both ran. */
  const pairs = (phase: Phase, a: TargetKind, b: TargetKind, size: number, workers: number | undefined, f: PairPick): number[] =>
    trials.flatMap((trial) => {
      const x = find(phase, a, size, workers, trial);
      const y = find(phase, b, size, workers, trial);
      return x && y ? [f(x, y)] : [];
    });
  const paired = (phase: Phase, a: TargetKind, b: TargetKind, size: number, workers: number | undefined, f: PairPick): Spread =>
    spread(pairs(phase, a, b, size, workers, f));
  return {
    sizes: uniq(runs.map((r) => r.size)).sort((a, b) => a - b),
    /** Behind a broker or forwarder. */
    workerCounts: uniq(runs.filter((r) => r.target !== 'direct').map((r) => r.workers)).sort((a, b) => a - b),
    over,
    pairs,
    paired,
    /** `f` of a's runs and of b's over the trials, and a / b paired within each. */
    compared: (phase: Phase, a: TargetKind, b: TargetKind, size: number, workers: number | undefined, f: Pick): Compared => ({
      a: over(phase, a, size, workers, f),
      b: over(phase, b, size, workers, f),
      ratio: paired(phase, a, b, size, workers, (x, y) => f(x) / f(y)),
    }),
    /** `over` for each of KINDS that ran. */
    perKind: (phase: Phase, size: number, workers: number | undefined, f: Pick): Partial<Record<TargetKind, Spread>> => {
      const out: Partial<Record<TargetKind, Spread>> = {};
      for (const k of KINDS) {
        const s = over(phase, k, size, workers, f);
        if (s.n > 0) out[k] = s;
      }
      return out;
    },
  };
}
