/**
 * ZMTP 3.0 (rfc.zeromq.org/spec/23) with the NULL mechanism, the part a ROUTER that binds needs:
 * the greeting, the READY command and its properties, and the frames of the traffic. Pure
 * functions and one incremental reader; the connection logic is in zmtp-connection.ts.
 */
import { BOX_FLAG_MORE } from './curve-mechanism';

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
const RESERVED_FLAGS = 0xf8;
/** libzmq keeps a routing id in at most 255 bytes. */
export const MAX_ROUTING_ID_BYTES = 255;

/** Our greeting: signature, version 3.0, the mechanism (NULL ignores as-server), filler. */
export function greeting(mechanism: 'NULL' | 'CURVE' = 'NULL', asServer = false): Buffer {
  const g = Buffer.alloc(GREETING_BYTES);
  g[0] = 0xff;
  g[9] = 0x7f;
  g[10] = 3;
  g[11] = 0;
  g.write(mechanism, 12, 'latin1');
  g[32] = asServer ? 1 : 0;
  return g;
}

/** Whether the first 10 bytes of a greeting are ZMTP 3's signature (what a peer sends before the rest). */
export const hasZmtp3Signature = (g: Buffer): boolean => g[0] === 0xff && (g[9] & 0x01) === 0x01;

/** Why a peer's greeting is not one we speak, or undefined when it is ZMTP 3.x with our mechanism. */
export function greetingProblem(g: Buffer, ours: 'NULL' | 'CURVE' = 'NULL'): string | undefined {
  if (!hasZmtp3Signature(g)) return 'not a ZMTP 3 greeting';
  if (g[10] < 3) return `ZMTP ${g[10]}.${g[11]} is not supported (3.0 or later)`;
  const mechanism = g.toString('latin1', 12, 32).replace(/\0+$/, '');
  if (mechanism !== ours) return `security mechanism ${mechanism || '(none)'} is not offered here (${ours})`;
  return undefined;
}

/** A command frame: `name` and its body. */
export function commandFrame(name: string, body: Buffer): Buffer {
  const payload = Buffer.concat([Buffer.from([name.length]), Buffer.from(name, 'latin1'), body]);
  const out = Buffer.allocUnsafe(headerBytes(payload.length) + payload.length);
  payload.copy(out, writeFrameHeader(out, 0, payload.length, FLAG_COMMAND));
  return out;
}

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

/** How a frame travels boxed (CURVE): as a data frame of its own, `boxedBytes` long, MORE inside the box only. */
export interface FrameBoxer {
  boxedBytes(length: number): number;
  /** `flags`: 0x01 MORE, 0x02 COMMAND (inside the box). */
  boxInto(out: Buffer, at: number, frame: Buffer, flags: number): void;
}

/**
 * The bytes of one message of frames[from..] (a data frame each, MORE on all but the last), in one
 * Buffer; each frame boxed by `boxer` if given.
 */
export function encodeMessage(frames: readonly Buffer[], from = 0, boxer?: FrameBoxer): Buffer {
  let size = 0;
  for (let i = from; i < frames.length; i++) {
    const length = boxer ? boxer.boxedBytes(frames[i].length) : frames[i].length;
    size += headerBytes(length) + length;
  }
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (let i = from; i < frames.length; i++) {
    const more = i < frames.length - 1;
    if (boxer) {
      const length = boxer.boxedBytes(frames[i].length);
      at = writeFrameHeader(out, at, length, 0);
      boxer.boxInto(out, at, frames[i], more ? BOX_FLAG_MORE : 0);
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
  /** The stream broke the rules (bad flags, a frame over the limit): the connection must close. */
  problem(why: string): void;
}

/**
 * Reads frames out of a byte stream cut anywhere. A frame's bytes are copied into a Buffer of their
 * own (never a view of the socket's chunk, which a waiting request would keep alive whole), and a
 * frame over `maxFrameBytes` is refused from its header, before anything of it is kept.
 */
export class FrameReader {
  private readonly header = Buffer.alloc(9);
  private headerHave = 0;
  private headerNeed = 2;
  private flags = 0;
  private body: Buffer | undefined;
  private bodyHave = 0;
  private broken = false;

  constructor(
    private readonly maxFrameBytes: number,
    private readonly sink: FrameSink,
  ) {}

  push(chunk: Buffer, start = 0): void {
    let at = start;
    while (at < chunk.length && !this.broken) {
      if (this.body === undefined) at = this.readHeader(chunk, at);
      else at = this.readBody(chunk, at);
    }
  }

  private readHeader(chunk: Buffer, at: number): number {
    if (this.headerHave === 0) {
      const flags = chunk[at];
      if ((flags & RESERVED_FLAGS) !== 0) return this.fail(`bad frame flags 0x${flags.toString(16)}`, chunk);
      this.flags = flags;
      this.headerNeed = flags & FLAG_LONG ? 9 : 2;
      // the common case: a short header and its whole body in this chunk
      if (this.headerNeed === 2 && at + 1 < chunk.length) {
        const length = chunk[at + 1];
        if (at + 2 + length <= chunk.length) {
          if (length > this.maxFrameBytes) return this.oversize(length, chunk);
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
    if (length > this.maxFrameBytes) return this.oversize(length, chunk);
    if (length === 0) {
      this.emit(EMPTY);
      return at;
    }
    this.body = Buffer.allocUnsafeSlow(length);
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
    return this.fail(`a frame of ${length} bytes is over the limit of ${this.maxFrameBytes}`, chunk);
  }

  private fail(why: string, chunk: Buffer): number {
    this.broken = true;
    this.sink.problem(why);
    return chunk.length;
  }
}
