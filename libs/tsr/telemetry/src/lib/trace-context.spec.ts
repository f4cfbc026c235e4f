import { ROOT_CONTEXT, TraceFlags, createTraceState, trace } from '@opentelemetry/api';
import { contextFromHeaders, remoteSpanContext, traceHeaders } from '..';

const traceId = '0af7651916cd43dd8448eb211c80319c';
const spanId = 'b7ad6b7169203331';

describe('W3C Trace Context in the metadata', () => {
  it('writes traceparent (and tracestate) for a span of a trace, nothing for none', () => {
    const span = trace.wrapSpanContext({ traceId, spanId, traceFlags: TraceFlags.SAMPLED, traceState: createTraceState('a=1,b=2') });
    expect(traceHeaders(span)).toEqual({ traceparent: `00-${traceId}-${spanId}-01`, tracestate: 'a=1,b=2' });
    expect(traceHeaders(trace.wrapSpanContext({ traceId, spanId, traceFlags: TraceFlags.NONE }))).toEqual({
      traceparent: `00-${traceId}-${spanId}-00`,
    });
    expect(traceHeaders(trace.getTracer('x').startSpan('no SDK'))).toBeUndefined();
  });

  it('reads them back as a remote parent, and ignores broken ones', () => {
    const sc = remoteSpanContext({ traceparent: `00-${traceId}-${spanId}-01`, tracestate: 'k=v' });
    expect(sc).toMatchObject({ traceId, spanId, traceFlags: 1, isRemote: true });
    expect(sc?.traceState?.get('k')).toBe('v');
    const ctx = contextFromHeaders({ traceparent: `00-${traceId}-${spanId}-00` });
    expect(trace.getSpanContext(ctx)).toMatchObject({ traceId, spanId, traceFlags: 0 });
    for (const broken of [
      '',
      `01-${traceId}-${spanId}-01`,
      `00-${'0'.repeat(32)}-${spanId}-01`,
      `00-${traceId.toUpperCase()}-${spanId}-01`,
    ])
      expect(remoteSpanContext({ traceparent: broken })).toBeUndefined();
    expect(contextFromHeaders(undefined)).toBe(ROOT_CONTEXT);
  });
});
