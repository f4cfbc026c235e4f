/**
 * ZMTP's wire format (rfc.zeromq.org/spec/23, and spec/37's PING and PONG), both sides: the
 * greeting, commands (READY and its properties, PING), and the frames of the traffic, plain or
 * (with a `FrameBoxer`, CURVE) each in a MESSAGE box. Pure functions and one incremental reader;
 * the connection logic is in zmtp-connection.ts, CURVE's handshake in curve-mechanism.ts.
 */

/** An empty frame: shared, since nothing writes into it. */
const EMPTY = Buffer.alloc(0);

/**
 * Bytes `start`..`end` of `source` in a Buffer of their own: neither a view that keeps all of
 * `source` alive nor a slice of the shared pool, which would keep 8 KiB alive.
 */
export function ownCopy(source: Buffer, start = 0, end = source.length): Buffer {
  const copy = Buffer.allocUnsafeSlow(end - start);
  source.copy(copy, 0, start, end);
  return copy;
}

export const GREETING_BYTES = 64;
const FLAG_MORE = 0x01;
const FLAG_LONG = 0x02;
const FLAG_COMMAND = 0x04;
/** libzmq keeps a routing id in at most 255 bytes. */
export const MAX_ROUTING_ID_BYTES = 255;

/** Our greeting: signature, version 3.1 (as libzmq 4.2 and later: PING and PONG), the mechanism (NULL ignores as-server), filler. */
export function greeting(mechanism: 'NULL' | 'CURVE' = 'NULL', asServer = false): Buffer {
  const g = Buffer.alloc(GREETING_BYTES);
  g[0] = 0xff;
  g[9] = 0x7f;
  g[10] = 3;
  g[11] = 1;
  g.write(mechanism, 12, 'latin1');
  g[32] = asServer ? 1 : 0;
  return g;
}

/**
 * Why the start of a peer's greeting, however little of it has come, shows a peer we cannot talk
 * to: ZMTP 1.0 (no 0xFF first, or no signature bit at byte 9) or 2.0 (major version 1 or 2).
 * We cannot downgrade, so RFC 37 says close at once: a 1.0 peer sends a few bytes and waits.
 */
export function versionProblem(g: Buffer): string | undefined {
  if ((g.length >= 1 && g[0] !== 0xff) || (g.length >= 10 && (g[9] & 0x01) === 0))
    return 'a ZMTP 1.0 peer (no greeting signature): 3.0 or later is needed';
  if (g.length >= 11 && g[10] < 3) return `a ZMTP 2.0 peer (major version ${g[10]}): 3.0 or later is needed`;
  return undefined;
}

/** Why a peer's whole greeting is not one we speak, or undefined when it is ZMTP 3.x with our mechanism. */
export function greetingProblem(g: Buffer, ours: 'NULL' | 'CURVE' = 'NULL'): string | undefined {
  const version = versionProblem(g);
  if (version) return version;
  const mechanism = g.toString('latin1', 12, 32).replace(/\0+$/, '');
  if (mechanism !== ours) return `security mechanism ${mechanism || '(none)'} is not offered here (${ours})`;
  return undefined;
}

/** A command's bytes, as a command frame carries them: name length, name, then its data. */
export function commandBody(name: string, data: Buffer = EMPTY): Buffer {
  const body = Buffer.allocUnsafe(1 + name.length + data.length);
  body[0] = name.length;
  body.write(name, 1, 'latin1');
  data.copy(body, 1 + name.length);
  return body;
}

/** A command frame: `name` and its data. */
export const commandFrame = (name: string, data: Buffer): Buffer => encodeCommand(commandBody(name, data));

/** A command on the wire: a command frame, or with CURVE a MESSAGE box flagged as a command. */
export function encodeCommand(body: Buffer, boxer?: FrameBoxer): Buffer {
  const length = boxer ? boxer.boxedBytes(body.length) : body.length;
  const out = Buffer.allocUnsafe(headerBytes(length) + length);
  const at = writeFrameHeader(out, 0, length, boxer ? 0 : FLAG_COMMAND);
  if (boxer) boxer.boxInto(out, at, body, BOXED_COMMAND);
  else body.copy(out, at);
  return out;
}

/** ZMTP 3.1 PING: the time-to-live we ask for (sent in tenths of a second, at most 6553.5 s), and a context the PONG echoes. */
export function pingBody(ttlMs: number, context: Buffer = EMPTY): Buffer {
  const data = Buffer.alloc(2 + context.length);
  data.writeUInt16BE(Math.min(0xffff, Math.max(0, Math.round(ttlMs / 100))), 0);
  context.copy(data, 2);
  return commandBody('PING', data);
}

