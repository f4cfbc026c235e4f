/**
 * A system under test, started and stopped as a unit: our broker, the bare forwarder or the direct
 * reply server, plus zero-delay workers (none for direct). Every process is tracked for cleanup.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deploymentBrokerKey, ensureDeploymentKeys, keyPairFromText } from '@tsr/runtime';
import { type App, type NodeProcess, appMain, freePort, spawnNode, spawnProgram, stopNode, waitForOutput } from '@tsr/testing';
import type { Bundles } from './bundle';
import { track } from './children';
import { NATS_TLS_REQUIRED, natsServerArgs } from './nats-config';
import type { Watched } from './usage';

/**
 * `broker-metrics`: our broker with its HTTP endpoint on, scraped every second (the cost of metrics).
 * `broker-curve`: our broker, its workers and the load with CURVE on (the cost of encryption).
 * `broker-other`: broker and workers of another build (`--versus-apps`), to measure a change in the same run;
 * `broker-other-curve` the same with CURVE on (`--encrypted`: what a change does to encryption).
 * `nats` and `nats-conns`: nats-server with Node responders in a queue group, loaded over one shared
 * connection or over one connection per requester (the same server, two shapes of load).
 * `nats-tls`: the same with TLS on every hop (a self-signed certificate made for the run; the
 * responders and the generator connect with TLS), loaded over one shared connection (`--encrypted`).
 * `brokers-2` and `brokers-2-one`: two of our brokers side by side, the same workers serving both
 * (docs/protocol.md, "Several brokers"), loaded over both frontends or over the first one only
 * (the same processes, two shapes of load).
 * `forwarder-c-curve`: the C forwarder with libzmq's CURVE on both sockets, its workers (ours) and the load
 * CURVE clients: the floor of any CURVE broker (`--encrypted`).
 * `tracing-*`: our broker and workers, each loaded by our client app (`--tracing`): `tracing-before` the build
 * before this work (the baseline) and `tracing-before-again` a second one of it (what two of the same differ by),
 * `tracing-off` this build without the OTEL_* variables, `tracing-off-no-deadline` the same loaded by a client
 * that sends no deadline (so no metadata at all), `tracing-on-all` and `tracing-on-sampled` this build with
 * all three programs exporting spans (sampler ratio 1, and `--tracing-sample`).
 */
export type TargetKind =
  | 'broker'
  | 'broker-metrics'
  | 'broker-curve'
  | 'broker-other'
  | 'broker-other-curve'
  | 'brokers-2'
  | 'brokers-2-one'
  | 'tracing-before'
  | 'tracing-before-again'
  | 'tracing-off'
  | 'tracing-off-no-deadline'
  | 'tracing-on-all'
  | 'tracing-on-sampled'
  | 'forwarder'
  | 'forwarder-lru'
  | 'forwarder-c'
  | 'forwarder-c-curve'
  | 'direct'
  | 'nats'
  | 'nats-conns'
  | 'nats-tls';

export const isNats = (kind: TargetKind): boolean => kind === 'nats' || kind === 'nats-conns' || kind === 'nats-tls';
/** Each broker measured in the clear (ours, the other build's, the C forwarder), and itself with CURVE on. */
export const CURVE_OF = {
  broker: 'broker-curve',
  'broker-other': 'broker-other-curve',
  'forwarder-c': 'forwarder-c-curve',
} as const satisfies Partial<Record<TargetKind, TargetKind>>;
/** A broker, its workers and the load with CURVE on. */
const isCurve = (kind: TargetKind): boolean => (Object.values(CURVE_OF) as TargetKind[]).includes(kind);
/** Our broker and workers of another build (`--versus-apps`). */
const isOtherBuild = (kind: TargetKind): boolean => kind === 'broker-other' || kind === 'broker-other-curve';
/** Two brokers sharing their workers, loaded over both frontends or over the first. */
export const isTwoBrokers = (kind: TargetKind): boolean => kind === 'brokers-2' || kind === 'brokers-2-one';
/** Our broker (or brokers) with our workers (this build or another). */
export const isOurs = (kind: TargetKind): boolean =>
  kind === 'broker' ||
  kind === 'broker-metrics' ||
  kind === 'broker-curve' ||
  isOtherBuild(kind) ||
  isTwoBrokers(kind) ||
  kind.startsWith('tracing-');

