import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createProjectGraphAsync } from '@nx/devkit';
import { brokerAddressOptions, commonOptions, type ConfigSpec } from '@tsr/runtime';
import { brokerOptions } from '@tsr/broker/options';
import { clientOptions } from '@tsr/client/options';
import { workerOptions } from '@tsr/worker/options';
import { TELEMETRY_ENV } from '@tsr/telemetry/sdk';

// What the deployment files are checked against: what this repository builds and what its
// programs read.

export const root = join(__dirname, '..', '..', '..');
export const read = (...p: string[]) => readFileSync(join(root, ...p), 'utf8');
export const version: string = JSON.parse(read('package.json')).version;

export type App = 'broker' | 'worker' | 'client';
export const APPS: App[] = ['broker', 'worker', 'client'];

/** Images built by the Nx `image` targets of the project graph: `docker/build-image.sh <x>` makes tsr-<x> (base: tsr-zmq). */
export async function nxImages(): Promise<Set<string>> {
  const graph = await createProjectGraphAsync({ exitOnError: false });
  const images = new Set<string>();
  for (const node of Object.values(graph.nodes)) {
    const command: unknown = node.data.targets?.['image']?.options?.command;
    const target = typeof command === 'string' ? /build-image\.sh\s+(\S+)/.exec(command)?.[1] : undefined;
    if (target) images.add(target === 'base' ? 'tsr-zmq' : `tsr-${target}`);
  }
  return images;
}

const envNames = (spec: ConfigSpec) => Object.values(spec).flatMap((o) => o.env ?? []);

/** Environment variables a program reads: its option specs, the shared ones, TSR_ENV_FILE, and the OTEL_* ones of traces (@tsr/telemetry/sdk). */
export function envOf(app: App): Set<string> {
  const own = envNames({ broker: brokerOptions, worker: workerOptions, client: clientOptions }[app]);
  return new Set([...own, ...envNames(commonOptions), 'TSR_ENV_FILE', ...TELEMETRY_ENV]);
}

/** Variables every worker and client reads (the seed's BROKER_HOST / BROKER_PORT). */
export const brokerAddressEnv = envNames(brokerAddressOptions(0));

/** The app's stage of docker/app/Dockerfile (`FROM ... AS <app>` up to the next FROM): what its image sets apart from the others. */
export function imageStage(app: App): string {
  const stages = read('docker', 'app', 'Dockerfile').split(/^(?=FROM )/m);
  const stage = stages.find((s) => new RegExp(`^FROM \\S+ AS ${app}\\s*$`, 'm').test(s.split('\n')[0]));
  if (!stage) throw new Error(`docker/app/Dockerfile has no stage ${app}`);
  return stage;
}

/** The arguments of an image's HEALTHCHECK (`node /app/healthcheck.js <mode> ...`). */
export function healthcheckOf(app: App): string[] {
  const m = /^HEALTHCHECK .* CMD (\[.*\])\s*$/m.exec(imageStage(app));
  if (!m) throw new Error(`the ${app} stage of docker/app/Dockerfile has no exec-form HEALTHCHECK`);
  return JSON.parse(m[1]);
}

/** The HTTP_PORT an image sets (its health check and Prometheus use it). */
export const imageHttpPort = (app: App) => /^ENV .*\bHTTP_PORT=(\d+)/m.exec(imageStage(app))?.[1];

/** The image's user (Kubernetes can check runAsNonRoot only against a numeric uid). */
export const imageUser = () => /^USER\s+(\S+)/m.exec(read('docker', 'base', 'Dockerfile'))?.[1];
