/** What the results were measured on and with: the note that goes next to every figure. */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { version as zmqVersion } from 'zeromq';
import type { App } from '@tsr/testing';

export interface MachineNote {
  date: string;
  startedAt: string;
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  node: string;
  zeromq: string;
  libzmq: string;
  loadAverageAtStart: number[];
  loadAverageAtEnd?: number[];
  git: string;
  /** sha256 (first 12 hex digits) of the app bundles that were run. */
  apps: Record<string, string>;
}

const git = (root: string): string => {
  try {
    const head = execFileSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['-C', root, 'status', '--porcelain', '--', 'apps', 'libs'], { encoding: 'utf8' }).trim();
    return dirty ? `${head} + uncommitted changes in apps/ or libs/` : head;
  } catch {
    return 'unknown';
  }
};

/** The commit checked out where `dir` is (a worktree of its own, say), short; undefined outside git. */
export function gitCommit(dir: string): string | undefined {
  try {
    return execFileSync('git', ['-C', dir, 'rev-parse', '--short', 'HEAD'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return undefined;
  }
}

/** `date +%F`: today in local time. */
export function today(d = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

/** sha256 (first 12 hex digits) of each app of a build (DIR/<app>/main.js). */
export function appsHashes(appsDir: string): Record<string, string> {
  const apps: Record<string, string> = {};
  for (const app of ['broker', 'worker', 'client']) {
    const f = join(appsDir, app, 'main.js');
    apps[app] = existsSync(f) ? createHash('sha256').update(readFileSync(f)).digest('hex').slice(0, 12) : 'missing';
  }
  return apps;
}

export function machineNote(root: string, appsDir: string): MachineNote {
  const zmqPkg = JSON.parse(readFileSync(join(root, 'node_modules', 'zeromq', 'package.json'), 'utf8')) as { version: string };
  const apps = appsHashes(appsDir);
  return {
    date: today(),
    startedAt: new Date().toISOString(),
    cpuModel: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    zeromq: zmqPkg.version,
    libzmq: zmqVersion,
    loadAverageAtStart: loadavg().map((v) => Math.round(v * 100) / 100),
    git: git(root),
    apps,
  };
}

/**
 * Copies the built apps (dist/apps/<app>/main.js) to `dir`, so the whole run uses one build even if
 * someone rebuilds dist meanwhile.
 */
export function snapshotApps(distApps: string, dir: string): string {
  for (const app of ['broker', 'worker', 'client'] as App[]) {
    const from = join(distApps, app, 'main.js');
    if (!existsSync(from)) throw new Error(`${from} is missing: build first (npx nx run-many -t build), or run through npm run bench`);
    mkdirSync(join(dir, app), { recursive: true });
    copyFileSync(from, join(dir, app, 'main.js'));
  }
  return dir;
}

export const formatNote = (m: MachineNote): string =>
  `${m.date}, ${m.cores} × ${m.cpuModel}, ${m.memoryGiB} GiB, Linux ${m.kernel}, Node ${m.node}, zeromq ${m.zeromq} (libzmq ${m.libzmq}), ` +
  `load average at start ${m.loadAverageAtStart.join(' ')}${m.loadAverageAtEnd ? `, at end ${m.loadAverageAtEnd.join(' ')}` : ''}; git ${m.git}; ` +
  `apps sha256 ${Object.entries(m.apps)
    .map(([a, h]) => `${a} ${h}`)
    .join(', ')}`;
