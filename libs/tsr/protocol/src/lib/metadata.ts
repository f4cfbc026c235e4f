/**
 * Request metadata (TSR/1): a few named text values that travel with a request, as NATS headers
 * and HTTP/2 headers do, in one frame of their own (docs/protocol.md, "Metadata"):
 *
 *   name: value\r\n name: value\r\n …      (no headers: an empty frame)
 *
 * Names are lowercase (`a-z 0-9 . _ -`, starting with a letter or digit, at most 64 bytes), so
 * there is one spelling of each; values are printable ASCII. A frame holds at most MAX_HEADERS
 * headers and MAX_METADATA_BYTES bytes, and a name at most once. Seed peers never see metadata:
 * a client sends it in a form only our broker reads, and the broker forwards it only to workers
 * that accepted its offer (`TSR/1 META`).
 *
 * The names the system itself reads: `timeout-ms` (the request's remaining time), and W3C Trace
 * Context's `traceparent` and `tracestate`.
 */

export type Headers = Readonly<Record<string, string>>;

/** Most headers a request carries. */
export const MAX_HEADERS = 32;
/** Most bytes a request's metadata frame holds. */
export const MAX_METADATA_BYTES = 4096;
/** The request's remaining time when it was sent, in ms (an integer, 0 to MAX_TIMEOUT_MS): relative, so clocks need not agree. */
export const TIMEOUT_HEADER = 'timeout-ms';
export const TRACEPARENT_HEADER = 'traceparent';
export const TRACESTATE_HEADER = 'tracestate';
/** Longest timeout a request may carry (a timer's limit, about 24.8 days). */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

const NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const VALUE = /^[\x20-\x7e]*$/;

/** Why `name: value` cannot be a header, or undefined if it can. */
export function headerProblem(name: string, value: string): string | undefined {
  if (!NAME.test(name)) return `header name ${JSON.stringify(name.slice(0, 70))} must be 1-64 of a-z 0-9 . _ - (lowercase)`;
  if (typeof value !== 'string' || !VALUE.test(value)) return `header ${name} must have a printable ASCII value`;
  return undefined;
}

/**
 * The metadata frame of `headers` (undefined values skipped). Throws a TypeError that says what
 * is wrong for a header that cannot be sent, or a RangeError past the bounds.
 */
export function encodeMetadata(headers: Headers): Buffer {
  let text = '';
  let count = 0;
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    const problem = headerProblem(name, value);
    if (problem) throw new TypeError(problem);
    text += `${name}: ${value}\r\n`;
    count++;
  }
  if (count > MAX_HEADERS) throw new RangeError(`a request carries at most ${MAX_HEADERS} headers, got ${count}`);
  if (text.length > MAX_METADATA_BYTES)
    throw new RangeError(`a request's headers take at most ${MAX_METADATA_BYTES} bytes, got ${text.length}`);
  return Buffer.from(text, 'latin1');
}

/** One well-formed line, read where the last one ended (sticky). */
const LINE = /([a-z0-9][a-z0-9._-]{0,63}): ([\x20-\x7e]*)\r\n/y;

/** The headers of a metadata frame (a fresh object, names in frame order), or why it breaks the rules above. */
export function parseMetadata(frame: Buffer): Record<string, string> | string {
  if (frame.length > MAX_METADATA_BYTES) return `metadata of ${frame.length} bytes, at most ${MAX_METADATA_BYTES}`;
  const headers: Record<string, string> = Object.create(null) as Record<string, string>;
  const text = frame.toString('latin1');
  let count = 0;
  for (LINE.lastIndex = 0; LINE.lastIndex < text.length; ) {
    const at = LINE.lastIndex;
    const line = LINE.exec(text);
    if (!line) return lineProblem(text, at);
    const [, name, value] = line;
    if (name in headers) return `header ${name} given twice`;
    if (++count > MAX_HEADERS) return `more than ${MAX_HEADERS} headers`;
    headers[name] = value;
  }
  return headers;
}

/** Why the line at `at` is not one of `name: value`. */
function lineProblem(text: string, at: number): string {
  const end = text.indexOf('\r\n', at);
  if (end < 0) return 'metadata line without its CRLF';
  const colon = text.indexOf(': ', at);
  if (colon < 0 || colon > end) return 'metadata line without "name: value"';
  return headerProblem(text.slice(at, colon), text.slice(colon + 2, end)) ?? 'metadata line without "name: value"';
}

/** What `scanMetadata` gives as `timeout` for a frame without `timeout-ms`. */
export const NO_TIMEOUT = -1;
/** What `scanMetadata` gives as `timeout` for a frame whose `timeout-ms` is no timeout: not an integer 0 to MAX_TIMEOUT_MS, or one with leading zeros. */
export const BAD_TIMEOUT = -2;