/** Targets of the half-saturation rounds, in order: the C forwarder when it could be built. */
export const latencyKinds = (withC: boolean): TargetKind[] => [
  'broker',
  'forwarder',
  ...(withC ? (['forwarder-c'] as TargetKind[]) : []),
  'direct',
];

/**
 * What the comparison with NATS loads, in turn: our broker (and the other build's, `--versus-apps`),
 * the floors of a broker in Node and in C (the bare forwarders), then NATS with each shape of load.
 */
export const versusNatsKinds = (withC: boolean, withOther: boolean): TargetKind[] => [
  'broker',
  ...(withOther ? (['broker-other'] as TargetKind[]) : []),
  'forwarder',
  ...(withC ? (['forwarder-c'] as TargetKind[]) : []),
  'nats',
  'nats-conns',
];

export const targetLabel: Record<TargetKind, string> = {
  broker: 'broker',
  'broker-metrics': 'broker, metrics scraped',
  'broker-curve': 'broker, CURVE',
  'broker-other': 'broker, other build',
  'broker-other-curve': 'broker, other build, CURVE',
  forwarder: 'bare forwarder',
  'forwarder-lru': 'LRU forwarder',
  'forwarder-c': 'C forwarder',
  'forwarder-c-curve': 'C forwarder, CURVE',
  direct: 'direct (no broker)',
  nats: 'NATS, one shared connection',
  'nats-conns': 'NATS, a connection per requester',
  'nats-tls': 'NATS with TLS, one shared connection',
  'brokers-2': 'two brokers, load on both',
  'brokers-2-one': 'two brokers, load on one',
  'tracing-before': 'before (the build before)',
  'tracing-before-again': 'before, again (a second of it)',
  'tracing-off': 'off (this build, no OTEL_*)',
  'tracing-off-no-deadline': 'off, no deadline (client --timeout 0)',
  'tracing-on-all': 'on, sampling 1',
  'tracing-on-sampled': 'on, sampled',
};

/** What the several-brokers experiment loads, in turn: one broker, then two sharing as many workers (load on both, load on one). */
export const severalBrokersKinds: TargetKind[] = ['broker', 'brokers-2', 'brokers-2-one'];

export interface Target {
  kind: TargetKind;
  workers: number;
  /** Where clients connect (the first broker's frontend where there are two). */
  port: number;
  /** The frontends the load is spread over, each generator socket on the next. */
  ports: number[];
  /** The servers (broker or brokers, forwarder, direct, nats-server), then the workers. */
  procs: NodeProcess[];
  /** How many of `procs` are servers: their CPU is the target's. */
  servers: number;
  /** Each broker's HTTP endpoint, when on (`StartOptions.http`, `broker-metrics`). */
  httpPorts: number[];
  /** The workers' credit, behind our broker(s). */
  credit?: number;
  watched(): Watched[];
  /** Ends what runs beside the processes (the metrics scraper). */
  stop?(): void;
  /** The broker's public key when CURVE is on: the load generators connect with it. */
  curveServerKey?: string;
  /** nats-server's certificate when TLS is on: the load generators trust it. */
  natsCaFile?: string;
}

/** Another shape of load on a started target's processes: started with it, never on its own. */
export const shapeOf: Partial<Record<TargetKind, TargetKind>> = { 'nats-conns': 'nats' };

/**
 * CURVE keys for every CURVE target (the same keys), as keygen makes them: the broker's and worker's
 * options, the broker's secret key (for the C forwarder) and public key.
 */
function curveKeys(bundles: Bundles) {
  const dir = join(bundles.dir, 'curve');
  ensureDeploymentKeys(dir);
  const brokerKey = join(dir, 'broker.key');
  return {
    broker: ['--curve-secret-key-file', brokerKey, '--curve-workers', join(dir, 'workers')],
    brokerSecretKey: keyPairFromText(readFileSync(brokerKey, 'utf8'), brokerKey).secretKey,
    worker: ['--curve-server-key-file', join(dir, 'broker.pub'), '--curve-secret-key-file', join(dir, 'worker.key')],
    serverKey: deploymentBrokerKey(dir),
  };
}

