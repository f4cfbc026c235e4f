/**
 * A system under test, started and stopped as a unit: our broker, the bare forwarder or the direct
 * reply server, plus zero-delay workers (none for direct). Every process is tracked for cleanup.
 */
import { join } from 'node:path';
import { deploymentBrokerKey, ensureDeploymentKeys } from '@tsr/runtime';
import { type App, type NodeProcess, appMain, freePort, spawnNode, spawnProgram, stopNode, waitForOutput } from '@tsr/testing';
import type { Bundles } from './bundle';
import { track } from './children';
import type { Watched } from './usage';

/**
 * `broker-metrics`: our broker with its HTTP endpoint on, scraped every second (the cost of metrics).
 * `broker-curve`: our broker, its workers and the load with CURVE on (the cost of encryption).
 * `broker-other`: broker and workers of another build (`--versus-apps`), to measure a change in the same run.
 * `nats` and `nats-conns`: nats-server with Node responders in a queue group, loaded over one shared
 * connection or over one connection per requester (the same server, two shapes of load).
 */
export type TargetKind =
  | 'broker'
  | 'broker-metrics'
  | 'broker-curve'
  | 'broker-other'
  | 'forwarder'
  | 'forwarder-lru'
  | 'forwarder-c'
  | 'direct'
  | 'nats'
  | 'nats-conns';

export const isNats = (kind: TargetKind): boolean => kind === 'nats' || kind === 'nats-conns';
/** Our broker with our workers (this build or another). */
export const isOurs = (kind: TargetKind): boolean =>
  kind === 'broker' || kind === 'broker-metrics' || kind === 'broker-curve' || kind === 'broker-other';

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
  forwarder: 'bare forwarder',
  'forwarder-lru': 'LRU forwarder',
  'forwarder-c': 'C forwarder',
  direct: 'direct (no broker)',
  nats: 'NATS, one shared connection',
  'nats-conns': 'NATS, a connection per requester',
};

export interface Target {
  kind: TargetKind;
  workers: number;
  /** Where clients connect. */
  port: number;
  /** The broker/forwarder/direct process, then the workers. */
  procs: NodeProcess[];
  watched(): Watched[];
  /** Ends what runs beside the processes (the metrics scraper). */
  stop?(): void;
  /** The broker's public key when CURVE is on: the load generators connect with it. */
  curveServerKey?: string;
}

/** CURVE keys for `broker-curve`, as keygen makes them: the broker's and worker's options, the broker's public key. */
function curveKeys(bundles: Bundles) {
  const dir = join(bundles.dir, 'curve');
  ensureDeploymentKeys(dir);
  return {
    broker: ['--curve-secret-key-file', join(dir, 'broker.key'), '--curve-workers', join(dir, 'workers')],
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
}

export async function startTarget(kind: TargetKind, workers: number, bundles: Bundles, o: StartOptions = {}): Promise<Target> {
  const port = await freePort();
  const backPort = await freePort();
  const flags = o.nodeFlags ?? [];
  let main: NodeProcess;
  let stop: (() => void) | undefined;
  const ours = isOurs(kind);
  const build = kind === 'broker-other' ? o.otherApps : appsDir;
  const curve = kind === 'broker-curve' ? curveKeys(bundles) : undefined;
  if (ours) {
    const http = kind === 'broker-metrics' ? await freePort() : 0;
    const monitor = http ? ['--http-port', String(http), '--http-bind', '127.0.0.1'] : [];
    main = track(
      spawnNode(
        'broker',
        [...flags, appPath('broker', build), String(port), String(backPort), '--bind', '127.0.0.1', ...monitor, ...(curve?.broker ?? [])],
        { ...bundles.env, TSR_LOG: 'info' },
      ),
    );
    await waitForOutput(main, http ? /\[broker\] status page/ : /\[broker\] frontend/);
    if (http) stop = scrapeEverySecond(http);
  } else if (isNats(kind)) {
    if (!('path' in bundles.natsServer)) throw new Error(bundles.natsServer.missing);
    main = track(spawnProgram('nats-server', bundles.natsServer.path, ['-a', '127.0.0.1', '-p', String(port)]));
    await waitForOutput(main, /Server is ready/);
  } else if (kind === 'forwarder-c') {
    if (!('path' in bundles.nativeForwarder)) throw new Error(bundles.nativeForwarder.missing);
    main = track(spawnProgram('forwarder-c', bundles.nativeForwarder.path, [String(port), String(backPort)]));
    await waitForOutput(main, /ready/);
  } else {
    const args =
      kind === 'direct'
        ? ['direct', String(port)]
        : ['forwarder', String(port), String(backPort), ...(kind === 'forwarder-lru' ? ['--lru'] : [])];
    main = track(spawnNode(kind === 'direct' ? 'direct' : 'forwarder', [...flags, bundles.baselines, ...args], bundles.env));
    await waitForOutput(main, /ready/);
  }
  const procs = [main];
  const n = kind === 'direct' ? 0 : workers;
  for (let i = 0; i < n; i++) {
    const credit = ours ? ['--credit', String(o.credit ?? 1)] : [];
    if (isNats(kind))
      procs.push(track(spawnNode(`worker${i + 1}`, [bundles.baselines, 'nats-responder', String(port), `responder${i + 1}`], bundles.env)));
    else
      procs.push(
        track(
          spawnNode(
            `worker${i + 1}`,
            [appPath('worker', build), '127.0.0.1', String(backPort), '--delay', '0', ...credit, ...(curve?.worker ?? [])],
            { ...bundles.env, TSR_LOG: 'info' },
          ),
        ),
      );
  }
  // With CURVE, connecting is not enough: registered means the broker admitted the worker's key.
  await Promise.all(procs.slice(1).map((w) => waitForOutput(w, isNats(kind) ? /ready/ : curve ? /registered/ : /connecting to/)));
  return {
    kind,
    workers: n,
    port,
    procs,
    watched: () => procs.map((p) => ({ label: p.label, pid: p.child.pid ?? -1 })),
    stop,
    curveServerKey: curve?.serverKey,
  };
}

/** SIGTERM to everything (workers first), SIGKILL after 3 s. */
export async function stopTarget(t: Target): Promise<void> {
  t.stop?.();
  await Promise.all(t.procs.slice(1).map((p) => stopNode(p)));
  await stopNode(t.procs[0]);
}

/** The target's main process died (a crash during the load must not go unnoticed). */
export function deadProcess(t: Target): NodeProcess | undefined {
  return t.procs.find((p) => p.child.exitCode !== null || p.child.signalCode !== null);
}
