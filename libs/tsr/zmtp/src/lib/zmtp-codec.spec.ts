import { createHash } from 'node:crypto';
import fc from 'fast-check';
import {
  FrameReader,
  commandFrame,
  encodeMessage,
  greeting,
  greetingProblem,
  parseCommand,
  parsePing,
  parseProperties,
  pingBody,
  readyCommand,
  versionProblem,
} from './zmtp-codec';

/** A reader that records what it sees: data frames grouped into messages, commands, problems. */
function recorder(maxMessageBytes = Infinity) {
  const messages: number[][][] = [];
  const commands: string[] = [];
  const problems: string[] = [];
  let current: number[][] = [];
  const reader = new FrameReader(maxMessageBytes, {
    frame: (body, more) => {
      current.push([...body]);
      if (!more) {
        messages.push(current);
        current = [];
      }
    },
    command: (body) => commands.push(parseCommand(body)?.name ?? '?'),
    problem: (why) => problems.push(why),
  });
  return { reader, seen: () => ({ messages, commands, problems, partial: current.length }) };
}

/** What a reader saw of `chunks`. */
function read(chunks: Buffer[], maxMessageBytes = Infinity) {
  const { reader, seen } = recorder(maxMessageBytes);
  for (const chunk of chunks) reader.push(chunk);
  return seen();
}

/**
 * What a reader saw of `stream` read as our sockets read (socket-reads.ts): `sizes` bytes at a time
 * (round and round), each read into one scratch buffer that the next read overwrites.
 */
function readThroughScratch(stream: Buffer, sizes: number[]) {
  const { reader, seen } = recorder();
  const scratch = Buffer.alloc(Math.max(...sizes));
  for (let at = 0, i = 0; at < stream.length; i++) {
    const n = stream.copy(scratch, 0, at, at + sizes[i % sizes.length]);
    at += n;
    reader.push(scratch.subarray(0, n));
    scratch.fill(0xee); // the next read's bytes: whatever the reader kept of these must be its own copy
  }
  return seen();
}

const digest = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex').slice(0, 16);

/** `bytes` cut at the given points. */
function cut(bytes: Buffer, points: number[]): Buffer[] {
  const at = [...new Set(points.map((p) => p % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const p of [...at, bytes.length]) {
    chunks.push(bytes.subarray(from, p));
    from = p;
  }
  return chunks;
}

const frame = fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ minLength: 250, maxLength: 70_000 }));
const message = fc.array(
  frame.map((f) => Buffer.from(f)),
  { minLength: 1, maxLength: 5 },
);

