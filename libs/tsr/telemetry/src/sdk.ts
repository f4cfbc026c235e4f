/**
 * The programs' OpenTelemetry SDK: traces exported over OTLP/HTTP when the standard `OTEL_*`
 * variables ask for them, nothing otherwise. Off, no SDK module is loaded at all (they are
 * imported on demand), the API's tracer stays the no-op one, and a request costs a call and a check.
 *
 *   off   OTEL_SDK_DISABLED=true, or OTEL_TRACES_EXPORTER=none, or neither an exporter nor an endpoint given
 *   on    OTEL_TRACES_EXPORTER=otlp, or OTEL_EXPORTER_OTLP_ENDPOINT / OTEL_EXPORTER_OTLP_TRACES_ENDPOINT set
 *
 * A variable set to the empty string counts as unset (as the programs' own options), so a
 * deployment may pass `OTEL_EXPORTER_OTLP_ENDPOINT=${OTEL_EXPORTER_OTLP_ENDPOINT:-}` through.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { AsyncLocalStorage } from 'node:async_hooks';
import { type Context, type ContextManager, DiagConsoleLogger, DiagLogLevel, ROOT_CONTEXT, context, diag, trace } from '@opentelemetry/api';
import type { Sampler } from '@opentelemetry/sdk-trace';

export interface TelemetryOptions {
  /** `service.name` unless OTEL_SERVICE_NAME (or `service.name` in OTEL_RESOURCE_ATTRIBUTES) says otherwise: `tsr-broker`, … */
  serviceName: string;
  /** `service.version`: the release. */
  version: string;
  /** `service.instance.id`: default a random UUID, one per process. */
  instanceId?: string;
}

export interface Telemetry {
  /** True when spans are exported: a tracer provider is registered globally. */
  readonly enabled: boolean;
  /** One line for the log: `traces: OTLP/HTTP (JSON) to http://collector:4318/v1/traces, sampler parentbased_always_on`. */
  readonly describe: string;
  /**
   * True when the sampler is parent-based (`parentbased_*`): a request whose parent says "not
   * sampled" makes no recorded span, so a program may skip its spans altogether.
   */
  readonly parentBased?: boolean;
  /** When the variables are wrong (an exporter other than otlp, a sampler we do not know, a broken URL): what, on one line. The program exits 2. */
  readonly problem?: string;
  /** Exports what is left, within `SHUTDOWN_MS`, and unregisters the provider; never throws. */
  shutdown(): Promise<void>;
}

/** How long `shutdown()` waits for the last spans to leave. */
export const SHUTDOWN_MS = 2000;

/** The variables read here or by the SDK's exporter and span processor (the deployments may set these). */
export const TELEMETRY_ENV = [
  'OTEL_SDK_DISABLED',
  'OTEL_TRACES_EXPORTER',
  'OTEL_SERVICE_NAME',
  'OTEL_RESOURCE_ATTRIBUTES',
  'OTEL_TRACES_SAMPLER',
  'OTEL_TRACES_SAMPLER_ARG',
  'OTEL_LOG_LEVEL',
  ...['', 'TRACES_'].flatMap((s) =>
    ['ENDPOINT', 'PROTOCOL', 'HEADERS', 'TIMEOUT', 'COMPRESSION', 'CERTIFICATE', 'CLIENT_KEY', 'CLIENT_CERTIFICATE'].map(
      (v) => `OTEL_EXPORTER_OTLP_${s}${v}`,
    ),
  ),
  'OTEL_BSP_SCHEDULE_DELAY',
  'OTEL_BSP_EXPORT_TIMEOUT',
  'OTEL_BSP_MAX_QUEUE_SIZE',
  'OTEL_BSP_MAX_EXPORT_BATCH_SIZE',
] as const;

const SAMPLERS = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
] as const;
export type SamplerName = (typeof SAMPLERS)[number];

/** What the variables ask for. */
export type TelemetrySettings =
  | { enabled: false; reason: string }
  | { enabled: false; problem: string }
  | { enabled: true; url: string; sampler: SamplerName; ratio?: number; logLevel?: DiagLogLevel };

const DEFAULT_URL = 'http://localhost:4318/v1/traces';
const LOG_LEVELS: Record<string, DiagLogLevel> = {
  none: DiagLogLevel.NONE,
  error: DiagLogLevel.ERROR,
  warn: DiagLogLevel.WARN,
  info: DiagLogLevel.INFO,
  debug: DiagLogLevel.DEBUG,
  verbose: DiagLogLevel.VERBOSE,
  all: DiagLogLevel.ALL,
};

