/**
 * A request's metadata frame (docs/protocol.md, "Metadata"), built once per send from parts the
 * request computes once: the caller's own headers (checked and written out at `request()`), the
 * trace headers of the attempt (written out when the attempt starts, where there is a trace), and
 * `timeout-ms`, the request's remaining time at the moment of sending. No header is encoded twice,
 * and a request with none of them sends no metadata frame.
 */
import { INVALID_SPAN_CONTEXT, type Span } from '@opentelemetry/api';
import {
  type Headers,
  MAX_HEADERS,
  MAX_METADATA_BYTES,
  TIMEOUT_HEADER,
  TRACEPARENT_HEADER,
  TRACESTATE_HEADER,
  encodeMetadata,
  timeoutFrame,
  timeoutLine,
  withTimeout,
} from '@tsr/protocol';
import { traceHeaders } from '@tsr/telemetry';

/** The caller's headers as the metadata frame holds them (`name: value\r\n` lines), and how many. */
export interface UserHeaders {
  readonly text: string;
  readonly count: number;
}

export const NO_HEADERS: UserHeaders = { text: '', count: 0 };

/** The headers the client writes itself: the request's deadline and its trace. */
const SYSTEM_HEADERS: ReadonlySet<string> = new Set([TIMEOUT_HEADER, TRACEPARENT_HEADER, TRACESTATE_HEADER]);

/**
 * The caller's `headers`, checked by the rules of the metadata frame together with the
 * `timeout-ms` of a request whose budget is `budgetMs` (0: none): throws a TypeError for a header
 * that cannot be sent or is the system's, a RangeError past the bounds.
 */
export function userHeaders(headers: Headers, budgetMs: number): UserHeaders {
  if (typeof headers !== 'object' || headers === null) throw new TypeError('headers must be an object of name: value');
  for (const name in headers)
    if (SYSTEM_HEADERS.has(name) && headers[name] !== undefined)
      throw new TypeError(`header ${name} is the client's own (the request's deadline and trace): it cannot be set by the caller`);
  if (budgetMs > 0) encodeMetadata(withTimeout(headers, budgetMs)); // within the bounds with the deadline it will carry
  const text = encodeMetadata(headers).toString('latin1');
  let count = 0;
  for (let at = text.indexOf('\r\n'); at >= 0; at = text.indexOf('\r\n', at + 2)) count++;
  return count === 0 ? NO_HEADERS : { text, count };
}

/**
 * The trace header lines for `span` ('' when it belongs to no trace), within the room the other
 * headers leave: `tracestate` is left out first, then `traceparent` (the request goes, its trace
 * breaks at this hop) when the caller's headers take the frame's bounds.
 */
export function traceLines(span: Span, user: UserHeaders, budgetMs: number): string {
  if (span.spanContext() === INVALID_SPAN_CONTEXT) return ''; // no SDK, no trace: not even a check of the ids
  const own = traceHeaders(span);
  if (!own) return '';
  const parent = `${TRACEPARENT_HEADER}: ${own.traceparent}\r\n`;
  const state = own.tracestate ? `${TRACESTATE_HEADER}: ${own.tracestate}\r\n` : '';
  const taken = budgetMs > 0 ? timeoutLine(budgetMs) : '';
  const fits = (lines: string, count: number) =>
    user.count + (taken ? 1 : 0) + count <= MAX_HEADERS && user.text.length + taken.length + lines.length <= MAX_METADATA_BYTES;
  if (state && fits(parent + state, 2)) return parent + state;
  return fits(parent, 1) ? parent : '';
}

/** The metadata frame of one send, or undefined for none: `remainingMs` undefined for a request without a deadline. */
export function metadataFrame(remainingMs: number | undefined, trace: string, user: UserHeaders): Buffer | undefined {
  if (remainingMs !== undefined && trace.length === 0 && user.count === 0) return timeoutFrame(remainingMs); // the common frame
  const text = (remainingMs === undefined ? '' : timeoutLine(remainingMs)) + trace + user.text;
  return text.length === 0 ? undefined : Buffer.from(text, 'latin1');
}
