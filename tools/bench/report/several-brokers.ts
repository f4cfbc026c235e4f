/**
 * Several brokers: two brokers sharing W workers against one broker with as many, under the same
 * load (docs/protocol.md, "Several brokers"), a block per credit. At saturation: throughput and the
 * brokers' CPU per request (both brokers summed), two / one paired within each repetition; at a
 * fixed open-loop rate below saturation, where workers are idle part of the time: p50 and p99, two
 * / one paired within each round. The brokers count their leases in each window: windows moved to
 * them (`TSR/1 CREDIT`) and demands for credit (`TSR/1 WANT`).
 */
import type { Phase, RunRecord } from '../matrix';
import type { Spread } from '../stats';
import { type TargetKind, targetLabel } from '../targets';
import { type Table, comparedCells, fmtSpread, num, pair, sizeLabel } from './format';
import { type Compared, type ComparedFigures, type Pick, compareFigures, cores, indexRuns, uniq } from './runs';

export type TwoBrokers = 'brokers-2' | 'brokers-2-one';

/**
 * What a phase saw of two brokers (one shape of load, `a`) against one broker (`b`), paired within each trial;
 * the CPU per request is of the broker processes, both brokers summed against the one.
 */
export interface TwoToOnePhase extends ComparedFigures {
  /** The second broker's share of the two brokers' CPU (all the load on the first: what the idle one costs). */
  secondShare: Spread;
  /** Per request answered in the window, two brokers: windows moved to them, and WANTs they sent. */
  movesPerRequest: Spread;
  wantsPerRequest: Spread;
  /** Requests not answered by the end of the run, or answered with an error, over every run: two, and one. */
  lost: { two: number; one: number };
  /** Requests answered in the windows, over every run: two, and one. */
  answered: { two: number; one: number };
  /** The ratios two / one over the trials where two brokers lost no request (NaN-free where none lost any). */
  lossless: { rps: Spread; cpu: Spread; p99: Spread };
  /** Runs of two brokers that lost any. */
  runsLosing: number;
  runs: number;
}

export interface SeveralBrokersRow {
  credit: number;
  size: number;
  workers: number;
  shape: TwoBrokers;
  saturation: TwoToOnePhase;
  /** The open-loop rate (a share of the one broker's saturation measured moments before). */
  rate: Spread;
  latency: TwoToOnePhase;
}

const PHASES = { saturation: 'brokers-saturation', latency: 'brokers-latency' } as const satisfies Record<string, Phase>;
const SHAPES: TwoBrokers[] = ['brokers-2', 'brokers-2-one'];

/** What the issue asks of two brokers against one on this machine (2 cores: they cannot scale, they must not lose much). */
export const SEVERAL_BROKERS_TARGET = { rpsRatio: 0.8, p99Ratio: 2 };

const lostIn = (r: RunRecord) => r.unanswered + r.errors;
const perRequest = (n: number | undefined, r: RunRecord) => (n ?? NaN) / r.answered;

