/**
 * Our CURVE against NATS with TLS (`--encrypted`), at each size: what encryption costs each system
 * (its throughput encrypted over its throughput in the clear), and the two encrypted systems
 * against each other (throughput, and the server's CPU per request: broker against nats-server),
 * every ratio paired within a repetition; with `--versus-apps` the other build's CURVE beside this
 * build's, before and after; with the C forwarder libzmq's own CURVE, the floor of any CURVE broker.
 * Then the targets, what the boxes alone allow of CURVE / plain (box-cost.ts), and the limits
 * raised for 1 MiB.
 */
import { MAX_BATCHED_BODY } from '@tsr/protocol';
import { BOXES_PER_REQUEST, type BoxCost, boxesBound } from '../box-cost';
import { ENCRYPTED_LIMITS, encryptedKinds } from '../encrypted';
import type { Phase, RunRecord } from '../matrix';
import { NATS_DEFAULT_MAX_PAYLOAD } from '../nats-config';
import type { Spread } from '../stats';
import { CURVE_OF, type TargetKind, targetLabel } from '../targets';
import { type Table, comparedCells, fmtSpread, num, sizeLabel, verdict } from './format';
import { type Compared, type Pick, type RunIndex, generatorPerRequest, indexRuns, workersPerRequest } from './runs';

const PHASE: Phase = 'encrypted';

/**
 * At every size ours encrypted at least as fast as NATS encrypted, its broker costing at most
 * nats-server's CPU per request; at `curveCostSize` CURVE keeps at least `curveCost` of the plain throughput.
 */
export const ENCRYPTED_TARGET = { rpsRatio: 1, cpuRatio: 1, curveCostSize: 65536, curveCost: 0.7 };

const FIGURES = {
  rps: (r: RunRecord) => r.requestsPerSecond,
  server: (r: RunRecord) => r.cpuUsPerRequest,
  workers: workersPerRequest,
  generator: generatorPerRequest,
  machine: (r: RunRecord) => r.machineBusyCores,
} satisfies Record<string, Pick>;

/** One build's CURVE at one size: against its own broker in the clear (throughput), and against NATS with TLS (throughput, server CPU per request). */
export interface CurveFigures {
  cost: Compared;
  versusTls: Compared;
  cpu: Compared;
}

export interface EncryptedRow {
  size: number;
  workers: number;
  inflight: number;
  /** NATS with TLS against NATS in the clear: throughput. */
  tlsCost: Compared;
  ours: CurveFigures;
  /** The other build's (`--versus-apps`), when it ran. */
  other?: CurveFigures;
  /** The C forwarder's (libzmq's CURVE), when it ran. */
  libzmq?: CurveFigures;
}

/** One target at one size, over the repetitions: throughput, and CPU µs per request of the server, the workers (responders), the generator. */
export interface EncryptedTargetRow {
  size: number;
  kind: TargetKind;
  figures: Record<keyof typeof FIGURES, Spread>;
  /** Requests never answered (the generator waits 3 s after its window), over all repetitions: in a closed loop, each one in flight less. */
  unanswered: number;
}

/** `plain`'s CURVE (this build's, the other's, the C forwarder's), or undefined when it did not run. */
function curveFigures(x: RunIndex, size: number, plain: keyof typeof CURVE_OF): CurveFigures | undefined {
  const curve = CURVE_OF[plain];
  const cost = x.compared(PHASE, curve, plain, size, undefined, FIGURES.rps);
  if (cost.ratio.n === 0) return undefined;
  return {
    cost,
    versusTls: x.compared(PHASE, curve, 'nats-tls', size, undefined, FIGURES.rps),
    cpu: x.compared(PHASE, curve, 'nats-tls', size, undefined, FIGURES.server),
  };
}

export function summarizeEncrypted(all: RunRecord[]): { rows: EncryptedRow[]; targets: EncryptedTargetRow[] } {
  const runs = all.filter((r) => r.phase === PHASE);
  if (runs.length === 0) return { rows: [], targets: [] };
  const x = indexRuns(runs);
  const rows: EncryptedRow[] = [];
  const targets: EncryptedTargetRow[] = [];
  for (const size of x.sizes) {
    const ours = curveFigures(x, size, 'broker');
    const other = curveFigures(x, size, 'broker-other');
    const libzmq = curveFigures(x, size, 'forwarder-c');
    const here = runs.find((r) => r.size === size);
    if (ours)
      rows.push({
        size,
        workers: here?.workers ?? NaN,
        inflight: here?.inflight ?? NaN,
        tlsCost: x.compared(PHASE, 'nats-tls', 'nats', size, undefined, FIGURES.rps),
        ours,
        ...(other ? { other } : {}),
        ...(libzmq ? { libzmq } : {}),
      });
    for (const kind of encryptedKinds(true, true)) {
      const of = (f: Pick) => x.over(PHASE, kind, size, undefined, f);
      if (of(FIGURES.rps).n === 0) continue;
      targets.push({
        size,
        kind,
        unanswered: runs.filter((r) => r.size === size && r.target === kind).reduce((a, r) => a + r.unanswered, 0),
        figures: {
          rps: of(FIGURES.rps),
          server: of(FIGURES.server),
          workers: of(FIGURES.workers),
          generator: of(FIGURES.generator),
          machine: of(FIGURES.machine),
        },
      });
    }
  }
  return { rows, targets };
}

