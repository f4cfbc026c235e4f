/**
 * One measurement against a started target: generator processes (or our client app) put load on
 * it while RSS and CPU of every process are sampled; the result merges what all of them saw.
 */
import type { LoadSummary } from '@tsr/runtime';
import { type NodeProcess, freePort, spawnNode, stopNode } from '@tsr/testing';
import type { Bundles } from './bundle';
import type { GeneratorResult } from './loadgen';
import { track } from './children';
import { type CreditCounters, creditDelta, readCreditCounters } from './counters';
import { type ProcessUsage, Sampler, rssKiB } from './usage';
import { type LatencySummary, latencySummary } from './stats';
import { type Target, appPath, deadProcess, isNats, isOurs } from './targets';

export interface LoadSpec {
  /** closed: `inflight` requests always outstanding; open: `rate` requests/s regardless of replies. */
  mode: 'closed' | 'open';
  size: number;
  inflight?: number;
  rate?: number;
  /** Generator processes; the in-flight count or rate is split between them. */
  generators: number;
  /** DEALER sockets (NATS: connections) per generator: the client identities the target sees. */
  sockets: number;
  warmupMs: number;
  durationMs: number;
  /** Our broker: requests in batches if it offers them (loadgen --batch). */
  batch?: boolean;
}

export interface LoadResult {
  requestsPerSecond: number;
  answered: number;
  /** Failed sends, and replies that were not an echo of their request. */
  errors: number;
  unanswered: number;
  latency: LatencySummary;
  /** Distinct worker ids seen in (sampled) replies. */
  workersSeen: number;
  usage: ProcessUsage[];
  /** Busy cores of the whole machine during the window (2 = both cores saturated). */
  machineBusyCores: number;
  /** Answers in the window's first half over its second: well under 1, the warm-up was too short. */
  windowRamp: number;
  /** Our brokers with their HTTP endpoint on: windows moved to them and demands for credit in the window (else NaN). */
  creditMoves: number;
  creditWants: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How long after spawning the generators the common start is: time for them to load and connect. */
const START_DELAY_MS = 400;

export async function runGenerators(target: Target, spec: LoadSpec, bundles: Bundles): Promise<LoadResult> {
  const startAt = Date.now() + START_DELAY_MS;
  const gens: NodeProcess[] = [];
  for (let g = 0; g < spec.generators; g++) {
    const share = (total: number) => Math.max(1, Math.round(total / spec.generators));
    const load = spec.mode === 'closed' ? ['--inflight', String(share(spec.inflight ?? 32))] : ['--rate', String(share(spec.rate ?? 1000))];
    const args = [
      '--port',
      target.ports.join(','),
      '--size',
      String(spec.size),
      '--sockets',
      String(spec.sockets),
      ...load,
      ...(isNats(target.kind) ? ['--nats', ...(target.natsCaFile ? ['--nats-tls-ca', target.natsCaFile] : [])] : []),
      ...(spec.batch && isOurs(target.kind) ? ['--batch'] : []),
    ];
    const timing = ['--start-at', String(startAt), '--warmup', String(spec.warmupMs), '--duration', String(spec.durationMs)];
    const curve = target.curveServerKey ? { CURVE_SERVER_KEY: target.curveServerKey } : {};
    gens.push(track(spawnNode(`loadgen${g + 1}`, [bundles.loadgen, ...args, ...timing], { ...bundles.env, ...curve })));
  }
  const sampler = new Sampler([...target.watched(), ...gens.map((p) => ({ label: p.label, pid: p.child.pid ?? -1 }))]);
  const windowStart = startAt + spec.warmupMs;
  const counters: (Promise<CreditCounters> | undefined)[] = [];
  const mark = (end: 0 | 1) => {
    if (end) sampler.markEnd();
    else sampler.markStart();
    if (target.httpPorts.length) counters[end] = readCreditCounters(target.httpPorts);
  };
  const marks = [
    setTimeout(() => mark(0), windowStart - Date.now()),
    setTimeout(() => mark(1), windowStart + spec.durationMs - Date.now()),
  ];
  // a generator ends by itself at most 3 s after its window (draining); one that hangs is killed
  const limit = windowStart + spec.durationMs + 8000 - Date.now();
  const watchdog = setTimeout(() => gens.forEach((p) => p.child.kill('SIGKILL')), limit);
  const codes = await Promise.all(gens.map((p) => p.exited));
  clearTimeout(watchdog);
  marks.forEach(clearTimeout);
  const { usage, machineBusyCores } = await sampler.stop();
  const credit = creditDelta(await counters[0], await counters[1]);
  const dead = deadProcess(target);
  if (dead) throw new Error(`${dead.label} died during the load: ${dead.stderr.slice(-500)}`);
  const outs = gens.map((p, i) => {
    if (codes[i] !== 0) throw new Error(`${p.label} failed (${codes[i]}): ${p.stderr.slice(-800)}`);
    return JSON.parse(p.stdout.trim().split('\n').pop() ?? '') as GeneratorResult;
  });
  const sum = (k: 'answered' | 'requestsPerSecond' | 'errors' | 'unanswered') => outs.reduce((a, o) => a + o[k], 0);
  const workerIds = new Set(outs.flatMap((o) => Object.keys(o.workers)));
  return {
    requestsPerSecond: sum('requestsPerSecond'),
    answered: sum('answered'),
    errors: sum('errors'),
    unanswered: sum('unanswered'),
    latency: latencySummary(outs.flatMap((o) => o.latUs)),
    workersSeen: workerIds.size,
    windowRamp: outs.reduce((a, o) => a + o.halves[0], 0) / outs.reduce((a, o) => a + o.halves[1], 0),
    usage,
    machineBusyCores,
    creditMoves: credit.moves,
    creditWants: credit.wants,
  };
}

export interface ClientAppResult {
  /** What our client app's load mode prints with --json. */
  summary: LoadSummary;
  usage: ProcessUsage[];
  machineBusyCores: number;
}

/** Our client app's own load mode (`--requests N --concurrency C --json`) against the target. */
export async function runClientApp(
  target: Target,
  size: number,
  requests: number,
  concurrency: number,
  bundles: Bundles,
): Promise<ClientAppResult> {
  const body = 'x'.repeat(size);
  const client = track(
    // The baselines speak the seed's protocol only: our client in plain mode there.
    spawnNode(
      'client',
      [
        appPath('client'),
        '127.0.0.1',
        String(target.port),
        '--requests',
        String(requests),
        '--concurrency',
        String(concurrency),
        '--json',
        '--request',
        body,
        ...(target.kind.startsWith('broker') ? [] : ['--plain']),
      ],
      {
        ...bundles.env,
        TSR_LOG: 'error',
      },
    ),
  );
  const sampler = new Sampler([...target.watched(), { label: 'client', pid: client.child.pid ?? -1 }], 100);
  sampler.markStart();
  const code = await client.exited;
  sampler.markEnd();
  const { usage, machineBusyCores } = await sampler.stop();
  if (code !== 0) throw new Error(`client failed (${code}): ${client.stderr.slice(-800)}`);
  return { summary: JSON.parse(client.stdout.trim().split('\n').pop() ?? '') as LoadSummary, usage, machineBusyCores };
}

/** RSS (KiB) of our client app while it waits for an answer that never comes (nothing listens). */
export async function idleClientRss(bundles: Bundles): Promise<number> {
  const port = await freePort();
  const client = track(
    spawnNode('client', [appPath('client'), '127.0.0.1', String(port), '--timeout', '0'], { ...bundles.env, TSR_LOG: 'error' }),
  );
  await sleep(1000);
  const rss = (await rssKiB(client.child.pid ?? -1)) ?? NaN;
  await stopNode(client, 'SIGKILL');
  return rss;
}

/** RSS (KiB) of each of the target's processes, after a moment with no load. */
export async function idleRss(target: Target, settleMs = 300): Promise<Record<string, number>> {
  await sleep(settleMs);
  return Object.fromEntries(await Promise.all(target.watched().map(async (w) => [w.label, (await rssKiB(w.pid)) ?? NaN])));
}
