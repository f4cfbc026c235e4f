import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnNode, stopNode, waitForOutput, workspaceRoot } from '@tsr/testing';
import { localDeployment } from '../support/deployment';

/**
 * The libraries as another repository uses them: a package outside the workspace installs the
 * tarballs `npm pack` makes of dist/libs/worker and dist/libs/client (offline, from npm's cache:
 * their only dependency is libsodium-wrappers-sumo, WebAssembly: no native addon), type-checks against their declarations, and runs a worker and
 * a client of its own against the real broker.
 */
const CONSUMER = {
  'worker.js': `
const { serve } = require('@tsr-broker/worker');
const [port, service] = process.argv.slice(2);
const worker = serve({
  broker: '127.0.0.1:' + port,
  service,
  handler: async (request) => {
    const text = request.toString();
    if (text === 'fail') throw new Error('cannot shout "fail"');
    return text.toUpperCase();
  },
  logger: { info: (m) => console.log(m), error: (m) => console.error(m) },
});
process.on('SIGTERM', () => { worker.close(); process.exit(0); });
`,
  'client.js': `
const { connect, HandlerError, NoServiceError } = require('@tsr-broker/client');
(async () => {
  const client = connect({ broker: { host: '127.0.0.1', port: Number(process.argv[2]) }, timeout: 5000, retries: 1 });
  const failure = (e) => ({ name: e.name, message: e.message, detail: e.detail, typed: e instanceof HandlerError || e instanceof NoServiceError });
  const out = {
    reply: (await client.request('shout', 'hello')).toString(),
    failure: await client.request('shout', 'fail').then(String, failure),
    after: (await client.request('shout', 'still here')).toString(),
    services: await client.services('shout'),
    nobody: await client.request('nobody', 'x').then(String, failure),
  };
  client.close();
  console.log(JSON.stringify(out));
})();
`,
  'types.ts': `
import { type BrokerAddress, type CurvePeerKeys, type Handler, type Probe, type ServeOptions, Worker } from '@tsr-broker/worker';
import { Client, type ErrorReason, type ServiceInfo, NoServiceError, BrokerError } from '@tsr-broker/client';
import type { BrokerAddress as ClientBrokerAddress, CurvePeerKeys as ClientCurvePeerKeys } from '@tsr-broker/client';
const handler: Handler = async (request, info) => Buffer.concat([request, Buffer.from(info.service)]);
const broker: BrokerAddress = { host: 'h', port: 1 };
export const keys: CurvePeerKeys | ClientCurvePeerKeys | undefined = undefined;
export const where: ClientBrokerAddress = 'tcp://h:1';
export const why: ErrorReason = 'overloaded';
const options: ServeOptions = { broker, service: 'x', handler, credit: 4 };
export const ready = (w: Worker): Probe => w.registration();
export const worker: Worker = new Worker(options);
export async function list(client: Client): Promise<string[]> {
  const services: ServiceInfo[] = await client.services();
  try { await client.request('x', 'y', { timeout: 10 }); } catch (e) { if (e instanceof NoServiceError) return [e.detail]; if (e instanceof BrokerError) return [e.reason]; }
  return services.map((s) => s.name + s.ready);
}
`,
};

interface LockEntry {
  version: string;
  resolved?: string;
  dependencies?: Record<string, string>;
}

/**
 * The workspace's lock entries of `name` and what it depends on, each with its tarball's address
 * at `registry`. With them in its lock, the consumer's `npm install --offline` takes them from
 * npm's cache by integrity, as `npm ci` left it, without the registry's metadata (which a fresh
 * machine has not cached).
 */
function lockEntries(
  name: string,
  packages: Record<string, LockEntry>,
  registry: string,
  into: Record<string, LockEntry> = {},
): Record<string, LockEntry> {
  const key = `node_modules/${name}`;
  if (into[key]) return into;
  const entry = packages[key];
  into[key] = {
    ...entry,
    resolved: entry.resolved ?? `${registry.replace(/\/?$/, '/')}${name}/-/${name.split('/').pop()}-${entry.version}.tgz`,
  };
  for (const dependency of Object.keys(entry.dependencies ?? {})) lockEntries(dependency, packages, registry, into);
  return into;
}

