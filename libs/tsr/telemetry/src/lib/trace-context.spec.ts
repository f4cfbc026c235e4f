import { ROOT_CONTEXT, TraceFlags, createTraceState, trace } from '@opentelemetry/api';
import { contextFromHeaders, remoteSpanContext, traceHeaders, traceHeadersOf, unsampledParent } from '..';

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

  it("reads them from a metadata frame's text, and says when the parent is valid and not sampled", () => {
    const frame = (traceparent: string) => `timeout-ms: 400\r\ntraceparent: ${traceparent}\r\nx-user: ann\r\n`;
    expect(traceHeadersOf(frame(`00-${traceId}-${spanId}-01`))).toEqual({ traceparent: `00-${traceId}-${spanId}-01` });
    expect(traceHeadersOf(`tracestate: k=v\r\ntraceparent: 00-${traceId}-${spanId}-01\r\n`)).toEqual({
      traceparent: `00-${traceId}-${spanId}-01`,
      tracestate: 'k=v',
    });
    expect(traceHeadersOf('timeout-ms: 400\r\n')).toBeUndefined();
    expect(traceHeadersOf('')).toBeUndefined();
    // not sampled: flags bit 0 clear, whatever the other bits say
    expect(unsampledParent(frame(`00-${traceId}-${spanId}-00`))).toBe(true);
    expect(unsampledParent(frame(`00-${traceId}-${spanId}-02`))).toBe(true);
    expect(unsampledParent(frame(`00-${traceId}-${spanId}-01`))).toBe(false);
    expect(unsampledParent(frame(`00-${traceId}-${spanId}-03`))).toBe(false);
    // no parent, or one that is not valid: the sampler decides as for a root, so not "unsampled"
    expect(unsampledParent('timeout-ms: 400\r\n')).toBe(false);
    expect(unsampledParent('')).toBe(false);
    expect(unsampledParent(frame(`00-${'0'.repeat(32)}-${spanId}-00`))).toBe(false);
    expect(unsampledParent(frame(`00-${traceId}-${spanId}`))).toBe(false);
  });
});