/** A PING's TTL in ms and its context (at most 16 bytes, as libzmq echoes), or undefined if it is cut short. */
export function parsePing(data: Buffer): { ttlMs: number; context: Buffer } | undefined {
  if (data.length < 2) return undefined;
  return { ttlMs: data.readUInt16BE(0) * 100, context: data.subarray(2, 2 + MAX_PING_CONTEXT) };
}

/** The most of a PING's context a PONG echoes (RFC 37). */
export const MAX_PING_CONTEXT = 16;

/** Metadata (READY's, and CURVE's INITIATE and READY boxes): each property as name-length, name, value-length (u32 BE), value. */
export function encodeProperties(properties: Record<string, Buffer | string>): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of Object.entries(properties)) {
    const v = typeof value === 'string' ? Buffer.from(value, 'latin1') : value;
    const head = Buffer.alloc(1 + name.length + 4);
    head[0] = name.length;
    head.write(name, 1, 'latin1');
    head.writeUInt32BE(v.length, 1 + name.length);
    parts.push(head, v);
  }
  return Buffer.concat(parts);
}

export const readyCommand = (properties: Record<string, Buffer | string>): Buffer => commandFrame('READY', encodeProperties(properties));

export interface Command {
  name: string;
  body: Buffer;
}

export function parseCommand(frame: Buffer): Command | undefined {
  if (frame.length < 1 || frame.length < 1 + frame[0]) return undefined;
  return { name: frame.toString('latin1', 1, 1 + frame[0]), body: frame.subarray(1 + frame[0]) };
}

/** READY's properties by lower-cased name (names are case-insensitive), or why they do not parse. */
export function parseProperties(body: Buffer): Map<string, Buffer> | string {
  const props = new Map<string, Buffer>();
  let at = 0;
  while (at < body.length) {
    const nameLength = body[at];
    if (nameLength === 0 || at + 1 + nameLength + 4 > body.length) return 'a READY property is cut short';
    const name = body.toString('latin1', at + 1, at + 1 + nameLength).toLowerCase();
    const valueLength = body.readUInt32BE(at + 1 + nameLength);
    const start = at + 1 + nameLength + 4;
    if (start + valueLength > body.length) return `READY property ${name} is cut short`;
    props.set(name, body.subarray(start, start + valueLength));
    at = start + valueLength;
  }
  return props;
}

/** A frame's header: flags and a 1-byte size, or LONG and an 8-byte size past 255. */
const headerBytes = (length: number): number => (length <= 255 ? 2 : 9);

/** Writes a frame's header at `at`; returns where its body goes. */
function writeFrameHeader(out: Buffer, at: number, length: number, flags: number): number {
  if (length <= 255) {
    out[at] = flags;
    out[at + 1] = length;
    return at + 2;
  }
  out[at] = flags | FLAG_LONG;
  out.writeUInt32BE(Math.floor(length / 0x1_0000_0000), at + 1);
  out.writeUInt32BE(length >>> 0, at + 5);
  return at + 9;
}

/** The flags inside a CURVE MESSAGE box (libzmq's message flags): another frame follows; a command. */
export const BOXED_MORE = 0x01;
export const BOXED_COMMAND = 0x02;

/** How a frame travels boxed (CURVE): as a data frame of its own, `boxedBytes` long, MORE and COMMAND inside the box only. */
export interface FrameBoxer {
  boxedBytes(length: number): number;
  boxInto(out: Buffer, at: number, frame: Buffer, flags: number): void;
}

/**
 * The bytes of one message of frames[from..] (a data frame each, MORE on all but the last), in one
 * Buffer; each frame boxed by `boxer` if given.
 */
export function encodeMessage(
  frames: readonly Buffer[],
  from = 0,
  boxer?: FrameBoxer,
  allocate: (bytes: number) => Buffer = Buffer.allocUnsafe,
): Buffer {
  let size = 0;
  for (let i = from; i < frames.length; i++) {
    const length = boxer ? boxer.boxedBytes(frames[i].length) : frames[i].length;
    size += headerBytes(length) + length;
  }
  const out = allocate(size);
  let at = 0;
  for (let i = from; i < frames.length; i++) {
    const more = i < frames.length - 1;
    if (boxer) {
      const length = boxer.boxedBytes(frames[i].length);
      at = writeFrameHeader(out, at, length, 0);
      boxer.boxInto(out, at, frames[i], more ? BOXED_MORE : 0);
      at += length;
    } else {
      at = writeFrameHeader(out, at, frames[i].length, more ? FLAG_MORE : 0);
      at += frames[i].copy(out, at);
    }
  }
  return out;
}

