import fc from 'fast-check';
import {
  BAD_TIMEOUT,
  type BatchRecord,
  CheckedMetadata,
  EMPTY,
  MAX_HEADERS,
  MAX_METADATA_BYTES,
  MAX_TIMEOUT_MS,
  METADATA_OFFER,
  NO_TIMEOUT,
  TIMEOUT_HEADER,
  checkMetadata,
  clientRequestFrames,
  encodeMetadata,
  packBatches,
  parseMetadata,
  parseServiceRequest,
  parseWorkerMessage,
  parseWorkerRequest,
  type ScannedMetadata,
  scanMetadata,
  type ServiceRequest,
  toWorkerFrames,
  unpackBatch,
  timeoutFrame,
  timeoutLine,
  withTimeout,
  workerControlFrames,
} from '..';

const b = (s: string) => Buffer.from(s);
/** The rule for a `timeout-ms` value, as the protocol states it: the model the scanner is held to. */
const parseTimeout = (value: string): number | undefined =>
  /^(?:0|[1-9][0-9]{0,9})$/.test(value) && Number(value) <= MAX_TIMEOUT_MS ? Number(value) : undefined;
/** The timeout the scanner reads in a frame of `timeout-ms` alone with `value` (none: an empty frame). */
const timeoutOf = (value: string | undefined) =>
  (scanMetadata(b(value === undefined ? '' : `timeout-ms: ${value}\r\n`)) as ScannedMetadata).timeout;
/** What a check found, as plain data: its text is made when read. */
const found = (checked: CheckedMetadata | string | undefined) =>
  checked instanceof CheckedMetadata ? { text: checked.text, count: checked.count, timeout: checked.timeout } : checked;