/**
 * Reads /metrics and /status every second, as a Prometheus with a 1 s scrape interval and the status
 * page open would (Prometheus' default is 15 s: this is the costly end).
 */
function scrapeEverySecond(port: number): () => void {
  const timer = setInterval(() => {
    for (const path of ['/metrics', '/status'])
      void fetch(`http://127.0.0.1:${port}${path}`).then(
        (r) => r.arrayBuffer(),
        () => undefined,
      );
  }, 1000);
  return () => clearInterval(timer);
}

let appsDir: string | undefined;

/** Runs the apps from another directory than dist/apps (e.g. a saved build, to compare two brokers). */
export function useAppsDir(dir: string | undefined): void {
  appsDir = dir;
}

/** The built program to run: dist/apps/<app>/main.js unless `useAppsDir` (or `dir`) says otherwise. */
export const appPath = (app: App, dir = appsDir): string => (dir ? join(dir, app, 'main.js') : appMain(app));

export interface StartOptions {
  /** Extra node flags for the broker/forwarder/direct process (e.g. --cpu-prof). */
  nodeFlags?: string[];
  /** The workers' --credit behind our broker (the forwarders ignore credit: they never wait). */
  credit?: number;
  /** `broker-other`: where its build is (DIR/<app>/main.js). */
  otherApps?: string;
  /** Our broker(s) with the HTTP endpoint on, not scraped: the benchmark reads their counters at each window's ends. */
  http?: boolean;
  /** Our broker(s) and workers: another build than the run's (DIR/<app>/main.js). */
  apps?: string;
  /** Our broker(s) and workers: environment besides the bundles' (the OTEL_* variables, a limit). */
  env?: NodeJS.ProcessEnv;
  /** nats-server's max_payload, bytes (undefined: its default). */
  natsMaxPayload?: number;
}

/** The two brokers of `brokers-2` loaded over the first frontend only: the same processes, another shape of load. */
export const loadOnFirstBroker = (t: Target): Target => ({ ...t, kind: 'brokers-2-one', ports: [t.port] });

