// A program that traces a little, as the programs do (startTelemetry, the API's tracer), bundled
// and run by otlp-receiver.spec.ts: the exporter needs a real Node (it imports `http` on demand,
// which a Jest sandbox refuses). Prints what happened as one JSON line, then exits.
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, context, trace } from '@opentelemetry/api';
import { startTelemetry } from '@tsr/telemetry/sdk';

export interface TracedScriptResult {
  enabled: boolean;
  describe: string;
  problem?: string;
  /** The first span's ids: `request echo`. */
  parent: { traceId: string; spanId: string };
  shutdownMs: number;
  /** After shutdown: the active context is the root one again, and a tracer got now makes spans that record nothing. */
  rootAfter: boolean;
  recordingAfter: boolean;
  /** @opentelemetry modules (other than the API) evaluated, counted by the spec's esbuild plugin. */
  sdkModules: number;
}

/** The remote parent of `child of a sampled parent` (sampled); otlp-receiver.spec.ts looks for these ids. */
const REMOTE_PARENT = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331' };

async function main(): Promise<void> {
  const telemetry = await startTelemetry({ serviceName: 'tsr-test', version: '9.9.9' });
  const tracer = trace.getTracer('tsr-test');
  const parent = tracer.startSpan('request echo', {
    kind: SpanKind.CLIENT,
    attributes: { 'messaging.destination.name': 'echo', 'tsr.attempt': 1, ratio: 0.5, ok: true, list: ['a', 'b'] },
  });
  const child = tracer.startSpan('send echo', { kind: SpanKind.PRODUCER }, trace.setSpan(ROOT_CONTEXT, parent));
  child.addEvent('retry', { 'tsr.attempt': 2 });
  child.setStatus({ code: SpanStatusCode.ERROR, message: 'timeout' });
  child.end();
  parent.end();
  // The active span across an await (the context manager).
  await tracer.startActiveSpan('outer', async (outer) => {
    await new Promise((r) => setTimeout(r, 5));
    tracer.startSpan('inner').end();
    outer.end();
  });
  const remote = trace.setSpanContext(ROOT_CONTEXT, { ...REMOTE_PARENT, traceFlags: TraceFlags.SAMPLED, isRemote: true });
  tracer.startSpan('child of a sampled parent', {}, remote).end();

  const start = Date.now();
  await telemetry.shutdown();
  const result: TracedScriptResult = {
    enabled: telemetry.enabled,
    describe: telemetry.describe,
    ...(telemetry.problem ? { problem: telemetry.problem } : {}),
    parent: { traceId: parent.spanContext().traceId, spanId: parent.spanContext().spanId },
    shutdownMs: Date.now() - start,
    rootAfter: context.active() === ROOT_CONTEXT,
    recordingAfter: trace.getTracer('tsr-test').startSpan('after').isRecording(),
    sdkModules: (globalThis as { __sdkModules?: number }).__sdkModules ?? 0,
  };
  process.stdout.write(JSON.stringify(result) + '\n');
  process.exit(0); // as the programs: an export still under way does not hold the exit
}

void main();
