import fc from 'fast-check';
import { FrameReader, encodeMessage, greeting, greetingProblem, parseCommand, parseProperties, readyCommand } from './zmtp-codec';

/** What a reader saw: data frames grouped into messages, commands, problems. */
function read(chunks: Buffer[], maxFrameBytes = Infinity) {
  const messages: number[][][] = [];
  const commands: string[] = [];
  const problems: string[] = [];
  let current: number[][] = [];
  const reader = new FrameReader(maxFrameBytes, {
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
  for (const chunk of chunks) reader.push(chunk);
  return { messages, commands, problems, partial: current.length };
}

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
const message = fc.array(frame.map((f) => Buffer.from(f)), { minLength: 1, maxLength: 5 });

describe('ZMTP 3.0 frames', () => {
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

  it('gives each frame a Buffer of its own, never a view of the chunk it came in', () => {
    const stream = encodeMessage([Buffer.from('one'), Buffer.from('two')]);
    const frames: Buffer[] = [];
    new FrameReader(Infinity, { frame: (b) => frames.push(b), command: () => undefined, problem: () => undefined }).push(stream);
    expect(frames.map((f) => f.toString())).toEqual(['one', 'two']);
    for (const f of frames) expect(f.buffer).not.toBe(stream.buffer);
  });

  it('refuses a frame over the limit from its header, before its body arrives, and reads nothing after it', () => {
    const stream = Buffer.concat([encodeMessage([Buffer.alloc(10)]), encodeMessage([Buffer.alloc(1000)]), encodeMessage([Buffer.alloc(1)])]);
    const seen = read([stream.subarray(0, 12 + 9)], 500); // the first message and the second's header only
    expect(seen.messages).toHaveLength(1);
    expect(seen.problems).toEqual(['a frame of 1000 bytes is over the limit of 500']);
    expect(read([stream], 500).messages).toHaveLength(1);
  });

  it('refuses reserved flag bits', () => {
    expect(read([Buffer.from([0x08, 0])]).problems).toEqual(['bad frame flags 0x8']);
  });

  it('tells commands from data frames', () => {
    const seen = read([Buffer.concat([readyCommand({ 'Socket-Type': 'DEALER' }), encodeMessage([Buffer.from('x')])])]);
    expect(seen.commands).toEqual(['READY']);
    expect(seen.messages).toEqual([[[0x78]]]);
  });
});

describe('ZMTP 3.0 greeting and READY', () => {
  it('greets as 3.0 with NULL, and accepts such a greeting (and a later minor version)', () => {
    const g = greeting();
    expect(g.length).toBe(64);
    expect(greetingProblem(g)).toBeUndefined();
    const g31 = Buffer.from(g);
    g31[11] = 1;
    expect(greetingProblem(g31)).toBeUndefined();
  });

  it('refuses what is not ZMTP 3 with NULL, saying why', () => {
    const curve = greeting();
    curve.fill(0, 12, 32).write('CURVE', 12, 'latin1');
    expect(greetingProblem(curve)).toBe('security mechanism CURVE is not offered here (NULL)');
    const v2 = greeting();
    v2[10] = 2;
    expect(greetingProblem(v2)).toMatch(/ZMTP 2\.0 is not supported/);
    expect(greetingProblem(Buffer.alloc(64))).toBe('not a ZMTP 3 greeting');
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
