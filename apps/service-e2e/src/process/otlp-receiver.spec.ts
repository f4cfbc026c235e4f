// The suites' OTLP receiver against the real exporter, and the programs' SDK (startTelemetry)
// against the receiver, over real HTTP. The SDK runs in child processes bundled as the programs
// are (esbuild, CommonJS, everything in): the exporter imports `http` on demand, which Jest's
// sandbox refuses. An esbuild plugin counts the @opentelemetry modules (other than the API) a
// bundle evaluates: none when traces are off, in the programs themselves too.
import { build, type Plugin } from 'esbuild';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, type Socket, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SpanStatusCode } from '@opentelemetry/api';
import { type App, freePort, spawnNode, stopNode, waitForOutput, workspaceRoot } from '@tsr/testing';
import { type OtlpReceiver, startOtlpReceiver } from '../support/otlp-receiver';
import type { TracedScriptResult } from '../support/traced-script';

const dir = mkdtempSync(join(tmpdir(), 'tsr-otlp-'));
const bundle = (name: string) => join(dir, `${name}.js`);

/** Prepends a counter to every @opentelemetry module but the API: `globalThis.__sdkModules` is how many were evaluated. */
const countSdkModules: Plugin = {
  name: 'count-sdk-modules',
  setup(b) {
    b.onLoad({ filter: /[\\/]node_modules[\\/]@opentelemetry[\\/].*\.[cm]?js$/ }, (args) =>
      /[\\/]@opentelemetry[\\/]api[\\/]/.test(args.path)
        ? undefined
        : {
            contents: `globalThis.__sdkModules = (globalThis.__sdkModules || 0) + 1;\n${readFileSync(args.path, 'utf8')}`,
            loader: 'js',
            resolveDir: join(args.path, '..'),
          },
    );
  },
};

/** Bundles `entry` as the apps' build does (nx.json's build target defaults: esbuild, cjs, node26, third-party in). */
const bundleAs = (entry: string, name: string) =>
  build({
    entryPoints: [join(workspaceRoot, entry)],
    outfile: bundle(name),
    tsconfig: join(workspaceRoot, 'tsconfig.base.json'),
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node26',
    logLevel: 'error',
    plugins: [countSdkModules],
  });

/** No OTEL_* of the environment this suite runs in, then `env`. */
const otelEnv = (env: Record<string, string>): NodeJS.ProcessEnv => ({
  ...Object.fromEntries(Object.keys(process.env).flatMap((k) => (k.startsWith('OTEL_') ? [[k, undefined]] : []))),
  ...env,
});

async function runScript(env: Record<string, string>): Promise<TracedScriptResult> {
  const run = spawnNode('traced-script', [bundle('traced-script')], otelEnv(env));
  const code = await run.exited;
  if (code !== 0) throw new Error(`traced-script exited ${code}: ${run.stderr}`);
  return JSON.parse(run.stdout) as TracedScriptResult;
}