export function summarizeSeveralBrokers(all: RunRecord[]): SeveralBrokersRow[] {
  const ours = all.filter((r) => r.phase === PHASES.saturation || r.phase === PHASES.latency);
  const rows: SeveralBrokersRow[] = [];
  for (const credit of uniq(ours.map((r) => r.credit ?? NaN)).sort((a, b) => a - b)) {
    const x = indexRuns(ours.filter((r) => r.credit === credit));
    for (const size of x.sizes)
      for (const shape of SHAPES) {
        const phase = (p: Phase): TwoToOnePhase => {
          const runsOf = (kind: TargetKind) =>
            ours.filter((r) => r.phase === p && r.target === kind && r.credit === credit && r.size === size);
          const two = runsOf(shape);
          const one = runsOf('broker');
          const sum = (runs: RunRecord[], f: Pick) => runs.reduce((a, r) => a + f(r), 0);
          const lossless = (f: Pick) => x.paired(p, shape, 'broker', size, undefined, (a, b) => (lostIn(a) > 0 ? NaN : f(a) / f(b)));
          return {
            ...compareFigures((f) => ({
              a: x.over(p, shape, size, undefined, f),
              b: x.over(p, 'broker', size, undefined, f),
              ratio: x.paired(p, shape, 'broker', size, undefined, (a, b) => f(a) / f(b)),
            })),
            secondShare: x.over(
              p,
              shape,
              size,
              undefined,
              (r) => cores(r, (l) => l === 'broker2') / cores(r, (l) => l.startsWith('broker')),
            ),
            movesPerRequest: x.over(p, shape, size, undefined, (r) => perRequest(r.creditMoves, r)),
            wantsPerRequest: x.over(p, shape, size, undefined, (r) => perRequest(r.creditWants, r)),
            lost: { two: sum(two, lostIn), one: sum(one, lostIn) },
            answered: { two: sum(two, (r) => r.answered), one: sum(one, (r) => r.answered) },
            lossless: {
              rps: lossless((r) => r.requestsPerSecond),
              cpu: lossless((r) => r.cpuUsPerRequest),
              p99: lossless((r) => r.latency.p99),
            },
            runsLosing: two.filter((r) => lostIn(r) > 0).length,
            runs: two.length,
          };
        };
        const saturation = phase(PHASES.saturation);
        if (saturation.rps.ratio.n === 0) continue;
        rows.push({
          credit,
          size,
          workers: ours.find((r) => r.target === shape && r.credit === credit)?.workers ?? NaN,
          shape,
          saturation,
          rate: x.over(PHASES.latency, 'broker', size, undefined, (r) => r.rate ?? NaN),
          latency: phase(PHASES.latency),
        });
      }
  }
  return rows;
}

const range = (s: Spread) => (s.n > 1 ? ` [${s.min.toFixed(2)}–${s.max.toFixed(2)}]` : '');
/** A ratio's median and range, `–` over no trial. */
const spreadText = (s: Spread) => (s.n === 0 ? '–' : `${s.median.toFixed(2)}${range(s)}`);
const ratio = (c: Compared) => spreadText(c.ratio);
/** Lost requests, two / one, each with its share of all requests where any were lost. */
const lost = (p: TwoToOnePhase) => {
  const one = (n: number, answered: number) => (n > 0 ? `${num(n)} (${num((100 * n) / (n + answered), 1)} %)` : '0');
  return `${one(p.lost.two, p.answered.two)} / ${one(p.lost.one, p.answered.one)}`;
};

/** The case of a row: `credit 4, 16 B, 4 workers, load on both`. */
const caseOf = (r: SeveralBrokersRow) =>
  `credit ${r.credit}, ${sizeLabel(r.size)}, ${r.workers} workers, ${r.shape === 'brokers-2' ? 'load on both' : 'load on one'}`;

export function severalBrokersChecks(rows: SeveralBrokersRow[]): string[] {
  if (rows.length === 0) return [];
  const t = SEVERAL_BROKERS_TARGET;
  const met = (r: SeveralBrokersRow) =>
    r.saturation.rps.ratio.median >= t.rpsRatio &&
    r.latency.p99.ratio.median < t.p99Ratio &&
    r.saturation.lost.two + r.latency.lost.two <= r.saturation.lost.one + r.latency.lost.one;
  return [
    ...rows.map(
      (r) =>
        `two brokers / one, ${caseOf(r)}: throughput ${ratio(r.saturation.rps)}, ` +
        `broker CPU per request ${ratio(r.saturation.cpu)}; ` +
        `at ${num(r.rate.median)} req/s p50 ${ratio(r.latency.p50)}, p99 ${ratio(r.latency.p99)}; ` +
        `credit moves per request ${num(r.saturation.movesPerRequest.median, 3)} at saturation, ${num(r.latency.movesPerRequest.median, 3)} at the rate; ` +
        `requests lost (two / one) ${lost(r.saturation)} at saturation, ${lost(r.latency)} at the rate` +
        (r.saturation.runsLosing + r.latency.runsLosing > 0
          ? ` (in ${r.saturation.runsLosing + r.latency.runsLosing} of ${r.saturation.runs + r.latency.runs} runs of two brokers); ` +
            `over the trials that lost none, throughput ${spreadText(r.saturation.lossless.rps)} (${r.saturation.lossless.rps.n} trials), ` +
            `broker CPU per request ${spreadText(r.saturation.lossless.cpu)}, p99 ${spreadText(r.latency.lossless.p99)} (${r.latency.lossless.p99.n} trials)`
          : ''),
    ),
    `several brokers target (two / one: throughput >= ${t.rpsRatio}, p99 at the fixed rate < ${t.p99Ratio} x, no more requests lost than one broker): ` +
      `met in ${rows.filter(met).length} of ${rows.length} cases` +
      (rows.some((r) => !met(r))
        ? `; NOT met: ${rows
            .filter((r) => !met(r))
            .map(caseOf)
            .join('; ')}`
        : ''),
  ];
}