/** A metadata frame that keeps the rules above, as one pass over its bytes finds it. */
export interface ScannedMetadata {
  /** Its headers (lines). */
  readonly count: number;
  /** Its `timeout-ms` in ms, or NO_TIMEOUT, BAD_TIMEOUT. */
  readonly timeout: number;
}

/**
 * A metadata frame checked against the rules above, its text (latin1) made only where something
 * reads it: the broker checks every request's frame, but most only need its timeout (found by the
 * check) and forward a frame of that line alone, rewritten.
 */
export class CheckedMetadata implements ScannedMetadata {
  #frame: Buffer | undefined;
  #text: string | undefined;

  /** From the frame as it came (a view of the message, maybe), or from its text. */
  constructor(
    frameOrText: Buffer | string,
    readonly count: number,
    readonly timeout: number,
  ) {
    if (typeof frameOrText === 'string') this.#text = frameOrText;
    else this.#frame = frameOrText;
  }

  get text(): string {
    return (this.#text ??= (this.#frame as Buffer).toString('latin1'));
  }

  /** Whether `timeout-ms` is its only header: a frame forwarded for it then holds the time left alone. */
  get timeoutOnly(): boolean {
    return this.count === 1 && this.timeout >= 0;
  }

  /** The same headers, holding their text and no view of the message they came in: what outlives the message keeps this. */
  kept(): CheckedMetadata {
    return this.#frame === undefined ? this : new CheckedMetadata(this.text, this.count, this.timeout);
  }
}

/** No headers. */
export const NO_METADATA = new CheckedMetadata('', 0, NO_TIMEOUT);

const isNameByte = (c: number): boolean => (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 46 || c === 95 || c === 45;
const isFirstNameByte = (c: number): boolean => (c >= 97 && c <= 122) || (c >= 48 && c <= 57);
const TIMEOUT_BYTES = Buffer.from(TIMEOUT_HEADER, 'latin1');
/** Whether the name at `at` (of TIMEOUT_BYTES' length) is `timeout-ms`. */
function isTimeoutName(frame: Buffer, at: number): boolean {
  for (let i = 0; i < TIMEOUT_BYTES.length; i++) if (frame[at + i] !== TIMEOUT_BYTES[i]) return false;
  return true;
}
/**
 * The `timeout-ms` value in bytes `start`..`end`, read from the bytes (a string per request would
 * cost more than the scan itself), or BAD_TIMEOUT.
 */
function timeoutAt(frame: Buffer, start: number, end: number): number {
  const digits = end - start;
  if (digits === 0 || digits > 10 || (digits > 1 && frame[start] === 48)) return BAD_TIMEOUT; // no leading zeros
  let ms = 0;
  for (let at = start; at < end; at++) {
    const digit = frame[at] - 48;
    if (digit < 0 || digit > 9) return BAD_TIMEOUT;
    ms = ms * 10 + digit;
  }
  return ms <= MAX_TIMEOUT_MS ? ms : BAD_TIMEOUT;
}
/** Why a frame breaks the rules (one that does), as parseMetadata says it. */
const refusal = (frame: Buffer): string => parseMetadata(frame) as string;

/**
 * The frame checked in one pass over its bytes, without parsing it into an object: its headers and
 * its `timeout-ms`, or why it breaks the rules (the same words as parseMetadata's, which says which
 * problem comes first). Names are compared only where there is more than one. The worker needs no
 * more than this for each request; it makes no string for a frame of one header (the frames our
 * broker forwards carry `timeout-ms` alone unless the client traces or adds headers).
 */
export function scanMetadata(frame: Buffer): ScannedMetadata | string {
  const n = frame.length;
  if (n > MAX_METADATA_BYTES) return `metadata of ${n} bytes, at most ${MAX_METADATA_BYTES}`;
  let timeout = NO_TIMEOUT;
  let count = 0;
  for (let at = 0; at < n; ) {
    const name = at;
    if (!isFirstNameByte(frame[at])) return refusal(frame);
    while (++at < n && isNameByte(frame[at]));
    const nameLength = at - name;
    if (nameLength > 64 || at + 1 >= n || frame[at] !== 58 /* : */ || frame[at + 1] !== 32 /* space */) return refusal(frame);
    const value = (at += 2);
    while (at < n && frame[at] >= 0x20 && frame[at] <= 0x7e) at++;
    if (at + 1 >= n || frame[at] !== 13 || frame[at + 1] !== 10 || ++count > MAX_HEADERS) return refusal(frame);
    if (nameLength === TIMEOUT_BYTES.length && isTimeoutName(frame, name)) timeout = timeoutAt(frame, value, at);
    at += 2;
  }
  if (count > 1 && hasDuplicate(frame.toString('latin1'), count)) return refusal(frame);
  return { count, timeout };
}

/** scanMetadata, the frame kept as checked (the broker forwards it rewritten), or why it breaks the rules. */
export function checkMetadata(frame: Buffer): CheckedMetadata | string {
  const scanned = scanMetadata(frame);
  return typeof scanned === 'string' ? scanned : new CheckedMetadata(frame, scanned.count, scanned.timeout);
}

/** Whether a checked frame's text names a header twice. */
function hasDuplicate(text: string, count: number): boolean {
  if (count === 2) {
    const end1 = text.indexOf(': ');
    const start2 = text.indexOf('\r\n', end1) + 2;
    const end2 = text.indexOf(': ', start2);
    if (end2 - start2 !== end1) return false;
    for (let i = 0; i < end1; i++) if (text.charCodeAt(i) !== text.charCodeAt(start2 + i)) return false;
    return true;
  }
  const seen = new Set<string>();
  for (let at = 0; at < text.length; at = text.indexOf('\r\n', at) + 2) {
    const name = text.slice(at, text.indexOf(': ', at));
    if (seen.has(name)) return true;
    seen.add(name);
  }
  return false;
}

const TIMEOUT_AFTER_LINE = `\r\n${TIMEOUT_HEADER}: `;
const TRACEPARENT_AFTER_LINE = `\r\n${TRACEPARENT_HEADER}: `;
const TRACESTATE_AFTER_LINE = `\r\n${TRACESTATE_HEADER}: `;
const afterLine = (name: string): string =>
  name === TIMEOUT_HEADER
    ? TIMEOUT_AFTER_LINE
    : name === TRACEPARENT_HEADER
      ? TRACEPARENT_AFTER_LINE
      : name === TRACESTATE_HEADER
        ? TRACESTATE_AFTER_LINE
        : `\r\n${name}: `;

/** Where header `name`'s line starts in a checked frame's text, or -1 (names are unique, values hold no CR or LF). */
export function metadataLine(text: string, name: string): number {
  if (text.startsWith(name) && text.charCodeAt(name.length) === 58 /* : */) return 0;
  const at = text.indexOf(afterLine(name));
  return at < 0 ? -1 : at + 2;
}

/** Header `name`'s value in a checked frame's text, or undefined. */
export function metadataValue(text: string, name: string): string | undefined {
  const at = metadataLine(text, name);
  if (at < 0) return undefined;
  const start = at + name.length + 2;
  return text.slice(start, text.indexOf('\r\n', start));
}

/** The text without the line that starts at `at`. */
export const withoutLine = (text: string, at: number): string => {
  const end = text.indexOf('\r\n', at) + 2;
  return at === 0 ? text.slice(end) : text.slice(0, at) + text.slice(end);
};

/** A remaining time as `timeout-ms` says it: whole ms, rounded down, 0 to MAX_TIMEOUT_MS. */
const wholeMs = (remainingMs: number): number => Math.max(0, Math.min(MAX_TIMEOUT_MS, Math.floor(remainingMs)));

/** `headers` with `timeout-ms` set to `remainingMs` (rounded down, at least 0), the others as they were. */
export const withTimeout = (headers: Headers, remainingMs: number): Headers => ({
  ...headers,
  [TIMEOUT_HEADER]: String(wholeMs(remainingMs)),
});

/** The metadata line `timeout-ms: N\r\n` for `remainingMs` (as `withTimeout` writes it). */
export const timeoutLine = (remainingMs: number): string => `${TIMEOUT_HEADER}: ${wholeMs(remainingMs)}\r\n`;

const TIMEOUT_PREFIX = Buffer.from(`${TIMEOUT_HEADER}: `, 'latin1');

/**
 * The metadata frame of `timeout-ms` alone, as `timeoutLine` writes it, written as bytes: what our
 * client sends with each request and our broker forwards (a string per request, then its bytes,
 * cost more than the rest of the frame's way).
 */
export function timeoutFrame(remainingMs: number): Buffer {
  let ms = wholeMs(remainingMs);
  let digits = 1;
  for (let rest = ms; rest >= 10; rest = Math.floor(rest / 10)) digits++;
  const frame = Buffer.allocUnsafe(TIMEOUT_PREFIX.length + digits + 2);
  frame.set(TIMEOUT_PREFIX);
  let at = TIMEOUT_PREFIX.length + digits;
  frame[at] = 13; // CR
  frame[at + 1] = 10; // LF
  do {
    frame[--at] = 48 + (ms % 10);
    ms = Math.floor(ms / 10);
  } while (ms > 0);
  return frame;
}