export interface FrameSink {
  /** A data frame, in a Buffer of its own; `more`: another frame of the same message follows. */
  frame(body: Buffer, more: boolean): void;
  command(body: Buffer): void;
  /** The stream broke the rules (a frame over the limit, memory refused): the connection must close. */
  problem(why: string): void;
}

/**
 * Reads frames out of a byte stream cut anywhere. A frame's bytes are copied into a Buffer of their
 * own (never a view of the socket's chunk, which a waiting request would keep alive whole), and a
 * frame over `limit` is refused from its header, before anything of it is kept. The owner moves
 * `limit` as a message grows, so the bound is on the whole message, not only on each frame.
 * Reserved flag bits are ignored, as libzmq does (RFC 23 asks senders to keep them zero).
 */
export class FrameReader {
  private readonly header = Buffer.alloc(9);
  private headerHave = 0;
  private headerNeed = 2;
  private flags = 0;
  private body: Buffer | undefined;
  private bodyHave = 0;
  private stopped = false;

  constructor(
    /** Largest frame body accepted next; the owner may change it between frames. */
    public limit: number,
    private readonly sink: FrameSink,
    /** Memory for a frame body of that many bytes, read whole before it is handed over: its own by default. */
    private readonly allocate: (bytes: number) => Buffer = Buffer.allocUnsafeSlow,
  ) {}

  /** Reads nothing more, not even the rest of the chunk being read (the connection is gone). */
  stop(): void {
    this.stopped = true;
    this.body = undefined;
  }

  /** Bytes held for a frame not read whole yet. */
  get partialBytes(): number {
    return this.body?.length ?? 0;
  }

  push(chunk: Buffer, start = 0): void {
    let at = start;
    while (at < chunk.length && !this.stopped) {
      if (this.body === undefined) at = this.readHeader(chunk, at);
      else at = this.readBody(chunk, at);
    }
  }

  private readHeader(chunk: Buffer, at: number): number {
    if (this.headerHave === 0) {
      const flags = chunk[at];
      this.flags = flags;
      this.headerNeed = flags & FLAG_LONG ? 9 : 2;
      // the common case: a short header and its whole body in this chunk
      if (this.headerNeed === 2 && at + 1 < chunk.length) {
        const length = chunk[at + 1];
        if (at + 2 + length <= chunk.length) {
          if (length > this.limit) return this.oversize(length, chunk);
          this.emit(length === 0 ? EMPTY : ownCopy(chunk, at + 2, at + 2 + length));
          return at + 2 + length;
        }
      }
    }
    const take = Math.min(this.headerNeed - this.headerHave, chunk.length - at);
    chunk.copy(this.header, this.headerHave, at, at + take);
    this.headerHave += take;
    at += take;
    if (this.headerHave < this.headerNeed) return at;
    const length = this.headerNeed === 2 ? this.header[1] : this.header.readUInt32BE(1) * 0x1_0000_0000 + this.header.readUInt32BE(5);
    this.headerHave = 0;
    if (length > this.limit) return this.oversize(length, chunk);
    if (length === 0) {
      this.emit(EMPTY);
      return at;
    }
    try {
      this.body = this.allocate(length);
    } catch {
      return this.fail(`no memory for a frame of ${length} bytes`, chunk);
    }
    this.bodyHave = 0;
    return at;
  }

  private readBody(chunk: Buffer, at: number): number {
    const body = this.body as Buffer;
    const take = Math.min(body.length - this.bodyHave, chunk.length - at);
    chunk.copy(body, this.bodyHave, at, at + take);
    this.bodyHave += take;
    if (this.bodyHave === body.length) {
      this.body = undefined;
      this.emit(body);
    }
    return at + take;
  }

  private emit(body: Buffer): void {
    if (this.flags & FLAG_COMMAND) this.sink.command(body);
    else this.sink.frame(body, (this.flags & FLAG_MORE) !== 0);
  }

  private oversize(length: number, chunk: Buffer): number {
    return this.fail(`a frame of ${length} bytes is over the limit of ${this.limit}`, chunk);
  }

  private fail(why: string, chunk: Buffer): number {
    this.stop();
    this.sink.problem(why);
    return chunk.length;
  }
}
