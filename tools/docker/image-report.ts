/**
 * Prints each image's size and the time from `docker run` to the component being ready:
 *
 *   npx tsx tools/docker/image-report.ts [--runs N] [--version V]    (images from `nx run-many -t image`)
 *
 * Ready means, per image:
 *   tsr-zmq     the base ran node and printed its version (then exits)
 *   tsr-broker  it printed "frontend tcp://*:9998, backend tcp://*:9999" (both ports bound)
 *   tsr-worker  the broker logged the worker's READY message (connected and registered)
 *   tsr-client  it printed the reply to its request (a broker and a worker with delay 0 serve it)
 * Each time is the median of N runs (default 5). Containers and the network are labelled
 * tsr.image-report and removed at the end, also on failure or Ctrl-C.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';

const LABEL = 'tsr.image-report';
const root = join(__dirname, '..', '..');
const { values: args } = parseArgs({ options: { runs: { type: 'string', default: '5' }, version: { type: 'string' } } });
const runs = Number(args.runs);
const version = args.version ?? JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
const tag = (name: string) => `${name}:${version}`;
const network = `tsr-image-report-${randomBytes(3).toString('hex')}`;

const docker = (...args: string[]) => execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

/** Spawns `docker args` and resolves with the ms until a line of its output matches `ready`. */
function timeUntil(args: string[], ready: RegExp, timeoutMs = 30_000): Promise<{ ms: number; child: ChildProcess; line: string }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn('docker', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const timer = setTimeout(() => reject(new Error(`docker ${args.join(' ')}: no ${ready} in ${timeoutMs} ms`)), timeoutMs);
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', (line) => {
        if (!ready.test(line)) return;
        clearTimeout(timer);
        resolve({ ms: performance.now() - started, child, line });
      });
    }
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`docker ${args.join(' ')} exited ${code} before ${ready}`));
    });
  });
}

const runArgs = (extra: string[] = []) => ['run', '--rm', '--label', LABEL, '--network', network, ...extra];
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function measure(what: string, once: () => Promise<number>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(await once());
  process.stderr.write(`${what}: ${times.map((t) => t.toFixed(0)).join(', ')} ms\n`);
  return median(times);
}

function cleanup(): void {
  const ids = docker('ps', '-aq', '--filter', `label=${LABEL}`).split('\n').filter(Boolean);
  try {
    if (ids.length) docker('rm', '-f', ...ids);
  } catch {
    // a `--rm` container already being removed by the engine
  }
  try {
    docker('network', 'rm', network);
  } catch {
    // not created, or already gone
  }
}

async function main(): Promise<void> {
  const images = ['tsr-zmq', 'tsr-broker', 'tsr-worker', 'tsr-client'];
  for (const image of images) docker('image', 'inspect', tag(image)); // fails early with a clear message
  docker('network', 'create', '--label', LABEL, network);

  const ready: Record<string, number> = {};
  ready['tsr-zmq'] = await measure('tsr-zmq', async () => (await timeUntil([...runArgs(), tag('tsr-zmq')], /^node v/)).ms);

  ready['tsr-broker'] = await measure('tsr-broker', async () => {
    const r = await timeUntil([...runArgs(['--name', `${network}-b`]), tag('tsr-broker')], /\[broker\] frontend tcp:/);
    docker('rm', '-f', `${network}-b`);
    return r.ms;
  });

  // One broker for the worker and client measurements, tracing so it logs each READY.
  docker(
    'run',
    '-d',
    '--label',
    LABEL,
    '--network',
    network,
    '--network-alias',
    'bro',
    '--name',
    `${network}-bro`,
    '-e',
    'TSR_LOG=trace',
    tag('tsr-broker'),
  );
  const brokerLog = spawn('docker', ['logs', '-f', '--since', '0s', `${network}-bro`], { stdio: ['ignore', 'pipe', 'pipe'] });
  const readyLines: ((line: string) => void)[] = [];
  createInterface({ input: brokerLog.stdout }).on('line', (line) => readyLines.forEach((f) => f(line)));
  try {
    ready['tsr-worker'] = await measure('tsr-worker', async () => {
      const name = `${network}-w${randomBytes(2).toString('hex')}`;
      const started = performance.now();
      const registered = new Promise<number>((resolve) => {
        const f = (line: string) => {
          // The worker's id is "W <hostname>-<pid>-<random>".
          if (line.includes(`worker="W ${name}-`) && line.includes('kind="ready"')) {
            readyLines.splice(readyLines.indexOf(f), 1);
            resolve(performance.now() - started);
          }
        };
        readyLines.push(f);
      });
      docker(...runArgs(['-d', '--name', name, '--hostname', name]), tag('tsr-worker'), 'bro', '9999', '--delay', '0');
      const ms = await registered;
      docker('rm', '-f', name);
      return ms;
    });
    // A fresh broker for the clients: the one above still lists the removed workers as ready (it
    // learns of a gone worker only when it misses its answer timeout), plus one worker that
    // answers at once.
    docker('rm', '-f', `${network}-bro`);
    docker('run', '-d', '--label', LABEL, '--network', network, '--network-alias', 'bro', tag('tsr-broker'));
    docker('run', '-d', '--label', LABEL, '--network', network, tag('tsr-worker'), 'bro', '9999', '--delay', '0');
    ready['tsr-client'] = await measure(
      'tsr-client',
      async () => (await timeUntil([...runArgs(), tag('tsr-client'), 'bro', '9998'], / W \S+$/)).ms,
    );
  } finally {
    brokerLog.kill();
  }

  console.log(`${'image'.padEnd(22)} ${'size'.padStart(8)}  run-to-ready (median of ${runs})`);
  for (const image of images) {
    const size = Number(docker('image', 'inspect', '-f', '{{.Size}}', tag(image))) / 1e6;
    console.log(`${tag(image).padEnd(22)} ${`${size.toFixed(0)} MB`.padStart(8)}  ${ready[image].toFixed(0)} ms`);
  }
}

process.on('SIGINT', () => {
  cleanup();
  process.exit(130);
});
main()
  .catch((e) => {
    console.error(`image-report: ${(e as Error).message}`);
    process.exitCode = 1;
  })
  .finally(cleanup);