export async function startTarget(kind: TargetKind, workers: number, bundles: Bundles, o: StartOptions = {}): Promise<Target> {
  const port = await freePort();
  const backPort = await freePort();
  const flags = o.nodeFlags ?? [];
  const servers: NodeProcess[] = [];
  const ports = [port];
  const backPorts = [backPort];
  const httpPorts: number[] = [];
  let stop: (() => void) | undefined;
  const ours = isOurs(kind);
  const build = o.apps ?? (isOtherBuild(kind) ? o.otherApps : appsDir);
  const curve = isCurve(kind) ? curveKeys(bundles) : undefined;
  let natsCaFile: string | undefined;
  if (ours) {
    for (let b = 0; b < (isTwoBrokers(kind) ? 2 : 1); b++) {
      if (b > 0) {
        ports.push(await freePort());
        backPorts.push(await freePort());
      }
      const http = kind === 'broker-metrics' || o.http ? await freePort() : 0;
      const monitor = http ? ['--http-port', String(http), '--http-bind', '127.0.0.1'] : [];
      const broker = track(
        spawnNode(
          b === 0 ? 'broker' : `broker${b + 1}`,
          [
            ...flags,
            appPath('broker', build),
            String(ports[b]),
            String(backPorts[b]),
            '--bind',
            '127.0.0.1',
            ...monitor,
            ...(curve?.broker ?? []),
          ],
          { ...bundles.env, ...o.env, TSR_LOG: 'info' },
        ),
      );
      servers.push(broker);
      await waitForOutput(broker, http ? /\[broker\] status page/ : /\[broker\] frontend/);
      if (http) httpPorts.push(http);
    }
    if (kind === 'broker-metrics') stop = scrapeEverySecond(httpPorts[0]);
  } else if (isNats(kind)) {
    if (!('path' in bundles.natsServer)) throw new Error(bundles.natsServer.missing);
    const setup = { tls: kind === 'nats-tls', maxPayload: o.natsMaxPayload };
    const { args, caFile } = natsServerArgs(port, setup, join(bundles.dir, 'nats'));
    servers.push(track(spawnProgram('nats-server', bundles.natsServer.path, args)));
    await waitForOutput(servers[0], /Server is ready/);
    if (caFile) await waitForOutput(servers[0], NATS_TLS_REQUIRED); // its own word that no client gets in without TLS
    natsCaFile = caFile;
  } else if (kind === 'forwarder-c' || kind === 'forwarder-c-curve') {
    if (!('path' in bundles.nativeForwarder)) throw new Error(bundles.nativeForwarder.missing);
    const env = curve ? { CURVE_SECRET_KEY: curve.brokerSecretKey } : {};
    servers.push(track(spawnProgram('forwarder-c', bundles.nativeForwarder.path, [String(port), String(backPort)], env)));
    await waitForOutput(servers[0], /ready/);
  } else {
    const args =
      kind === 'direct'
        ? ['direct', String(port)]
        : ['forwarder', String(port), String(backPort), ...(kind === 'forwarder-lru' ? ['--lru'] : [])];
    servers.push(track(spawnNode(kind === 'direct' ? 'direct' : 'forwarder', [...flags, bundles.baselines, ...args], bundles.env)));
    await waitForOutput(servers[0], /ready/);
  }
  const procs = [...servers];
  const n = kind === 'direct' ? 0 : workers;
  // one broker as the seed's command line has it (any build takes it); several as a list
  const brokerHost =
    backPorts.length === 1 ? ['127.0.0.1', String(backPort)] : ['--broker-host', backPorts.map((p) => `127.0.0.1:${p}`).join(',')];
  for (let i = 0; i < n; i++) {
    const credit = ours ? ['--credit', String(o.credit ?? 1)] : [];
    if (isNats(kind))
      procs.push(
        track(
          spawnNode(
            `worker${i + 1}`,
            [bundles.baselines, 'nats-responder', String(port), `responder${i + 1}`, ...(natsCaFile ? ['--tls-ca', natsCaFile] : [])],
            bundles.env,
          ),
        ),
      );
    else
      procs.push(
        track(
          spawnNode(`worker${i + 1}`, [appPath('worker', build), ...brokerHost, '--delay', '0', ...credit, ...(curve?.worker ?? [])], {
            ...bundles.env,
            ...o.env,
            TSR_LOG: 'info',
          }),
        ),
      );
  }
  // With CURVE, connecting is not enough: registered means our broker admitted the worker's key
  // (the C forwarder admits every key, and says nothing back). With several brokers, each must
  // have registered the worker: the load starts on all of them.
  const ready = isNats(kind)
    ? [/ready/]
    : curve && ours
      ? [/registered/]
      : backPorts.length > 1
        ? backPorts.map((p) => new RegExp(`registered: .*tcp://127\\.0\\.0\\.1:${p}\\b`))
        : [/connecting to/];
  await Promise.all(procs.slice(servers.length).flatMap((w) => ready.map((pattern) => waitForOutput(w, pattern))));
  return {
    kind,
    workers: n,
    port,
    ports,
    procs,
    servers: servers.length,
    httpPorts,
    credit: ours ? (o.credit ?? 1) : undefined,
    watched: () => procs.map((p) => ({ label: p.label, pid: p.child.pid ?? -1 })),
    stop,
    curveServerKey: curve?.serverKey,
    natsCaFile,
  };
}

/** SIGTERM to everything (workers first), SIGKILL after 3 s. */
export async function stopTarget(t: Target): Promise<void> {
  t.stop?.();
  await Promise.all(t.procs.slice(t.servers).map((p) => stopNode(p)));
  await Promise.all(t.procs.slice(0, t.servers).map((p) => stopNode(p)));
}

/** The target's main process died (a crash during the load must not go unnoticed). */
export function deadProcess(t: Target): NodeProcess | undefined {
  return t.procs.find((p) => p.child.exitCode !== null || p.child.signalCode !== null);
}