beforeAll(async () => {
  await Promise.all([
    bundleAs('apps/service-e2e/src/support/traced-script.ts', 'traced-script'),
    ...(['broker', 'worker', 'client'] as const).map((app) => bundleAs(`apps/${app}/src/main.ts`, app)),
  ]);
  // Prints how many SDK modules the program evaluated, as it exits.
  writeFileSync(
    bundle('count'),
    `process.on('exit', () => process.stderr.write('sdk modules: ' + (globalThis.__sdkModules || 0) + '\\n'));\n`,
  );
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the OTLP receiver, fed by startTelemetry', () => {
  let receiver: OtlpReceiver;
  beforeEach(async () => {
    receiver = await startOtlpReceiver();
  });
  afterEach(() => receiver.close());

  it('receives the spans of a trace, flattened, with the resource the programs give them', async () => {
    const result = await runScript({
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=e2e',
    });
    expect(result).toMatchObject({
      enabled: true,
      describe: `traces: OTLP/HTTP (JSON) to ${receiver.endpoint}/v1/traces, sampler parentbased_always_on`,
      rootAfter: true,
      recordingAfter: false,
    });
    expect(result.sdkModules).toBeGreaterThan(0);
    // Shut down means sent: no waiting needed.
    const names = receiver.spans.map((s) => s.name).sort();
    expect(names).toEqual(['child of a sampled parent', 'inner', 'outer', 'request echo', 'send echo']);
    const span = (name: string) => receiver.spans.find((s) => s.name === name);
    expect(span('request echo')).toMatchObject({
      ...result.parent,
      parentSpanId: '',
      kind: 'CLIENT',
      serviceName: 'tsr-test',
      scope: 'tsr-test',
      attributes: { 'messaging.destination.name': 'echo', 'tsr.attempt': 1, ratio: 0.5, ok: true, list: ['a', 'b'] },
      status: { code: SpanStatusCode.UNSET, message: '' },
      resource: {
        'service.name': 'tsr-test',
        'service.version': '9.9.9',
        'service.instance.id': expect.stringMatching(/^[0-9a-f-]{36}$/),
        'deployment.environment.name': 'e2e',
        'telemetry.sdk.language': 'nodejs',
      },
    });
    expect(span('send echo')).toMatchObject({
      traceId: result.parent.traceId,
      parentSpanId: result.parent.spanId,
      kind: 'PRODUCER',
      status: { code: SpanStatusCode.ERROR, message: 'timeout' },
      events: [{ name: 'retry', attributes: { 'tsr.attempt': 2 } }],
    });
    // The active span across an await: inner is outer's child.
    expect(span('inner')).toMatchObject({ traceId: span('outer')?.traceId, parentSpanId: span('outer')?.spanId, kind: 'INTERNAL' });
    for (const s of receiver.spans) expect(BigInt(s.endTimeUnixNano)).toBeGreaterThanOrEqual(BigInt(s.startTimeUnixNano));
    expect(Number(BigInt(span('request echo')?.startTimeUnixNano ?? 0) / 1_000_000n)).toBeGreaterThan(Date.now() - 60_000);
    await expect(receiver.waitForSpan((s) => s.name === 'inner', 100)).resolves.toMatchObject({ name: 'inner' });
  });

  it('names the service after OTEL_SERVICE_NAME, and takes gzip', async () => {
    await runScript({
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      OTEL_SERVICE_NAME: 'edge-client',
      OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip',
    });
    expect(receiver.spans).toHaveLength(5);
    expect(new Set(receiver.spans.map((s) => s.serviceName))).toEqual(new Set(['edge-client']));
  });

  it('honours the sampler: traceidratio 0 exports nothing; parentbased_traceidratio 0 keeps a sampled parent', async () => {
    const none = await runScript({
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      OTEL_TRACES_SAMPLER: 'traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0',
    });
    expect(none.describe).toMatch(/, sampler traceidratio 0$/);
    expect({ spans: receiver.spans.length, requests: receiver.requests }).toEqual({ spans: 0, requests: 0 });

    await runScript({
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0',
    });
    expect(receiver.spans.map((s) => [s.name, s.traceId, s.parentSpanId])).toEqual([
      ['child of a sampled parent', '0af7651916cd43dd8448eb211c80319c', 'b7ad6b7169203331'],
    ]);
  });

  it('is off without the variables: nothing sent, no SDK module evaluated', async () => {
    const result = await runScript({});
    expect(result).toMatchObject({ enabled: false, describe: 'traces: off (no OTLP endpoint given)', sdkModules: 0 });
    expect(receiver.requests).toBe(0);
  });

  it('stops within its bound when the collector never answers', async () => {
    const sockets: Socket[] = [];
    const silent = createServer((s) => sockets.push(s)); // accepts, answers nothing
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const result = await runScript({ OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(silent.address() as AddressInfo).port}` });
      expect(sockets.length).toBeGreaterThan(0);
      expect(result.shutdownMs).toBeGreaterThanOrEqual(1900);
      expect(result.shutdownMs).toBeLessThan(3000);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => silent.close(r));
    }
  });

  it('says which spans it has when a wait times out', async () => {
    await expect(receiver.waitFor((s) => s.length > 0, 50)).rejects.toThrow('no such spans within 50 ms; received: none');
  });
});

describe('the programs and the OTEL_* variables', () => {
  /** The program bundled above, with the module counter preloaded. */
  const start = (app: App, args: string[], env: Record<string, string>) =>
    spawnNode(app, ['--require', bundle('count'), bundle(app), ...args], otelEnv({ TSR_LOG: 'info', TSR_ENV_FILE: '', ...env }));
  const sdkModules = (stderr: string) => Number(/sdk modules: (\d+)/.exec(stderr)?.[1]);
  /** The broker's two ports (it takes no 0). */
  const ports = async () => [String(await freePort()), String(await freePort())];

  it('off by default: broker, worker and client evaluate no SDK module and say nothing of traces', async () => {
    const broker = start('broker', await ports(), {});
    await waitForOutput(broker, /frontend/);
    const worker = start('worker', ['127.0.0.1', '9'], {});
    await waitForOutput(worker, /echo, delay/);
    const client = start('client', ['127.0.0.1', '9', '--timeout', '100', '--retries', '0'], {});
    expect(await client.exited).toBe(1);
    expect([await stopNode(broker), await stopNode(worker)]).toEqual([0, 0]);
    for (const p of [broker, worker, client]) {
      expect({ app: p.label, sdkModules: sdkModules(p.stderr) }).toEqual({ app: p.label, sdkModules: 0 });
      expect(p.stdout + p.stderr).not.toMatch(/traces:/);
    }
  });

  it('on: each says where its traces go, once, and stops on SIGTERM with exit 0', async () => {
    const receiver = await startOtlpReceiver();
    try {
      const env = {
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
        OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
        OTEL_TRACES_SAMPLER_ARG: '0.01',
      };
      const line = `traces: OTLP/HTTP (JSON) to ${receiver.endpoint}/v1/traces, sampler parentbased_traceidratio 0.01`;
      const broker = start('broker', await ports(), env);
      const worker = start('worker', ['127.0.0.1', '9'], env);
      for (const p of [broker, worker]) await waitForOutput(p, /traces: .*\n/);
      const client = start('client', ['127.0.0.1', '9', '--timeout', '100', '--retries', '0'], env);
      expect(await client.exited).toBe(1);
      expect([await stopNode(broker), await stopNode(worker)]).toEqual([0, 0]);
      for (const p of [broker, worker, client]) {
        expect({ app: p.label, lines: (p.stdout + p.stderr).split('\n').filter((l) => l.includes('traces:')) }).toEqual({
          app: p.label,
          lines: [expect.stringContaining(line)],
        });
        expect({ app: p.label, sdkModules: sdkModules(p.stderr) > 0 }).toEqual({ app: p.label, sdkModules: true });
      }
    } finally {
      await receiver.close();
    }
  });

  it('refuses an exporter it does not have: one line, exit 2', async () => {
    for (const app of ['broker', 'worker', 'client'] as const) {
      const args = app === 'broker' ? await ports() : ['127.0.0.1', '9'];
      const p = start(app, args, { OTEL_TRACES_EXPORTER: 'zipkin' });
      expect({ app, code: await p.exited }).toEqual({ app, code: 2 });
      expect(p.stderr).toContain(`${app}: OTEL_TRACES_EXPORTER=zipkin: only otlp (OTLP/HTTP) or none is supported\n`);
    }
  });
});
