import { TraceFlags, trace } from '@opentelemetry/api';
import {
  type CheckedMetadata,
  type Headers,
  MAX_HEADERS,
  MAX_METADATA_BYTES,
  checkMetadata,
  encodeMetadata,
  parseMetadata,
} from '@tsr/protocol';
import { forwardedMetadata as forwardedChecked, keptMetadata } from './forwarded-metadata';

const span = trace.wrapSpanContext({
  traceId: '0af7651916cd43dd8448eb211c80319c',
  spanId: 'b7ad6b7169203331',
  traceFlags: TraceFlags.SAMPLED,
});
/** The function on the frame the headers make (as the broker gets it: checked). */
const forwardedMetadata = (headers: Headers, remainingMs: number, s: typeof span | undefined) =>
  forwardedChecked(checkMetadata(encodeMetadata(headers)) as CheckedMetadata, remainingMs, s);
const read = (frame: Buffer | undefined) => (frame ? { ...(parseMetadata(frame) as object) } : undefined);

describe('the metadata the broker forwards to a worker', () => {
  it("rewrites timeout-ms to the time left, rounded up, and keeps the client's other headers", () => {
    expect(read(forwardedMetadata({ 'timeout-ms': '400', tenant: 'acme' }, 123.2, undefined))).toEqual({
      'timeout-ms': '124',
      tenant: 'acme',
    });
    expect(read(forwardedMetadata({ tenant: 'acme' }, Infinity, undefined))).toEqual({ tenant: 'acme' });
    expect(forwardedMetadata({}, Infinity, undefined)).toBeUndefined();
    // the client's frame of timeout-ms alone, and a request without one given a deadline by the broker
    expect(forwardedMetadata({ 'timeout-ms': '400' }, 123.2, undefined)?.toString()).toBe('timeout-ms: 124\r\n');
    expect(forwardedMetadata({}, 30_000, undefined)?.toString()).toBe('timeout-ms: 30000\r\n');
  });

  it('is forwarded the same from what the broker keeps while the request waits, which is no view of its message', () => {
    for (const headers of [{ 'timeout-ms': '400' }, { 'timeout-ms': '400', tenant: 'acme' }, { tenant: 'acme' }] as Headers[]) {
      const frame = encodeMetadata(headers);
      const message = Buffer.concat([Buffer.from('head'), frame, Buffer.from('tail')]);
      const kept = keptMetadata(checkMetadata(message.subarray(4, 4 + frame.length)) as CheckedMetadata);
      message.fill(0); // the message's memory, reused
      for (const s of [undefined, span]) expect(read(forwardedChecked(kept, 250.5, s))).toEqual(read(forwardedMetadata(headers, 250.5, s)));
    }
  });

  it("puts the dispatch span's context in place of the client's", () => {
    expect(read(forwardedMetadata({ 'timeout-ms': '400', traceparent: 'theirs', tracestate: 'a=1' }, 300, span))).toEqual({
      'timeout-ms': '300',
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    });
  });

  it("keeps the client's trace headers where its own would take the frame past its bounds", () => {
    const big = { big: 'x'.repeat(MAX_METADATA_BYTES - 60) }; // room for the client's short traceparent, not for ours
    expect(read(forwardedMetadata({ ...big, 'timeout-ms': '400', traceparent: 'theirs' }, 300, span))).toEqual({
      ...big,
      'timeout-ms': '300',
      traceparent: 'theirs',
    });
    const fuller = Object.fromEntries(Array.from({ length: MAX_HEADERS - 1 }, (_, i) => [`h${i}`, 'x']));
    expect(read(forwardedMetadata({ ...fuller, 'timeout-ms': '400' }, 300, span))).toEqual({ ...fuller, 'timeout-ms': '300' });
  });
});