describe('the metadata frame', () => {
  it('is "name: value" lines ending in CRLF, read back in order; no headers is an empty frame', () => {
    const frame = encodeMetadata({ 'timeout-ms': '400', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' });
    expect(frame.toString()).toBe('timeout-ms: 400\r\ntraceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n');
    expect(Object.entries(parseMetadata(frame))).toEqual([
      ['timeout-ms', '400'],
      ['traceparent', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'],
    ]);
    expect(encodeMetadata({}).length).toBe(0);
    expect(parseMetadata(EMPTY)).toEqual({});
  });

  it('round-trips any headers within the rules', () => {
    const name = fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,20}$/);
    const value = fc.stringMatching(/^[\x20-\x7e]{0,40}$/);
    fc.assert(
      fc.property(fc.dictionary(name, value, { maxKeys: MAX_HEADERS }), (headers) => {
        expect({ ...(parseMetadata(encodeMetadata(headers)) as object) }).toEqual(headers);
      }),
    );
  });

  it('refuses, with the reason, what breaks the rules: case, characters, repeats, count and size', () => {
    expect(() => encodeMetadata({ Trace: 'x' })).toThrow(/lowercase/);
    expect(() => encodeMetadata({ a: 'line\r\nbreak' })).toThrow('header a must have a printable ASCII value');
    const many = Object.fromEntries(Array.from({ length: MAX_HEADERS + 1 }, (_, i) => [`h${i}`, '1']));
    expect(() => encodeMetadata(many)).toThrow(`at most ${MAX_HEADERS} headers`);
    expect(() => encodeMetadata({ big: 'x'.repeat(MAX_METADATA_BYTES) })).toThrow(`at most ${MAX_METADATA_BYTES} bytes`);
    expect(parseMetadata(b('a: 1\r\na: 2\r\n'))).toBe('header a given twice');
    expect(parseMetadata(b('a: 1'))).toBe('metadata line without its CRLF');
    expect(parseMetadata(b('a=1\r\n'))).toBe('metadata line without "name: value"');
    expect(parseMetadata(b('A: 1\r\n'))).toMatch(/lowercase/);
    expect(parseMetadata(Buffer.alloc(MAX_METADATA_BYTES + 1, 0x61))).toMatch(/at most/);
    expect(parseMetadata(b(Array.from({ length: MAX_HEADERS + 1 }, (_, i) => `h${i}: 1\r\n`).join('')))).toMatch(/more than/);
  });

  it('reads timeout-ms as whole ms, and rewrites it with what is left', () => {
    expect(timeoutOf('400')).toBe(400);
    expect(timeoutOf('0')).toBe(0);
    expect(timeoutOf(undefined)).toBe(NO_TIMEOUT);
    for (const bad of ['', '-1', '1.5', '04', ' 4', '99999999999']) expect(timeoutOf(bad)).toBe(BAD_TIMEOUT);
    expect(withTimeout({ a: '1', 'timeout-ms': '400' }, 123.7)).toEqual({ a: '1', 'timeout-ms': '123' });
    expect(withTimeout({}, -5)).toEqual({ 'timeout-ms': '0' });
  });

  it('is checked in one pass over its bytes as parseMetadata reads it: the same refusal, or its count and timeout-ms', () => {
    // lines near the rules: well formed, or broken in one place (case, separator, CR LF, bytes past ASCII)
    const name = fc.constantFrom(
      'timeout-ms',
      'timeout-ms',
      'traceparent',
      'a',
      'x-1.b_c',
      'Timeout-ms',
      '-a',
      'a'.repeat(64),
      'b'.repeat(65),
    );
    const timeout = fc.oneof(
      fc.constantFrom('0', '400', '04', '-1', '1.5', '', ' 4', '2147483647', '2147483648', '99999999999'),
      fc.nat().map(String),
    );
    const value = fc.oneof(
      timeout,
      fc.string({ unit: fc.constantFrom('a', ' ', ':', '~', '\x7f', '\xe9', '\r', '\n', '\t'), maxLength: 8 }),
    );
    const line = fc.oneof(
      fc.tuple(name, value).map(([n, v]) => `${n}: ${v}\r\n`),
      fc.tuple(name, value, fc.constantFrom(':', ' :', ': \n', '\r\n')).map(([n, v, broken]) => `${n}${broken}${v}\r\n`),
      fc.tuple(name, value).map(([n, v]) => `${n}: ${v}`),
    );
    const frame = fc.oneof(
      fc.array(line, { maxLength: MAX_HEADERS + 2 }).map((lines) => Buffer.from(lines.join(''), 'latin1')),
      fc.constant(Buffer.from(`timeout-ms: 1\r\n${'x: y\r\n'.repeat(1000)}`)),
    );
    fc.assert(
      fc.property(frame, (bytes) => {
        const parsed = parseMetadata(bytes);
        if (typeof parsed === 'string') {
          expect(scanMetadata(bytes)).toBe(parsed);
          return expect(checkMetadata(bytes)).toBe(parsed);
        }
        const raw = parsed[TIMEOUT_HEADER];
        const scanned = { count: Object.keys(parsed).length, timeout: raw === undefined ? NO_TIMEOUT : (parseTimeout(raw) ?? BAD_TIMEOUT) };
        expect(scanMetadata(bytes)).toEqual(scanned);
        expect(found(checkMetadata(bytes))).toEqual({ text: bytes.toString('latin1'), ...scanned });
      }),
      { numRuns: 2000 },
    );
    expect(scanMetadata(b('timeout-ms: 250\r\ntraceparent: x\r\n'))).toEqual({ count: 2, timeout: 250 });
    expect(scanMetadata(b('a: 1\r\na: 2\r\n'))).toBe('header a given twice');
  });

  it('of timeout-ms alone is written as bytes, the same as the line the headers make', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.double({ noNaN: true, min: -10, max: 2 ** 32 }),
          fc.integer({ min: 0, max: MAX_TIMEOUT_MS }),
          fc.constantFrom(0, 0.9, 9, 10, 99.5, 100, MAX_TIMEOUT_MS, MAX_TIMEOUT_MS + 1, Infinity),
        ),
        (remainingMs) => {
          const frame = timeoutFrame(remainingMs);
          expect(frame.toString('latin1')).toBe(timeoutLine(remainingMs));
          expect(scanMetadata(frame)).toEqual({ count: 1, timeout: Math.max(0, Math.min(MAX_TIMEOUT_MS, Math.floor(remainingMs))) });
        },
      ),
    );
  });

  it('once checked, keeps its text, and where kept, no view of the message it came in', () => {
    const message = b('head timeout-ms: 400\r\ntenant: acme\r\n tail');
    const checked = checkMetadata(message.subarray(5, message.length - 5)) as CheckedMetadata;
    expect([checked.count, checked.timeout, checked.timeoutOnly]).toEqual([2, 400, false]);
    const kept = checked.kept();
    message.fill(0); // the message's memory, reused
    expect(kept.text).toBe('timeout-ms: 400\r\ntenant: acme\r\n');
    expect((checkMetadata(b('timeout-ms: 7\r\n')) as CheckedMetadata).timeoutOnly).toBe(true);
    expect((checkMetadata(b('tenant: acme\r\n')) as CheckedMetadata).timeoutOnly).toBe(false);
  });
});

