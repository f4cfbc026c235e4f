import type { Span } from '@opentelemetry/api';
import { type Headers, encodeMetadata, withTimeout } from '@tsr/protocol';
import { withTraceHeaders, withoutTraceHeaders } from '@tsr/telemetry';

/**
 * A request's metadata as the broker forwards it to a worker: the client's headers, `timeout-ms`
 * rewritten to the time left (rounded up: a request the broker sends has at least 1 ms left), and
 * the dispatch span's trace context where there is one. Never throws: where the broker's additions
 * would take the headers past their bounds, the client's own go (at worst none at all).
 */
export function forwardedMetadata(headers: Headers, remainingMs: number, span: Span | undefined): Buffer | undefined {
  const timed = remainingMs === Infinity ? headers : withTimeout(headers, Math.ceil(remainingMs));
  for (const candidate of [span ? withTraceHeaders(timed, span) : timed, timed, withoutTraceHeaders(headers)]) {
    try {
      return encodeMetadata(candidate);
    } catch {
      // past a bound: the next, smaller candidate
    }
  }
  return undefined;
}
