import type { Span } from '@opentelemetry/api';
import {
  CheckedMetadata,
  MAX_HEADERS,
  MAX_METADATA_BYTES,
  TIMEOUT_HEADER,
  TRACEPARENT_HEADER,
  TRACESTATE_HEADER,
  metadataLine,
  timeoutFrame,
  timeoutLine,
  withoutLine,
} from '@tsr/protocol';
import { traceHeaders } from '@tsr/telemetry';

/**
 * A request's metadata as the broker forwards it to a worker: the client's headers, `timeout-ms`
 * rewritten to the time left (rounded up: a request the broker sends has at least 1 ms left), and
 * the dispatch span's trace context where there is one. The client's headers were checked when
 * they came, and the time left is never longer than the one they carried, so only the trace
 * headers can take the frame past its bounds: then the client's own trace headers go instead.
 * Written on the frame's text as it came: its `timeout-ms` line replaced (our client writes it
 * first, so that is a slice), its trace lines where the broker traces; no object of the headers.
 * A frame of `timeout-ms` alone (our client's, untraced) is written anew, without its text.
 */
export function forwardedMetadata(metadata: CheckedMetadata, remainingMs: number, span: Span | undefined): Buffer | undefined {
  if (span === undefined && remainingMs !== Infinity && (metadata.count === 0 || metadata.timeoutOnly))
    return timeoutFrame(Math.ceil(remainingMs));
  let { text, count } = metadata;
  if (remainingMs !== Infinity) {
    const at = count === 0 ? -1 : metadataLine(text, TIMEOUT_HEADER);
    if (at >= 0) text = withoutLine(text, at);
    else count++;
    text = timeoutLine(Math.ceil(remainingMs)) + text;
  }
  const trace = span && traceHeaders(span);
  if (trace) {
    let rest = text;
    let left = count;
    for (const name of [TRACEPARENT_HEADER, TRACESTATE_HEADER]) {
      const at = metadataLine(rest, name);
      if (at < 0) continue;
      rest = withoutLine(rest, at);
      left--;
    }
    const ours = `${TRACEPARENT_HEADER}: ${trace.traceparent}\r\n${trace.tracestate ? `${TRACESTATE_HEADER}: ${trace.tracestate}\r\n` : ''}`;
    if (left + (trace.tracestate ? 2 : 1) <= MAX_HEADERS && rest.length + ours.length <= MAX_METADATA_BYTES) text = rest + ours;
  }
  return text.length > 0 ? Buffer.from(text, 'latin1') : undefined;
}

/** What the broker keeps of a frame of `timeout-ms` alone: its time left is the request's deadline. */
const TIMEOUT_ONLY = new CheckedMetadata(timeoutLine(0), 1, 0);

/**
 * A request's metadata as it waits in the broker: its text, never a view of the client's message
 * (which it would keep alive whole); for the frame our client sends, not even that.
 */
export const keptMetadata = (metadata: CheckedMetadata): CheckedMetadata => (metadata.timeoutOnly ? TIMEOUT_ONLY : metadata.kept());