const MiB = 1024 * 1024;
const ratioText = (s: Spread) => fmtSpread(s, 2);

/**
 * The most CURVE / plain throughput can be at each size, given what a box costs (measured in the
 * bench's process) and what a plain request costs every process of this build (broker, workers,
 * generator: medians summed).
 */
function boxesBoundLines(targets: EncryptedTargetRow[], cost: BoxCost): string[] {
  const each = targets
    .filter((t) => t.kind === 'broker' && cost.usPerBox[t.size] !== undefined)
    .map(({ size, figures: f }) => {
      const plainUs = f.server.median + f.workers.median + f.generator.median;
      const boxUs = cost.usPerBox[size];
      return `${sizeLabel(size)} ${num(boxesBound(plainUs, boxUs), 2)} (${num(boxUs, 1)} µs a box, ${num(plainUs, 1)} µs a plain request)`;
    });
  if (each.length === 0) return []; // no size over a batch's ran
  return [
    `encrypted: the most CURVE / plain throughput can be, boxes alone (${BOXES_PER_REQUEST} of its size per request over ${MAX_BATCHED_BODY / 1024} KiB, ${cost.boxes}; ` +
      `against a plain request's CPU in every process, broker, workers and generator, at equal busy cores): ${each.join(', ')}`,
  ];
}

/** The targets for each build's CURVE that ran, what the boxes allow, the requests never answered, then the limits the experiment raised. */
export function encryptedChecks(rows: EncryptedRow[], targets: EncryptedTargetRow[], boxCost?: BoxCost): string[] {
  if (rows.length === 0) return [];
  const lost = targets.filter((t) => t.unanswered > 0);
  const builds: { name: string; of: (r: EncryptedRow) => CurveFigures | undefined }[] = [
    { name: 'this build', of: (r) => r.ours },
    ...(rows.some((r) => r.other) ? [{ name: 'the other build (--versus-apps)', of: (r: EncryptedRow) => r.other }] : []),
    ...(rows.some((r) => r.libzmq) ? [{ name: 'the C forwarder, libzmq’s CURVE (the floor)', of: (r: EncryptedRow) => r.libzmq }] : []),
  ];
  const t = ENCRYPTED_TARGET;
  const lines = builds.flatMap(({ name, of }) => {
    /** Each size's figure, and whether every size passes. */
    const each = (f: (c: CurveFigures) => string) =>
      rows
        .map((r) => {
          const c = of(r);
          return `${sizeLabel(r.size)} ${c ? f(c) : '–'}`;
        })
        .join(', ');
    const all = (ok: (c: CurveFigures) => boolean) =>
      rows.every((r) => {
        const c = of(r);
        return c !== undefined && ok(c);
      });
    const costRow = rows.find((r) => r.size === t.curveCostSize);
    const cost = costRow && of(costRow);
    return [
      `encrypted target, ${name}: CURVE throughput >= ${t.rpsRatio.toFixed(1)} x NATS with TLS at every size: ` +
        `${verdict(all((c) => c.versusTls.ratio.median >= t.rpsRatio))} (CURVE / NATS TLS, median [min–max] of paired ratios: ${each((c) => ratioText(c.versusTls.ratio))})`,
      `encrypted target, ${name}: broker CPU per request <= ${t.cpuRatio.toFixed(1)} x nats-server's with TLS at every size: ` +
        `${verdict(all((c) => c.cpu.ratio.median <= t.cpuRatio))} (broker / nats-server: ${each((c) => `${ratioText(c.cpu.ratio)}, ${num(c.cpu.a.median, 1)} / ${num(c.cpu.b.median, 1)} µs`)})`,
      `encrypted target, ${name}: CURVE / plain throughput >= ${t.curveCost} at ${sizeLabel(t.curveCostSize)}: ` +
        (cost
          ? `${verdict(cost.cost.ratio.median >= t.curveCost)} (${ratioText(cost.cost.ratio)})`
          : `not measured (no ${sizeLabel(t.curveCostSize)} run)`),
    ];
  });
  return [
    ...lines,
    ...(boxCost ? boxesBoundLines(targets, boxCost) : []),
    lost.length
      ? `encrypted: requests never answered, over all repetitions: ${lost.map((t) => `${targetLabel[t.kind]} ${sizeLabel(t.size)} ${t.unanswered}`).join(', ')}`
      : 'encrypted: every request answered',
    `limits raised for 1 MiB, encrypted and in the clear alike: nats-server's max_payload to ${ENCRYPTED_LIMITS.natsMaxPayload / MiB} MiB ` +
      `(its default ${NATS_DEFAULT_MAX_PAYLOAD / MiB} MiB is the request itself, and the reply is the request and the responder's id); ` +
      `our brokers' MAX_CLIENT_BYTES to ${ENCRYPTED_LIMITS.brokerMaxClientBytes / MiB} MiB (by default a quarter of --max-queue-bytes, 32 MiB, which one connection's 32 requests of 1 MiB exceed)`,
  ];
}