describe('the packages, installed by a consumer outside the workspace', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsr-consumer-'));
  const deployment = localDeployment('all');
  const run = (program: string, args: string[]) =>
    execFileSync(program, args, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('installs both tarballs offline with libsodium-wrappers-sumo and the OpenTelemetry API as their only dependencies, and type-checks against them', () => {
    const packed = JSON.parse(
      run('npm', [
        'pack',
        '--json',
        '--pack-destination',
        dir,
        join(workspaceRoot, 'dist/libs/worker'),
        join(workspaceRoot, 'dist/libs/client'),
      ]),
    ) as { name: string; filename: string }[];
    expect(packed.map((p) => p.name)).toEqual(['@tsr-broker/worker', '@tsr-broker/client']);
    const workspaceLock = JSON.parse(readFileSync(join(workspaceRoot, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, LockEntry>;
    };
    const sodium = lockEntries('libsodium-wrappers-sumo', workspaceLock.packages, run('npm', ['config', 'get', 'registry']).trim());
    const dependencies = Object.fromEntries([
      ...packed.map((p) => [p.name, `file:./${p.filename}`]),
      ['libsodium-wrappers-sumo', sodium['node_modules/libsodium-wrappers-sumo'].version],
    ]);
    const manifest = { name: 'consumer', version: '0.0.0', private: true, dependencies };
    writeFileSync(join(dir, 'package.json'), JSON.stringify(manifest));
    writeFileSync(
      join(dir, 'package-lock.json'),
      JSON.stringify({ name: 'consumer', lockfileVersion: 3, requires: true, packages: { '': manifest, ...sodium } }),
    );
    for (const [file, text] of Object.entries(CONSUMER)) writeFileSync(join(dir, file), text);
    run('npm', ['install', '--offline', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error']);
    const tree = JSON.parse(run('npm', ['ls', '--all', '--json'])) as {
      dependencies: Record<string, { dependencies?: Record<string, unknown> }>;
    };
    for (const name of ['@tsr-broker/worker', '@tsr-broker/client'])
      expect(Object.keys(tree.dependencies[name].dependencies ?? {})).toEqual(['@opentelemetry/api', 'libsodium-wrappers-sumo']);
    // Strict TypeScript against the published declarations alone (the workspace's compiler and Node's types).
    const tsc = join(workspaceRoot, 'node_modules/typescript/bin/tsc');
    run(process.execPath, [
      tsc,
      '--noEmit',
      '--strict',
      '--module',
      'commonjs',
      '--target',
      'es2022',
      '--typeRoots',
      join(workspaceRoot, 'node_modules/@types'),
      '--types',
      'node',
      'types.ts',
    ]);
  }, 120_000);

  it("runs the consumer's own worker and client against the broker: replies, the handler's failure as a typed error, discovery, no-service", async () => {
    await deployment.startBroker(['--startup-grace', '0', '--service-grace', '300']);
    const worker = deployment.track(spawnNode('consumer worker', [join(dir, 'worker.js'), String(deployment.backendPort), 'shout'], {}));
    await waitForOutput(worker, /registered: the broker speaks TSR\/1/);
    const client = deployment.track(spawnNode('consumer client', [join(dir, 'client.js'), String(deployment.frontendPort)], {}));
    expect(await client.exited).toBe(0);
    expect(JSON.parse(client.stdout)).toEqual({
      reply: 'HELLO',
      failure: { name: 'HandlerError', message: 'the service failed: cannot shout "fail"', detail: 'cannot shout "fail"', typed: true },
      after: 'STILL HERE',
      services: [{ name: 'shout', workers: 1, ready: 1, busy: 0, waiting: 0 }],
      nobody: { name: 'NoServiceError', message: 'no worker serves "nobody"', detail: 'nobody', typed: true },
    });
    expect(worker.stderr).toContain('handler failed: cannot shout "fail"');
    await stopNode(worker);
  });
});
