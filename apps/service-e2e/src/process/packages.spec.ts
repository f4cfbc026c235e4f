import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type NodeProcess, spawnNode, stopNode, waitForOutput, workspaceRoot } from '@tsr/testing';
import { localDeployment } from '../support/deployment';
import { eventually } from '../support/wait';

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
  // Strict TypeScript against the published declarations: every name the packages export (the test
  // checks the list against their declarations), run against the real broker.
  'consumer.ts': `
import {
  type BrokerAddress,
  type BrokerAddresses,
  type BrokerLinkStatus,
  type BrokerSetOptions,
  type ConnectionEvent,
  type CurveKeyPair,
  type CurvePeerKeys,
  type Handler,
  type Headers,
  type Probe,
  type RequestInfo,
  type ServeOptions,
  Worker,
  type WorkerBrokerStatus,
  type WorkerLogger,
  type WorkerStatus,
  serve,
} from '@tsr-broker/worker';
import {
  BrokerError,
  Client,
  type BrokerAddress as ClientBrokerAddress,
  type BrokerAddresses as ClientBrokerAddresses,
  type BrokerSetOptions as ClientBrokerSetOptions,
  type ClientOptions,
  type ConnectionEvent as ClientConnectionEvent,
  type CurveKeyPair as ClientCurveKeyPair,
  type CurvePeerKeys as ClientCurvePeerKeys,
  DEFAULT_SERVICE,
  DISCOVERY_SERVICE,
  ERROR_REASONS,
  type ErrorReason,
  HandlerError,
  type Headers as ClientHeaders,
  NoAnswerError,
  NoServiceError,
  PlainBrokerError,
  RefusedError,
  type RequestOptions,
  RequestError,
  type RetryOptions,
  type ServiceInfo,
  connect,
} from '@tsr-broker/client';

const [backend, frontend] = process.argv.slice(2).map(Number);
const logger: WorkerLogger = { info: () => {}, error: (m) => console.error(m) };
const handler: Handler = async (request: Buffer, info: RequestInfo) => {
  const text = request.toString();
  if (text === 'fail') throw new Error('cannot shout "fail"');
  if (text === 'wait') await new Promise((_, reject) => info.signal.addEventListener('abort', () => reject(info.signal.reason)));
  const user: string | undefined = info.headers['x-user'];
  return \`\${text.toUpperCase()} \${user ?? ''} \${info.timeoutMs !== undefined && info.timeoutMs > 0}\`;
};
const address: BrokerAddress = { host: '127.0.0.1', port: backend };
const addresses: BrokerAddresses = [address];
const lookup: BrokerSetOptions = { resolveIntervalMs: 5000 };
const options: ServeOptions = { broker: addresses, service: 'shout', handler, logger, credit: 2, ...lookup };
const noKeys: CurveKeyPair | CurvePeerKeys | ClientCurveKeyPair | ClientCurvePeerKeys | undefined = undefined;

/** Every event until the loop ends (at close), as \`type address\`. */
async function collect(events: AsyncIterable<ConnectionEvent | ClientConnectionEvent>): Promise<string[]> {
  const seen: string[] = [];
  for await (const e of events) seen.push(\`\${e.type} \${e.address}\`);
  return seen;
}
const failure = (e: unknown) =>
  e instanceof BrokerError
    ? { name: e.name, reason: e.reason, detail: e.detail, typed: e instanceof HandlerError || e instanceof NoServiceError }
    : { name: (e as Error).name, typed: e instanceof RequestError || e instanceof NoAnswerError || e instanceof RefusedError || e instanceof PlainBrokerError };

(async () => {
  const worker: Worker = serve(options);
  const workerEvents = collect(worker.events());
  const brokerAt: ClientBrokerAddress = \`127.0.0.1:\${frontend}\`;
  const retry: RetryOptions = { timeout: 5000, retries: 1 };
  const clientOptions: ClientOptions = { broker: [brokerAt] satisfies ClientBrokerAddresses, curve: noKeys, ...retry, ...(lookup as ClientBrokerSetOptions) };
  const client: Client = connect(clientOptions);
  const clientEvents = collect(client.events());
  for (let i = 0; i < 100 && !(worker.registration() satisfies Probe).ok; i++) await new Promise((r) => setTimeout(r, 50));
  const headers: Headers & ClientHeaders = { 'x-user': 'ann' };
  const withHeaders: RequestOptions = { headers };
  const status: WorkerStatus = worker.status();
  const brokers: (WorkerBrokerStatus & BrokerLinkStatus)[] = status.brokers;
  const out = {
    reply: (await client.request('shout', 'hello', withHeaders)).toString(),
    uint8: (await client.request('shout', new TextEncoder().encode('bytes'))).toString(),
    failure: await client.request('shout', 'fail').then(String, failure),
    services: (await client.services('shout')).map((s: ServiceInfo) => [s.name, s.workers]),
    names: [DEFAULT_SERVICE, DISCOVERY_SERVICE],
    nobody: await client.request('nobody', 'x').then(String, failure),
    // last: its handler waits until its signal fires (here, when the worker closes)
    abandoned: await client.request('shout', 'wait', { signal: AbortSignal.timeout(100) }).then(String, failure),
    reasons: ERROR_REASONS.includes('no-service' satisfies ErrorReason),
    brokers: brokers.map((b) => b.endpoint),
  };
  await client.close();
  await worker.close();
  console.log(JSON.stringify({ ...out, clientEvents: await clientEvents, workerEvents: await workerEvents }));
})();
`,
};