export function encryptedTables(rows: EncryptedRow[], targets: EncryptedTargetRow[]): Table[] {
  if (rows.length === 0 && targets.length === 0) return [];
  const withOther = rows.some((r) => r.other);
  const withLibzmq = rows.some((r) => r.libzmq);
  const curveCells = (c: CurveFigures | undefined, cells: (c: CurveFigures) => string[], n: number) =>
    c ? cells(c) : Array<string>(n).fill('–');
  const allCells = (c: CurveFigures) => [...comparedCells(c.cost, 0), ...comparedCells(c.versusTls, 0), ...comparedCells(c.cpu, 1)];
  const inflight = rows[0]?.inflight ?? NaN;
  return [
    {
      title: `Our CURVE against NATS with TLS (closed loop, ${inflight} requests in flight on one connection, zero-delay workers / responders): median [min–max] of ratios paired within each repetition`,
      head: [
        'size',
        'workers',
        'req/s CURVE / plain',
        'ratio',
        'req/s NATS TLS / plain',
        'ratio',
        'req/s CURVE / NATS TLS',
        'ratio',
        'server CPU µs/req broker CURVE / nats-server TLS',
        'ratio',
        ...(withOther
          ? [
              'other build: req/s CURVE / plain',
              'ratio',
              'other build: req/s CURVE / NATS TLS',
              'ratio',
              'other build: CPU µs/req broker CURVE / nats-server TLS',
              'ratio',
            ]
          : []),
        ...(withLibzmq
          ? [
              'C forwarder: req/s CURVE / plain',
              'ratio',
              'C forwarder: req/s CURVE / NATS TLS',
              'ratio',
              'C forwarder: CPU µs/req CURVE / nats-server TLS',
              'ratio',
            ]
          : []),
      ],
      rows: rows.map((r) => [
        sizeLabel(r.size),
        String(r.workers),
        ...comparedCells(r.ours.cost, 0),
        ...comparedCells(r.tlsCost, 0),
        ...comparedCells(r.ours.versusTls, 0),
        ...comparedCells(r.ours.cpu, 1),
        ...(withOther ? curveCells(r.other, allCells, 6) : []),
        ...(withLibzmq ? curveCells(r.libzmq, allCells, 6) : []),
      ]),
      notes: [
        'CURVE: our broker, its workers and the generator with CURVE on (our sockets’ CURVE at the broker); plain: the same build in the clear. NATS TLS: nats-server with TLS, its responders and the generator connecting with TLS (a self-signed certificate made for the run); NATS plain: the same in the clear.',
        'every requester on one connection: one DEALER socket to our broker, one nats.js connection to NATS. server CPU = the broker process or nats-server, all threads, per request. Ratios < 1 mean the first is lower: good for CPU, bad for req/s.',
        ...(withOther
          ? [
              'other build: the broker and workers of --versus-apps, with CURVE (the same keys) and without, loaded in the same rotation: read its columns against this build’s, before and after.',
            ]
          : []),
        ...(withLibzmq
          ? [
              'C forwarder: tools/bench/native/forwarder.c on libzmq, with libzmq’s CURVE on both sockets (the same broker key) and without, our workers behind it, the generator’s libzmq DEALER (never batches): the floor of any CURVE broker on this machine.',
            ]
          : []),
      ],
    },
    {
      title: 'Encrypted, every target: requests/s and CPU µs per request (median [min–max] over the repetitions)',
      head: [
        'size',
        'target',
        'req/s',
        'server µs/req',
        'workers / responders µs/req',
        'generator µs/req',
        'machine busy cores',
        'unanswered',
      ],
      rows: targets.map((t) => [
        sizeLabel(t.size),
        targetLabel[t.kind],
        fmtSpread(t.figures.rps),
        fmtSpread(t.figures.server, 1),
        fmtSpread(t.figures.workers, 1),
        fmtSpread(t.figures.generator, 1),
        fmtSpread(t.figures.machine, 2),
        String(t.unanswered),
      ]),
      notes: [
        'server: the broker process or nats-server; workers / responders: all of them summed; generator: tools/bench/loadgen.ts. User + system time over the measured window, per request. Everything shares the machine’s two cores.',
        'unanswered: requests whose reply had not come 3 s after the window, summed over the repetitions; in a closed loop each is one request in flight less for the rest of the run.',
      ],
    },
  ];
}