/** Reads the standard variables (pure: `env` in, settings out). */
export function telemetrySettings(env: NodeJS.ProcessEnv = process.env): TelemetrySettings {
  const get = (name: string) => env[name]?.trim() || undefined;
  if (get('OTEL_SDK_DISABLED')?.toLowerCase() === 'true') return { enabled: false, reason: 'OTEL_SDK_DISABLED=true' };
  const exporters = get('OTEL_TRACES_EXPORTER')
    ?.split(',')
    .map((e) => e.trim().toLowerCase())
    .filter((e) => e !== '');
  const unknown = exporters?.filter((e) => e !== 'otlp' && e !== 'none') ?? [];
  if (unknown.length > 0)
    return { enabled: false, problem: `OTEL_TRACES_EXPORTER=${get('OTEL_TRACES_EXPORTER')}: only otlp (OTLP/HTTP) or none is supported` };
  if (exporters?.includes('none')) return { enabled: false, reason: 'OTEL_TRACES_EXPORTER=none' };
  const specific = get('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  const general = get('OTEL_EXPORTER_OTLP_ENDPOINT');
  if (!exporters?.includes('otlp') && specific === undefined && general === undefined)
    return { enabled: false, reason: 'no OTLP endpoint given' };

  // As the exporter reads them: the signal's own endpoint as it is, the general one with /v1/traces appended.
  const [variable, url] =
    specific !== undefined
      ? ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', specific]
      : general !== undefined
        ? ['OTEL_EXPORTER_OTLP_ENDPOINT', general.replace(/\/*$/, '/v1/traces')]
        : ['', DEFAULT_URL];
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    // below
  }
  if (parsed?.protocol !== 'http:' && parsed?.protocol !== 'https:')
    return { enabled: false, problem: `${variable}=${specific ?? general}: not an http:// or https:// URL` };

  const protocolVariable = get('OTEL_EXPORTER_OTLP_TRACES_PROTOCOL') ? 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL' : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  const protocol = get(protocolVariable);
  if (protocol !== undefined && protocol !== 'http/json' && protocol !== 'http/protobuf')
    return {
      enabled: false,
      problem: `${protocolVariable}=${protocol}: only OTLP over HTTP is supported (http/protobuf or http/json, a collector's port 4318)`,
    };

  const sampler = (get('OTEL_TRACES_SAMPLER')?.toLowerCase() ?? 'parentbased_always_on') as SamplerName;
  if (!SAMPLERS.includes(sampler))
    return { enabled: false, problem: `OTEL_TRACES_SAMPLER=${get('OTEL_TRACES_SAMPLER')}: not one of ${SAMPLERS.join(', ')}` };
  let ratio: number | undefined;
  if (sampler.endsWith('traceidratio')) {
    const arg = get('OTEL_TRACES_SAMPLER_ARG');
    ratio = arg === undefined ? 1 : Number(arg);
    if (!Number.isFinite(ratio) || ratio < 0 || ratio > 1)
      return { enabled: false, problem: `OTEL_TRACES_SAMPLER_ARG=${arg}: the ratio must be a number from 0 to 1` };
  }

  const level = get('OTEL_LOG_LEVEL')?.toLowerCase();
  if (level !== undefined && !(level in LOG_LEVELS))
    return { enabled: false, problem: `OTEL_LOG_LEVEL=${get('OTEL_LOG_LEVEL')}: not one of ${Object.keys(LOG_LEVELS).join(', ')}` };
  return {
    enabled: true,
    url: parsed.href,
    sampler,
    ...(ratio === undefined ? {} : { ratio }),
    ...(level === undefined ? {} : { logLevel: LOG_LEVELS[level] }),
  };
}

/** The batch span processor's OTEL_BSP_* variables (milliseconds, counts); one that is not a whole number >= 0 is left to the default, as the specification says. */
export function batchOptions(env: NodeJS.ProcessEnv = process.env): {
  scheduledDelayMillis?: number;
  exportTimeoutMillis?: number;
  maxQueueSize?: number;
  maxExportBatchSize?: number;
} {
  const read = (name: string) => {
    const raw = env[name]?.trim();
    return raw && /^\d+$/.test(raw) ? Number(raw) : undefined;
  };
  const options = {
    scheduledDelayMillis: read('OTEL_BSP_SCHEDULE_DELAY'),
    exportTimeoutMillis: read('OTEL_BSP_EXPORT_TIMEOUT'),
    maxQueueSize: read('OTEL_BSP_MAX_QUEUE_SIZE'),
    maxExportBatchSize: read('OTEL_BSP_MAX_EXPORT_BATCH_SIZE'),
  };
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
}

/** `traces: OTLP/HTTP (JSON) to <url>, sampler <name> [<ratio>]`, or why not. */
export function describeSettings(s: TelemetrySettings): string {
  if (!s.enabled) return 'problem' in s ? `traces: ${s.problem}` : `traces: off (${s.reason})`;
  return `traces: OTLP/HTTP (JSON) to ${s.url}, sampler ${s.sampler}${s.ratio === undefined ? '' : ` ${s.ratio}`}`;
}

const off = (settings: TelemetrySettings): Telemetry => ({
  enabled: false,
  describe: describeSettings(settings),
  ...('problem' in settings ? { problem: settings.problem } : {}),
  shutdown: async () => {},
});

/**
 * Starts the SDK when the variables ask for traces: a tracer provider with this program's resource
 * and the sampler they name, a batch span processor over the OTLP/HTTP exporter (which reads its
 * headers, timeout, compression and certificates from them itself; the processor's OTEL_BSP_* are
 * read here, `batchOptions`, since the 3.x SDK no longer does), registered globally with a context
 * manager on AsyncLocalStorage. Otherwise loads nothing.
 */
export async function startTelemetry(options: TelemetryOptions): Promise<Telemetry> {
  const settings = telemetrySettings(process.env);
  if (!settings.enabled) return off(settings);
  if (settings.logLevel !== undefined) diag.setLogger(new DiagConsoleLogger(), settings.logLevel);

  const [sdk, { OTLPTraceExporter }, resources] = await Promise.all([
    import('@opentelemetry/sdk-trace'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
  ]);
  const ratioOrAlways = (kind: string): Sampler =>
    kind.endsWith('traceidratio')
      ? new sdk.TraceIdRatioBasedSampler(settings.ratio)
      : kind.endsWith('always_off')
        ? new sdk.AlwaysOffSampler()
        : new sdk.AlwaysOnSampler();
  const sampler = settings.sampler.startsWith('parentbased_')
    ? new sdk.ParentBasedSampler({ root: ratioOrAlways(settings.sampler) })
    : ratioOrAlways(settings.sampler);
  // Later wins: the SDK's (telemetry.sdk.*), ours, then OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME.
  const resource = resources
    .defaultResource()
    .merge(
      resources.resourceFromAttributes({
        'service.name': options.serviceName,
        'service.version': options.version,
        'service.instance.id': options.instanceId ?? randomUUID(),
        'host.name': hostname(),
      }),
    )
    .merge(resources.detectResources({ detectors: [resources.envDetector] }));
  const provider = new sdk.TracerProvider({
    resource,
    sampler,
    spanProcessors: [new sdk.BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url: settings.url }), ...batchOptions(process.env) })],
  });
  const contextManager = new AsyncLocalContextManager();
  context.setGlobalContextManager(contextManager);
  trace.setGlobalTracerProvider(provider);

  let stopped: Promise<void> | undefined;
  return {
    enabled: true,
    describe: describeSettings(settings),
    parentBased: settings.sampler.startsWith('parentbased_'),
    shutdown: () =>
      (stopped ??= (async () => {
        let timer: NodeJS.Timeout | undefined;
        try {
          await Promise.race([
            provider.shutdown(),
            new Promise<void>((resolve) => {
              timer = setTimeout(resolve, SHUTDOWN_MS);
              timer.unref();
            }),
          ]);
        } catch {
          // a collector that cannot be reached: the spans are lost, the program stops all the same
        } finally {
          clearTimeout(timer);
          trace.disable();
          context.disable();
          if (settings.logLevel !== undefined) diag.disable();
        }
      })()),
  };
}

/** The active context across `await`s (what @opentelemetry/context-async-hooks does), for `context.with` and `startActiveSpan`. */
class AsyncLocalContextManager implements ContextManager {
  private readonly storage = new AsyncLocalStorage<Context>();

  active(): Context {
    return this.storage.getStore() ?? ROOT_CONTEXT;
  }

  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    ctx: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    return this.storage.run(ctx, () => fn.apply(thisArg, args));
  }

  bind<T>(ctx: Context, target: T): T {
    if (typeof target !== 'function') return target;
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const manager = this;
    return function (this: unknown, ...args: unknown[]) {
      return manager.with(ctx, () => (target as (...a: unknown[]) => unknown).apply(this, args));
    } as T;
  }

  enable(): this {
    return this;
  }

  disable(): this {
    this.storage.disable();
    return this;
  }
}