const CASE_HEAD = ['credit', 'size', 'workers', 'two brokers'];
const caseCells = (r: SeveralBrokersRow) => [`${r.credit}`, sizeLabel(r.size), String(r.workers), targetLabel[r.shape]];
/** What the leases did, and what was lost, in a phase. */
const LEASES_HEAD = ['credit moves / wants per 1000 req', 'lost two / one'];
const per1000 = (s: Spread) => num(s.median * 1000, 1);
const leaseCells = (p: TwoToOnePhase) => [`${per1000(p.movesPerRequest)} / ${per1000(p.wantsPerRequest)}`, lost(p)];

export function severalBrokersTables(rows: SeveralBrokersRow[]): Table[] {
  if (rows.length === 0) return [];
  return [
    {
      title:
        'Two brokers sharing their workers against one broker, at saturation (closed loop): two / one, median [min–max] of ratios paired within each repetition',
      head: [
        ...CASE_HEAD,
        'req/s two / one',
        'req/s ratio',
        'req/s ratio, none lost',
        'broker CPU µs/req two (both) / one',
        'CPU ratio',
        'second broker’s CPU share',
        ...LEASES_HEAD,
      ],
      rows: rows.map((r) => [
        ...caseCells(r),
        ...comparedCells(r.saturation.rps, 0),
        fmtSpread(r.saturation.lossless.rps, 2),
        ...comparedCells(r.saturation.cpu, 1),
        num(r.saturation.secondShare.median, 2),
        ...leaseCells(r.saturation),
      ]),
      notes: [
        'one: one broker and W zero-delay workers; two: two brokers and W workers, each serving both (--broker-host a,b), sharing its credit by leases. "load on both": the generator’s sockets split over the two frontends; "load on one": all on the first, the second broker idle beside it.',
        'broker CPU = the broker processes, all threads, both summed for two; the second broker’s share is of that sum. credit moves and wants: the brokers’ tsr_broker_credit_moves_total and tsr_broker_credit_wants_total over the window, per request answered.',
        'lost = requests not answered by the end of the run (3 s after the window) or answered with an error, summed over the runs; a lost request is in no latency figure, and a run that lost requests measured the other broker alone: "none lost" gives the ratios over the repetitions where two brokers lost none.',
      ],
    },
    {
      title:
        'Two brokers against one at a fixed rate below saturation (open loop, idle workers present), ms: two / one, median [min–max] of ratios paired within each round',
      head: [
        ...CASE_HEAD,
        'rate req/s',
        'p50 ms two / one',
        'p50 ratio',
        'p99 ms two / one',
        'p99 ratio',
        'p99 ratio, none lost',
        'broker CPU µs/req two / one',
        ...LEASES_HEAD,
      ],
      rows: rows.map((r) => [
        ...caseCells(r),
        fmtSpread(r.rate),
        ...comparedCells(r.latency.p50, 2),
        ...comparedCells(r.latency.p99, 2),
        fmtSpread(r.latency.lossless.p99, 2),
        pair(r.latency.cpu.a, r.latency.cpu.b, 1),
        ...leaseCells(r.latency),
      ]),
      notes: [
        'the rate is a share (--brokers-rate) of the one broker’s saturation measured moments before in the same repetition; every target gets it, in rounds (order rotated), each round a trial.',
        'p99 two / one > 1 is what a request waits at one broker while the credit of a worker is lent to the other: the queue wait with idle workers present.',
      ],
    },
  ];
}