/** What both packages depend on (sodium-native is an optional peer: not installed). */
const PACKAGE_DEPENDENCIES = ['@opentelemetry/api', 'libsodium-wrappers-sumo'];

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
  /** Runs a command in the consumer's folder; on failure, the error says what it printed (tsc's errors go to stdout). */
  const run = (program: string, args: string[]) => {
    try {
      return execFileSync(program, args, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      const { stdout, stderr } = e as { stdout?: string; stderr?: string };
      throw new Error(`${program} ${args.join(' ')} failed:\n${stdout ?? ''}${stderr ?? ''}`);
    }
  };
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
    // The packages' dependencies, locked at the workspace's versions (what `npm ci` cached).
    const registry = run('npm', ['config', 'get', 'registry']).trim();
    const locked: Record<string, LockEntry> = {};
    for (const name of PACKAGE_DEPENDENCIES) lockEntries(name, workspaceLock.packages, registry, locked);
    const dependencies = Object.fromEntries([
      ...packed.map((p) => [p.name, `file:./${p.filename}`]),
      ...PACKAGE_DEPENDENCIES.map((name) => [name, locked[`node_modules/${name}`].version]),
    ]);
    const manifest = { name: 'consumer', version: '0.0.0', private: true, dependencies };
    writeFileSync(join(dir, 'package.json'), JSON.stringify(manifest));
    writeFileSync(
      join(dir, 'package-lock.json'),
      JSON.stringify({ name: 'consumer', lockfileVersion: 3, requires: true, packages: { '': manifest, ...locked } }),
    );
    for (const [file, text] of Object.entries(CONSUMER)) writeFileSync(join(dir, file), text);
    run('npm', ['install', '--offline', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error']);
    const tree = JSON.parse(run('npm', ['ls', '--all', '--json'])) as {
      dependencies: Record<string, { dependencies?: Record<string, { version?: string }> }>;
    };
    for (const name of ['@tsr-broker/worker', '@tsr-broker/client']) {
      const listed = Object.entries(tree.dependencies[name].dependencies ?? {});
      // installed (with a version); sodium-native listed empty: an optional peer, not installed
      expect(listed.filter(([, d]) => d.version).map(([n]) => n)).toEqual(PACKAGE_DEPENDENCIES);
      expect(listed.filter(([, d]) => !d.version)).toEqual([['sodium-native', {}]]);
    }
    // Strict TypeScript against the published declarations alone (the workspace's compiler and Node's types).
    const tsc = join(workspaceRoot, 'node_modules/typescript/bin/tsc');
    run(process.execPath, [
      tsc,
      '--strict',
      '--module',
      'commonjs',
      '--target',
      'es2022',
      '--typeRoots',
      join(workspaceRoot, 'node_modules/@types'),
      '--types',
      'node',
      'consumer.ts',
    ]);
  }, 120_000);

  it('declares no type a user cannot name, and the consumer imports every name each package exports', () => {
    for (const name of ['worker', 'client']) {
      const declarations = readFileSync(join(dir, 'node_modules', '@tsr-broker', name, 'index.d.ts'), 'utf8');
      const { exported, unexported } = declaredNames(declarations);
      expect({ name, unexported }).toEqual({ name, unexported: [] });
      const imported = importedNames(CONSUMER['consumer.ts'], `@tsr-broker/${name}`);
      expect({ name, missing: exported.filter((n) => !imported.includes(n)) }).toEqual({ name, missing: [] });
    }
  });

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

  it("runs every example of the packages' READMEs (as shipped) and the README's walk-through as printed, against a broker on the ports they name", async () => {
    /** Writes a README's programs into the consumer's folder as `<prefix>-<n>.js`. */
    const programs = (prefix: string, readme: string) =>
      readmeExamples(readme).map((code, i) => {
        const file = `${prefix}-${i + 1}.js`;
        writeFileSync(join(dir, file), code);
        return file;
      });
    const shipped = (name: string) => readFileSync(join(dir, 'node_modules', '@tsr-broker', name, 'README.md'), 'utf8');
    const examples = [...programs('readme-worker', shipped('worker')), ...programs('readme-client', shipped('client'))];
    expect(examples).toEqual(['readme-worker-1.js', 'readme-worker-2.js', 'readme-client-1.js', 'readme-client-2.js']);
    const rootReadme = readFileSync(join(workspaceRoot, 'README.md'), 'utf8');
    const walkThrough = programs(
      'walk-through',
      rootReadme.slice(rootReadme.indexOf('## Write a service'), rootReadme.indexOf('\n## ', rootReadme.indexOf('## Write a service') + 1)),
    );
    expect(walkThrough).toEqual(['walk-through-1.js', 'walk-through-2.js']); // shout.js, call.js
    // Their output as in a pipe, whatever the test runner's environment asks for (Nx sets FORCE_COLOR).
    const start = (files: string[]) => files.map((f) => deployment.track(spawnNode(f, [join(dir, f)], { FORCE_COLOR: '0' })));
    const stop = async (workers: NodeProcess[]) => {
      for (const worker of workers) worker.child.kill('SIGTERM');
      expect(await Promise.all(workers.map((w) => w.exited))).toEqual(workers.map(() => 0)); // close() resolved, then exit(0)
    };
    /** Until discovery lists each service with the number of workers given. */
    const registered = (workers: Record<string, number>) =>
      eventually(
        `workers registered: ${JSON.stringify(workers)}`,
        async () => {
          const services = deployment.client(['--services', '--json']);
          await services.exited;
          const listed = JSON.parse(services.stdout || '[]') as { name: string; workers: number }[];
          return Object.entries(workers).every(([name, n]) => listed.some((l) => l.name === name && l.workers === n));
        },
        20_000,
        200,
      );
    [deployment.frontendPort, deployment.backendPort] = [9998, 9999]; // localhost:9998 and :9999, as printed
    await deployment.startBroker(['--startup-grace', '0']);
    await deployment.startWorker(0, {}, ['--service', 'wordcount', '--handler', 'wordcount']); // the service the first client example calls

    const packageWorkers = start(examples.filter((f) => f.startsWith('readme-worker')));
    await registered({ shout: 1, orders: 1 }); // they log nothing: the broker's discovery says they are there
    const [first, second] = start(examples.filter((f) => f.startsWith('readme-client')));
    expect([await first.exited, first.stderr]).toEqual([0, '']);
    expect(first.stdout).toMatch(/^\{\s+words: 6,\s+lines: 1,\s+characters: 18,/); // the wordcount answer, then the services
    for (const name of ['orders', 'shout', 'wordcount']) expect(first.stdout).toContain(`name: '${name}'`);
    expect([await second.exited, second.stdout, second.stderr]).toEqual([0, 'order 42 of acme: shipped\n', '']);
    await stop(packageWorkers);

    // The walk-through's worker alone serves shout now (its "fail" is a failure, the other's was not).
    const [shout] = start(walkThrough.slice(0, 1));
    await registered({ shout: 1 });
    const [call] = start(walkThrough.slice(1));
    expect([await call.exited, call.stderr]).toEqual([0, '']);
    expect(call.stdout).toMatch(/^HELLO\nthe service failed: cannot shout "fail"\n\[/); // then the services
    expect(call.stdout).toMatch(/name: 'shout',\s+workers: 1,/);
    await stop([shout]);
    await deployment.stop(); // the printed ports are free again
  });

  it('runs the typed consumer against the broker: headers, deadline and signal in the handler, Uint8Array, typed errors, an abandoned request, events, await close()', async () => {
    await deployment.stop(); // a broker of its own, on ports of its own
    await deployment.startBroker(['--startup-grace', '0', '--service-grace', '300']);
    const { backendPort: backend, frontendPort: frontend } = deployment;
    const consumer = deployment.track(spawnNode('typed consumer', [join(dir, 'consumer.js'), String(backend), String(frontend)], {}));
    expect(await consumer.exited).toBe(0); // both closed: nothing keeps it alive
    expect(JSON.parse(consumer.stdout)).toEqual({
      reply: 'HELLO ann true',
      uint8: 'BYTES  true',
      failure: { name: 'HandlerError', reason: 'handler', detail: 'cannot shout "fail"', typed: true },
      services: [['shout', 1]],
      names: ['default', 'tsr.services'],
      nobody: { name: 'NoServiceError', reason: 'no-service', detail: 'nobody', typed: true },
      abandoned: { name: 'TimeoutError', typed: false },
      reasons: true,
      brokers: [`tcp://127.0.0.1:${backend}`],
      clientEvents: [`connected tcp://127.0.0.1:${frontend}`],
      workerEvents: [`connected tcp://127.0.0.1:${backend}`],
    });
  });
});

/** The complete programs of a README: its ```js blocks, indented or not (in a list); a ```js fragment is a part of one, not run. */
const readmeExamples = (readme: string): string[] =>
  [...readme.matchAll(/^( *)```js\n([\s\S]*?)^\1```$/gm)].map(([, indent, code]) => code.replace(new RegExp(`^${indent}`, 'gm'), ''));

/** The names a bundled declaration file exports, and those it declares without exporting (types of the API a user could not name). */
function declaredNames(declarations: string): { exported: string[]; unexported: string[] } {
  const exported = new Set<string>();
  const declared: string[] = [];
  for (const [, isExported, name] of declarations.matchAll(
    /^(export )?(?:declare )?(?:abstract )?(?:class|interface|type|const|enum|function) ([\w$]+)/gm,
  ))
    if (isExported) exported.add(name);
    else declared.push(name);
  const aliased = new Set<string>();
  for (const [, list] of declarations.matchAll(/^export \{([^}]*)\}/gm))
    for (const item of list
      .split(',')
      .map((i) => i.trim())
      .filter(Boolean)) {
      const [local, as] = item.split(/\s+as\s+/);
      aliased.add(local);
      exported.add(as ?? local);
    }
  return { exported: [...exported].sort(), unexported: declared.filter((n) => !aliased.has(n)) };
}

/** The names `source` imports from `module`, as the module exports them (`type A as B` counts as A). */
function importedNames(source: string, module: string): string[] {
  const block = new RegExp(`import \\{([^}]*)\\} from '${module.replace('/', '\\/')}'`).exec(source)?.[1] ?? '';
  return block
    .split(',')
    .map(
      (i) =>
        i
          .trim()
          .replace(/^type /, '')
          .split(/\s+as\s+/)[0],
    )
    .filter(Boolean);
}