describe('ZMTP 3.1 frames', () => {
  it('lays out short and long frames as the spec does: flags (MORE, LONG), size in 1 or 8 bytes, body', () => {
    const long = Buffer.alloc(256, 7);
    const bytes = encodeMessage([Buffer.from('id'), Buffer.from('ab'), long], 1);
    expect([...bytes.subarray(0, 4)]).toEqual([0x01, 2, 0x61, 0x62]);
    expect([...bytes.subarray(4, 13)]).toEqual([0x02, 0, 0, 0, 0, 0, 0, 1, 0]);
    expect(bytes.length).toBe(4 + 9 + 256);
  });

  it('reads back every message, whatever the points the stream is cut at', () => {
    fc.assert(
      fc.property(fc.array(message, { minLength: 1, maxLength: 6 }), fc.array(fc.nat(), { maxLength: 30 }), (messages, points) => {
        const stream = Buffer.concat(messages.map((m) => encodeMessage(m)));
        const seen = read(cut(stream, points));
        expect(seen.problems).toEqual([]);
        expect(seen.partial).toBe(0);
        expect(seen.messages).toEqual(messages.map((m) => m.map((f) => [...f])));
      }),
      { numRuns: 200 },
    );
  });

  it('reads back every message when each read comes in one scratch buffer, overwritten by the next', () => {
    fc.assert(
      fc.property(
        fc.array(message, { minLength: 1, maxLength: 6 }),
        fc.array(fc.integer({ min: 1, max: 80_000 }), { minLength: 1, maxLength: 20 }),
        (messages, sizes) => {
          const stream = Buffer.concat(messages.map((m) => encodeMessage(m)));
          const seen = readThroughScratch(stream, sizes);
          expect(seen.problems).toEqual([]);
          expect(seen.partial).toBe(0);
          // by digest: a failure's diff (and fast-check's shrinking) stays quick
          expect(seen.messages.map((m) => m.map((f) => digest(Uint8Array.from(f))))).toEqual(messages.map((m) => m.map(digest)));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('gives each frame a Buffer of its own, never a view of the chunk it came in', () => {
    const stream = encodeMessage([Buffer.from('one'), Buffer.from('two')]);
    const frames: Buffer[] = [];
    new FrameReader(Infinity, { frame: (b) => frames.push(b), command: () => undefined, problem: () => undefined }).push(stream);
    expect(frames.map((f) => f.toString())).toEqual(['one', 'two']);
    for (const f of frames) expect(f.buffer).not.toBe(stream.buffer);
  });

  it('refuses a frame over the limit from its header, before its body arrives, and reads nothing after it', () => {
    const stream = Buffer.concat([
      encodeMessage([Buffer.alloc(10)]),
      encodeMessage([Buffer.alloc(1000)]),
      encodeMessage([Buffer.alloc(1)]),
    ]);
    const seen = read([stream.subarray(0, 12 + 9)], 500); // the first message and the second's header only
    expect(seen.messages).toHaveLength(1);
    expect(seen.problems).toEqual(['a frame of 1000 bytes is over the limit of 500']);
    expect(read([stream], 500).messages).toHaveLength(1);
  });

  it('ignores reserved flag bits, as libzmq does', () => {
    const seen = read([Buffer.from([0xf8 | 0x01, 1, 0x61, 0xf8, 1, 0x62])]);
    expect(seen.problems).toEqual([]);
    expect(seen.messages).toEqual([[[0x61], [0x62]]]);
  });

  it('refuses a frame over its limit from the header, the limit moving between frames', () => {
    const problems: string[] = [];
    const frames: number[] = [];
    const reader = new FrameReader(10, {
      frame: (body) => frames.push(body.length),
      command: () => undefined,
      problem: (why) => problems.push(why),
    });
    reader.push(encodeMessage([Buffer.alloc(10)]));
    reader.limit = 4;
    reader.push(Buffer.from([0x02, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])); // 2^63 - 1 bytes claimed
    expect(frames).toEqual([10]);
    expect(problems).toEqual([`a frame of ${0x7fffffff * 2 ** 32 + 0xffffffff} bytes is over the limit of 4`]);
    reader.push(encodeMessage([Buffer.alloc(1)]));
    expect(frames).toEqual([10]); // stopped: nothing more is read
  });

  it('tells commands from data frames', () => {
    const seen = read([Buffer.concat([readyCommand({ 'Socket-Type': 'DEALER' }), encodeMessage([Buffer.from('x')])])]);
    expect(seen.commands).toEqual(['READY']);
    expect(seen.messages).toEqual([[[0x78]]]);
  });
});

describe('ZMTP 3.1 greeting, READY, PING and PONG', () => {
  it('greets as 3.1 with NULL, as libzmq does, and accepts such a greeting, a 3.0 one and a later minor version', () => {
    const g = greeting();
    expect(g.length).toBe(64);
    expect([...g.subarray(0, 12)]).toEqual([0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0x7f, 3, 1]);
    expect(greetingProblem(g)).toBeUndefined();
    for (const minor of [0, 2]) {
      const other = Buffer.from(g);
      other[11] = minor;
      expect(greetingProblem(other)).toBeUndefined();
    }
  });

  it('refuses what is not ZMTP 3 with NULL, saying why', () => {
    const curve = greeting();
    curve.fill(0, 12, 32).write('CURVE', 12, 'latin1');
    expect(greetingProblem(curve)).toBe('security mechanism CURVE is not offered here (NULL)');
    const v2 = greeting();
    v2[10] = 1;
    expect(greetingProblem(v2)).toBe('a ZMTP 2.0 peer (major version 1): 3.0 or later is needed');
    expect(greetingProblem(Buffer.alloc(64))).toMatch(/^a ZMTP 1\.0 peer/);
  });

  it('knows a ZMTP 1.0 or 2.0 peer from its first bytes, before a whole greeting (RFC 37: close at once)', () => {
    expect(versionProblem(Buffer.from([0x01]))).toMatch(/ZMTP 1\.0/); // 1.0: a short identity frame
    expect(versionProblem(Buffer.from([0xff, 0, 0, 0, 0, 0, 0, 0, 1]))).toBeUndefined(); // not yet known
    expect(versionProblem(Buffer.from([0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x00]))).toMatch(/ZMTP 1\.0/); // 1.0: a long identity frame
    expect(versionProblem(Buffer.from([0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f]))).toBeUndefined();
    expect(versionProblem(Buffer.from([0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 0x01]))).toMatch(/ZMTP 2\.0/);
    expect(versionProblem(Buffer.from([0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 0x03]))).toBeUndefined();
    expect(versionProblem(Buffer.from([0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 0x04]))).toBeUndefined(); // later versions are accepted
  });

  it('lays out PING and PONG as RFC 37 does: a TTL in tenths of a second, a context of at most 16 bytes echoed', () => {
    const ping = parseCommand(pingBody(1500, Buffer.from('ctx')));
    expect(ping?.name).toBe('PING');
    expect([...(ping?.body ?? [])]).toEqual([0, 15, 0x63, 0x74, 0x78]);
    expect(parsePing(Buffer.concat([Buffer.from([0xff, 0xff]), Buffer.alloc(20, 1)]))).toEqual({
      ttlMs: 6_553_500,
      context: Buffer.alloc(16, 1),
    });
    expect(parsePing(Buffer.from([1]))).toBeUndefined();
    expect([...commandFrame('PONG', Buffer.from('ctx'))]).toEqual([0x04, 8, 4, 0x50, 0x4f, 0x4e, 0x47, 0x63, 0x74, 0x78]);
  });

  it('round-trips READY properties, names case-insensitively, and refuses cut-short ones', () => {
    const ready = readyCommand({ 'Socket-Type': 'REQ', Identity: Buffer.from([0, 1, 2]) });
    const command = parseCommand(ready.subarray(2)); // after the short command header
    expect(command?.name).toBe('READY');
    const props = parseProperties(command?.body ?? Buffer.alloc(0));
    expect(props).toBeInstanceOf(Map);
    expect((props as Map<string, Buffer>).get('socket-type')?.toString()).toBe('REQ');
    expect([...((props as Map<string, Buffer>).get('identity') ?? [])]).toEqual([0, 1, 2]);
    expect(parseProperties(Buffer.from([11, ...Buffer.from('Socket-Type'), 0, 0, 0, 9, 0x41]))).toMatch(/cut short/);
  });
});