describe('metadata on the wire', () => {
  const id = b('id-1');
  const metadata = encodeMetadata({ 'timeout-ms': '250' });

  it('a client request of 7 frames carries it; one of 6 has none; bad metadata is answered bad-request', () => {
    const client = b('C1');
    const request = parseServiceRequest([client, ...clientRequestFrames('echo', id, b('hi'), metadata)]) as ServiceRequest;
    expect({ ...request, metadata: found(request.metadata) }).toEqual({
      client,
      service: 'echo',
      id,
      body: b('hi'),
      metadata: { text: 'timeout-ms: 250\r\n', count: 1, timeout: 250 },
    });
    expect(parseServiceRequest([client, ...clientRequestFrames('echo', id, b('hi'))])).toEqual({
      client,
      service: 'echo',
      id,
      body: b('hi'),
    });
    expect(parseServiceRequest([client, ...clientRequestFrames('echo', id, b('hi'), b('no colon\r\n'))])).toEqual({
      kind: 'bad-request',
      client,
      id,
      reason: 'metadata line without "name: value"',
    });
  });

  it('a batch record of kind 2 carries it, beside records of kind 0 and 1', () => {
    const records: BatchRecord[] = [
      { ticket: b('T1'), body: b('a'), failed: false, metadata },
      { ticket: b('T2'), body: b('b'), failed: false },
    ];
    const [frame] = packBatches(records, Infinity);
    expect([...frame.subarray(0, 6 + metadata.length)]).toEqual([2, 2, ...b('T1'), 0, metadata.length, ...metadata]);
    const back = unpackBatch(frame) as BatchRecord[];
    expect(back.map((r) => [r.ticket.toString(), r.body.toString(), r.metadata?.toString()])).toEqual([
      ['T1', 'a', metadata.toString()],
      ['T2', 'b', undefined],
    ]);
    expect(unpackBatch(frame.subarray(0, 5))).toBe('batch record 1 is truncated');
  });

  it('goes to a worker as a frame before the body, and a worker accepts the offer with the same word', () => {
    const worker = b('W1');
    const [, ...dealer] = toWorkerFrames(worker, b('ticket'), b('body'), metadata);
    expect(parseWorkerRequest(dealer)).toEqual({ ticket: b('ticket'), metadata, body: b('body') });
    const [, ...classic] = toWorkerFrames(worker, b('ticket'), b('body'));
    expect(parseWorkerRequest(classic)).toEqual({ ticket: b('ticket'), body: b('body') });
    expect(parseWorkerMessage([worker, ...workerControlFrames(METADATA_OFFER)])).toEqual({ kind: 'metadata-accept', worker });
  });
});
