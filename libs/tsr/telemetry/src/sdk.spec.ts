// The SDK's switch: which variables turn traces on, what is refused, and that off loads nothing.
// A span reaching a collector: apps/service-e2e/src/process/otlp-receiver.spec.ts (real HTTP).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isSpanContextValid, trace } from '@opentelemetry/api';
import { batchOptions, describeSettings, startTelemetry, telemetrySettings } from './sdk';

const WORKSPACE = join(__dirname, '..', '..', '..', '..');

describe('telemetrySettings: the standard variables', () => {
  it('is off without them, and counts an empty variable as unset', () => {
    expect(telemetrySettings({})).toEqual({ enabled: false, reason: 'no OTLP endpoint given' });
    expect(
      telemetrySettings({ OTEL_EXPORTER_OTLP_ENDPOINT: '', OTEL_TRACES_EXPORTER: ' ', OTEL_TRACES_SAMPLER: '', OTEL_SERVICE_NAME: '' }),
    ).toEqual({ enabled: false, reason: 'no OTLP endpoint given' });
  });

  it('is on with an endpoint or OTEL_TRACES_EXPORTER=otlp, the URL as the exporter makes it', () => {
    expect(telemetrySettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toEqual({
      enabled: true,
      url: 'http://collector:4318/v1/traces',
      sampler: 'parentbased_always_on',
    });
    expect(telemetrySettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://c.example/otlp/' })).toMatchObject({
      url: 'https://c.example/otlp/v1/traces',
    });
    // The signal's own endpoint is taken as it is, and wins.
    expect(
      telemetrySettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://b:9/traces' }),
    ).toMatchObject({ url: 'http://b:9/traces' });
    expect(telemetrySettings({ OTEL_TRACES_EXPORTER: 'otlp' })).toMatchObject({ enabled: true, url: 'http://localhost:4318/v1/traces' });
    expect(telemetrySettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' })).toMatchObject(
      {
        enabled: true,
      },
    );
  });

  it('is off when told so, whatever else is set', () => {
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' };
    expect(telemetrySettings({ ...endpoint, OTEL_SDK_DISABLED: 'TRUE' })).toEqual({ enabled: false, reason: 'OTEL_SDK_DISABLED=true' });
    expect(telemetrySettings({ ...endpoint, OTEL_SDK_DISABLED: 'false' })).toMatchObject({ enabled: true });
    expect(telemetrySettings({ ...endpoint, OTEL_TRACES_EXPORTER: 'none' })).toEqual({
      enabled: false,
      reason: 'OTEL_TRACES_EXPORTER=none',
    });
  });

  it('reads the sampler and its ratio', () => {
    const on = (env: NodeJS.ProcessEnv) => telemetrySettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', ...env });
    expect(on({ OTEL_TRACES_SAMPLER: 'always_off' })).toMatchObject({ sampler: 'always_off' });
    expect(on({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.01' })).toMatchObject({
      sampler: 'parentbased_traceidratio',
      ratio: 0.01,
    });
    expect(on({ OTEL_TRACES_SAMPLER: 'traceidratio' })).toMatchObject({ sampler: 'traceidratio', ratio: 1 });
    expect(describeSettings(on({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.01' }))).toBe(
      'traces: OTLP/HTTP (JSON) to http://c:4318/v1/traces, sampler parentbased_traceidratio 0.01',
    );
    expect(describeSettings(on({}))).toBe('traces: OTLP/HTTP (JSON) to http://c:4318/v1/traces, sampler parentbased_always_on');
  });

  it('refuses, on one line, what it cannot do', () => {
    const problem = (env: NodeJS.ProcessEnv) => (telemetrySettings(env) as { problem?: string }).problem;
    expect(problem({ OTEL_TRACES_EXPORTER: 'zipkin' })).toBe('OTEL_TRACES_EXPORTER=zipkin: only otlp (OTLP/HTTP) or none is supported');
    expect(problem({ OTEL_TRACES_EXPORTER: 'otlp,console' })).toMatch(/^OTEL_TRACES_EXPORTER=otlp,console: only otlp/);
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' };
    expect(problem({ ...endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toMatch(/^OTEL_EXPORTER_OTLP_PROTOCOL=grpc: only OTLP over HTTP/);
    expect(problem({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' })).toBe(
      'OTEL_EXPORTER_OTLP_ENDPOINT=collector:4318: not an http:// or https:// URL',
    );
    expect(problem({ ...endpoint, OTEL_TRACES_SAMPLER: 'jaeger_remote' })).toMatch(
      /^OTEL_TRACES_SAMPLER=jaeger_remote: not one of always_on, /,
    );
    expect(problem({ ...endpoint, OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '2' })).toBe(
      'OTEL_TRACES_SAMPLER_ARG=2: the ratio must be a number from 0 to 1',
    );
    expect(problem({ ...endpoint, OTEL_LOG_LEVEL: 'loud' })).toMatch(/^OTEL_LOG_LEVEL=loud: not one of none, error/);
  });
});

describe('batchOptions: the OTEL_BSP_* variables of the batch span processor', () => {
  it('passes whole numbers on and leaves the rest to the defaults of the processor', () => {
    expect(batchOptions({})).toEqual({});
    expect(
      batchOptions({
        OTEL_BSP_SCHEDULE_DELAY: '1000',
        OTEL_BSP_EXPORT_TIMEOUT: ' 5000 ',
        OTEL_BSP_MAX_QUEUE_SIZE: '4096',
        OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '256',
      }),
    ).toEqual({ scheduledDelayMillis: 1000, exportTimeoutMillis: 5000, maxQueueSize: 4096, maxExportBatchSize: 256 });
    expect(batchOptions({ OTEL_BSP_SCHEDULE_DELAY: 'soon', OTEL_BSP_MAX_QUEUE_SIZE: '-1', OTEL_BSP_EXPORT_TIMEOUT: '' })).toEqual({});
  });
});

describe('startTelemetry', () => {
  const saved = { ...process.env };
  afterEach(() => {
    for (const k of Object.keys(process.env)) if (k.startsWith('OTEL_')) delete process.env[k];
    Object.assign(process.env, saved);
  });

  it('off: registers nothing, and the API keeps making spans that record nothing', async () => {
    for (const k of Object.keys(process.env)) if (k.startsWith('OTEL_')) delete process.env[k];
    const telemetry = await startTelemetry({ serviceName: 'tsr-test', version: '0' });
    expect(telemetry).toMatchObject({ enabled: false, describe: 'traces: off (no OTLP endpoint given)' });
    expect(telemetry.problem).toBeUndefined();
    const span = trace.getTracer('x').startSpan('nothing');
    expect(span.isRecording()).toBe(false);
    expect(isSpanContextValid(span.spanContext())).toBe(false);
    await expect(telemetry.shutdown()).resolves.toBeUndefined();
  });

  it('says what is wrong and starts nothing', async () => {
    process.env['OTEL_TRACES_EXPORTER'] = 'jaeger';
    const telemetry = await startTelemetry({ serviceName: 'tsr-test', version: '0' });
    expect(telemetry).toMatchObject({ enabled: false, problem: 'OTEL_TRACES_EXPORTER=jaeger: only otlp (OTLP/HTTP) or none is supported' });
    expect(trace.getTracer('x').startSpan('nothing').isRecording()).toBe(false);
  });
});

/**
 * The @opentelemetry packages loaded by a fresh Node process that starts telemetry with `env`
 * (TypeScript through tsx). A resolve hook sees them all, required (CommonJS) or imported (the SDK's
 * ES modules, which tsx's `import()` loads): Node's module cache lists only the former.
 */
function packagesLoaded(env: NodeJS.ProcessEnv): { describe: string; packages: string[] } {
  const script = `
    const packages = new Set();
    require('node:module').registerHooks({
      resolve(specifier, context, next) {
        const resolved = next(specifier, context);
        const name = /node_modules\\/(@opentelemetry\\/[^/]+)/.exec(resolved.url)?.[1];
        if (name) packages.add(name);
        return resolved;
      },
    });
    const { startTelemetry } = require(${JSON.stringify(join(__dirname, 'sdk.ts'))});
    startTelemetry({ serviceName: 'tsr-test', version: '0' }).then(async (t) => {
      await t.shutdown();
      process.stdout.write(JSON.stringify({ describe: t.describe, packages: [...packages].sort() }));
    });`;
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OTEL_')));
  const run = spawnSync(process.execPath, ['--import', pathToFileURL(require.resolve('tsx')).href, '-e', script], {
    cwd: WORKSPACE,
    env: { ...clean, ...env, NODE_NO_WARNINGS: '1', TSX_TSCONFIG_PATH: join(WORKSPACE, 'tsconfig.base.json') },
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`starting telemetry failed: ${run.stderr}`);
  return JSON.parse(run.stdout);
}

describe('the cost of traces off', () => {
  it('loads no SDK module: only the API, which the programs use anyway', () => {
    expect(packagesLoaded({})).toEqual({ describe: 'traces: off (no OTLP endpoint given)', packages: ['@opentelemetry/api'] });
  });

  it('loads the SDK, the exporter and the resources only when on (so the check above sees them)', () => {
    // An endpoint nothing listens on: with no span to export, nothing is sent.
    const { describe, packages } = packagesLoaded({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' });
    expect(describe).toBe('traces: OTLP/HTTP (JSON) to http://127.0.0.1:9/v1/traces, sampler parentbased_always_on');
    expect(packages).toEqual(
      expect.arrayContaining([
        '@opentelemetry/api',
        '@opentelemetry/sdk-trace',
        '@opentelemetry/exporter-trace-otlp-http',
        '@opentelemetry/resources',
      ]),
    );
  });
});
