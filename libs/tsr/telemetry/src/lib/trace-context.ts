/**
 * W3C Trace Context in a request's metadata, with OpenTelemetry's API alone: the client, the broker
 * and the worker continue one trace across the processes. Without an SDK registered, the API's
 * tracer makes spans that record nothing, and a request whose context holds no valid span carries
 * no trace headers, so tracing off costs a call and a check per request.
 */
import {
  type Context,
  INVALID_SPAN_CONTEXT,
  ProxyTracerProvider,
  ROOT_CONTEXT,
  type Span,
  type SpanContext,
  TraceFlags,
  type Tracer,
  createTraceState,
  isSpanContextValid,
  trace,
} from '@opentelemetry/api';
import { type Headers, TRACEPARENT_HEADER, TRACESTATE_HEADER, metadataValue } from '@tsr/protocol';

/** The instrumentation scope of every span of ours. */
export const TRACER_NAME = 'tsr-broker';

/** Our tracer (a proxy: it follows whatever SDK is registered, now or later). */
export const tracer = (): Tracer => trace.getTracer(TRACER_NAME);

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const hex2 = (n: number) => (n < 16 ? '0' : '') + n.toString(16);

/** `traceparent` (and `tracestate`) for a span, or undefined when it belongs to no trace. */
export function traceHeaders(span: Span | SpanContext): { traceparent: string; tracestate?: string } | undefined {
  const sc = 'spanContext' in span ? span.spanContext() : span;
  if (!isSpanContextValid(sc)) return undefined;
  const traceparent = `00-${sc.traceId}-${sc.spanId}-${hex2(sc.traceFlags & 0xff)}`;
  const tracestate = sc.traceState?.serialize();
  return tracestate ? { traceparent, tracestate } : { traceparent };
}

/** The remote span context a request's `traceparent` names (version 00, W3C), or undefined for none or a broken one. */
export function remoteSpanContext(headers: Headers | undefined): SpanContext | undefined {
  const parent = headers?.[TRACEPARENT_HEADER];
  const m = parent === undefined ? null : TRACEPARENT.exec(parent);
  if (!m) return undefined;
  const state = headers?.[TRACESTATE_HEADER];
  const sc: SpanContext = {
    traceId: m[1],
    spanId: m[2],
    traceFlags: parseInt(m[3], 16),
    isRemote: true,
    ...(state ? { traceState: createTraceState(state) } : {}),
  };
  return isSpanContextValid(sc) ? sc : undefined;
}

/** A context whose parent is the request's remote span (ROOT_CONTEXT's child), or `base` when the request carries none. */
export function contextFromHeaders(headers: Headers | undefined, base: Context = ROOT_CONTEXT): Context {
  const sc = remoteSpanContext(headers);
  return sc ? trace.setSpanContext(base, sc) : base;
}

/** What the API's proxy delegates to while no SDK is registered (its no-op provider). */
const NOOP_PROVIDER = new ProxyTracerProvider().getDelegate();

/** Whether a program registered an SDK (a tracer provider): without one no span records, so none need be started. */
export function sdkRegistered(): boolean {
  const provider = trace.getTracerProvider();
  return !(provider instanceof ProxyTracerProvider) || provider.getDelegate() !== NOOP_PROVIDER;
}

/** The trace headers of a checked metadata frame's text (only those two: what contextFromHeaders reads). */
export function traceHeadersOf(text: string): Headers | undefined {
  const traceparent = text.length === 0 ? undefined : metadataValue(text, TRACEPARENT_HEADER);
  if (traceparent === undefined) return undefined;
  const tracestate = metadataValue(text, TRACESTATE_HEADER);
  return tracestate === undefined ? { traceparent } : { traceparent, tracestate };
}

/** contextFromHeaders for a checked metadata frame's text. */
export const contextFromMetadata = (text: string, base: Context = ROOT_CONTEXT): Context => contextFromHeaders(traceHeadersOf(text), base);

/**
 * The context a request's handler sees where no span was started (no SDK): its remote parent's
 * span context, or an invalid one, as the API's no-op tracer would have made it.
 */
export function contextWithoutSpan(text: string): Context {
  const sc = remoteSpanContext(traceHeadersOf(text));
  return trace.setSpanContext(ROOT_CONTEXT, sc ?? INVALID_SPAN_CONTEXT);
}

/**
 * Whether a checked metadata frame's `traceparent` is a valid one that says "not sampled" (flags
 * bit 0 clear): under a parent-based sampler no span of that request records.
 */
export function unsampledParent(text: string): boolean {
  const traceparent = text.length === 0 ? undefined : metadataValue(text, TRACEPARENT_HEADER);
  const sc = traceparent === undefined ? undefined : remoteSpanContext({ traceparent });
  return sc !== undefined && (sc.traceFlags & TraceFlags.SAMPLED) === 0;
}
