import type { Span } from '@opentelemetry/api';
import {
  type Headers,
  MAX_HEADERS,
  MAX_METADATA_BYTES,
  TIMEOUT_HEADER,
  TRACEPARENT_HEADER,
  TRACESTATE_HEADER,
  timeoutLine,
} from '@tsr/protocol';
import { traceHeaders } from '@tsr/telemetry';

/**
 * A request's metadata as the broker forwards it to a worker: the client's headers, `timeout-ms`
 * rewritten to the time left (rounded up: a request the broker sends has at least 1 ms left), and
 * the dispatch span's trace context where there is one. The client's headers were checked when
 * they came, and the time left is never longer than the one they carried, so only the trace
 * headers can take the frame past its bounds: then the client's own trace headers go instead.
 * Written straight out, once per dispatch: no copies of the headers, no second check.
 */
export function forwardedMetadata(headers: Headers, remainingMs: number, span: Span | undefined): Buffer | undefined {
  const timed = remainingMs !== Infinity;
  const trace = span && traceHeaders(span);
  let text = timed ? timeoutLine(Math.ceil(remainingMs)) : '';
  let count = timed ? 1 : 0;
  let theirs = '';
  for (const name in headers) {
    if (timed && name === TIMEOUT_HEADER) continue;
    const line = `${name}: ${headers[name]}\r\n`;
    if (trace && (name === TRACEPARENT_HEADER || name === TRACESTATE_HEADER)) theirs += line;
    else {
      text += line;
      count++;
    }
  }
  if (trace) {
    const ours = `${TRACEPARENT_HEADER}: ${trace.traceparent}\r\n${trace.tracestate ? `${TRACESTATE_HEADER}: ${trace.tracestate}\r\n` : ''}`;
    const fits = count + (trace.tracestate ? 2 : 1) <= MAX_HEADERS && text.length + ours.length <= MAX_METADATA_BYTES;
    text += fits ? ours : theirs;
  }
  return text.length > 0 ? Buffer.from(text, 'latin1') : undefined;
}
