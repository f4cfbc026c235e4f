/**
 * NaCl's secretbox (XSalsa20, Poly1305) called straight on libsodium's WebAssembly memory, for
 * the boxes every CURVE frame costs. The wrappers' own calls allocate the inputs in that memory,
 * copy the result out into a new array and free, per call; here the plaintext is copied in once and
 * the box out once, into the buffer the caller writes on the wire, and libsodium boxes and opens in
 * place (the box is the MAC, then the ciphertext over the plaintext's own bytes): fewer copies per
 * frame than the wrappers' calls (measured in docs/benchmarks/2026-11-28/curve/README.md).
 *
 * Memory: one area made once and never freed, of about 64 KiB: key, nonce, room for a frame of up
 * to SCRATCH_ROOM bytes, and a Poly1305 state and a keystream block for larger frames. A frame of
 * up to SCRATCH_ROOM bytes is boxed whole by crypto_secretbox_easy; a larger one is boxed through
 * the same room in chunks of CHUNK_BYTES, with the primitives secretbox is made of (which the raw
 * module of libsodium-wrappers-sumo exports, that of libsodium-wrappers does not):
 *
 *   K = XSalsa20(key, nonce), in 64-byte blocks; Poly1305's one-time key is K[0, 32);
 *   the ciphertext is the message XOR K[32, 32 + length); the box is Poly1305(c), then c.
 *
 * So the stream runs over 32 zero bytes (which give the one-time key), then the message, and
 * chunk i of it starts at block i * CHUNK_BYTES / 64 (crypto_stream_xsalsa20_xor_ic). Sealing
 * writes each ciphertext chunk into the caller's buffer, and the MAC in front at the end; opening
 * reads the ciphertext twice, once for the MAC (compared in constant time) and, only if it holds,
 * once to decrypt into the caller's buffer: nothing is written of a box that does not open. The
 * MAC is Poly1305 from Node's own OpenSSL where it has it (openssl-poly1305.ts), over the
 * ciphertext where it lies, in one call: about 180 µs a MiB against 850 µs for libsodium's in
 * WebAssembly, fed chunk by chunk through the area, which serves where Node has none.
 *
 * The caller's buffer may be the box's (or the body's) own memory: each chunk lands before the
 * bytes still to read when the output starts no later than the input (as opening in place does:
 * the plaintext goes where the MAC was); an output starting inside the input, after its start,
 * gets the input copied first. libsodium's memory no longer grows with the frame (the WebAssembly
 * memory never shrinks: a frame boxed whole left as much of it behind for good), and a large frame
 * costs what it did boxed whole (docs/benchmarks/2026-11-28/curve/README.md, "Frames over 64 KiB").
 *
 * After every call the bytes it used (key, nonce, plaintext, box, keystream, Poly1305's state) are
 * zeroed (a fill: the raw module exports no sodium_memzero): nothing of a session's key or of a
 * frame stays in libsodium's memory.
 *
 * Single-threaded by nature: each call uses the area and leaves nothing in it.
 */
import sodium from 'libsodium-wrappers-sumo';
import { type Poly1305, loadOpensslPoly1305, poly1305Holds } from './openssl-poly1305';
import type { SecretBoxes } from './secretbox-shape';

/** The emscripten module under the wrappers: its memory and the C functions used here. */
interface RawSodium {
  /** Replaced whenever the memory grows: read it after every `_malloc`. */
  readonly HEAPU8: Uint8Array;
  _malloc(bytes: number): number;
  /** 64-bit lengths and counters pass as two 32-bit halves, low first. Box and message may overlap (libsodium moves as needed). */
  _crypto_secretbox_easy(box: number, message: number, lengthLow: number, lengthHigh: number, nonce: number, key: number): number;
  _crypto_secretbox_open_easy(message: number, box: number, lengthLow: number, lengthHigh: number, nonce: number, key: number): number;
  /** XORs `length` bytes of `input` with the keystream from 64-byte block `block` on; in place if `output` is `input`. */
  _crypto_stream_xsalsa20_xor_ic(
    output: number,
    input: number,
    lengthLow: number,
    lengthHigh: number,
    nonce: number,
    blockLow: number,
    blockHigh: number,
    key: number,
  ): number;
  _crypto_onetimeauth_poly1305_statebytes(): number;
  /** The state 16-byte aligned; the key 32 bytes. */
  _crypto_onetimeauth_poly1305_init(state: number, key: number): number;
  _crypto_onetimeauth_poly1305_update(state: number, input: number, lengthLow: number, lengthHigh: number): number;
  _crypto_onetimeauth_poly1305_final(state: number, mac: number): number;
  /** 0 if the 16 bytes at `a` and `b` are equal, -1 if not, in constant time. */
  _crypto_verify_16(a: number, b: number): number;
}

export const SECRETBOX_MAC = 16;
const KEY = 32;
const NONCE = 24;
/** Keystream bytes before the ciphertext's: Poly1305's one-time key. */
const LEAD = 32;
const BLOCK = 64;
/** The largest message boxed in the scratch area (a 64 KiB frame and its flags byte); larger ones are boxed in chunks. */
export const SCRATCH_ROOM = 64 * 1024 + 1;
/** Bytes of the stream (the 32 of the one-time key, then the message's) per chunk of a larger message: whole blocks, within the room. */
export const CHUNK_BYTES = 64 * 1024;

/**
 * Poly1305's state, a keystream block, key, nonce, then the MAC and a message of up to
 * SCRATCH_ROOM bytes (or a chunk): contiguous, zeroed in one fill.
 */
class Scratch {
  /** Where each part lives in libsodium's memory. */
  readonly state: number;
  readonly block: number;
  readonly key: number;
  readonly nonce: number;
  /** The box: its MAC, then the message's bytes (the plaintext goes in at `data + SECRETBOX_MAC`); or a chunk. */
  readonly data: number;
  readonly end: number;

  constructor(readonly raw: RawSodium) {
    const stateBytes = Math.ceil(raw._crypto_onetimeauth_poly1305_statebytes() / 16) * 16;
    const bytes = stateBytes + BLOCK + KEY + NONCE + SECRETBOX_MAC + SCRATCH_ROOM;
    const at = raw._malloc(bytes + 15);
    if (!at) throw new Error(`libsodium could not allocate ${bytes} bytes for boxes`);
    this.state = Math.ceil(at / 16) * 16;
    this.block = this.state + stateBytes;
    this.key = this.block + BLOCK;
    this.nonce = this.key + KEY;
    this.data = this.nonce + NONCE;
    this.end = this.data + SECRETBOX_MAC + SCRATCH_ROOM;
  }

  /** Key and nonce in place; the memory, to read after. */
  load(key: Uint8Array, nonce: Uint8Array): Uint8Array {
    const heap = this.raw.HEAPU8;
    heap.set(key, this.key);
    heap.set(nonce, this.nonce);
    return heap;
  }

  /**
   * XSalsa20 over the 32 zero bytes of the one-time key, then a message of `length` bytes, chunk by
   * chunk through the room at `data`: `put` copies the message's bytes [from, to) into the memory at
   * `into`, `took` gets them XORed there. The first chunk leaves the one-time key at `data`.
   */
  stream(
    heap: Uint8Array,
    length: number,
    put: (into: number, from: number, to: number) => void,
    took: (at: number, from: number, to: number) => void,
  ): void {
    for (let start = 0; start < LEAD + length; start += CHUNK_BYTES) {
      const end = Math.min(start + CHUNK_BYTES, LEAD + length);
      let into = this.data;
      if (start === 0) {
        heap.fill(0, into, into + LEAD);
        into += LEAD;
      }
      const from = Math.max(start - LEAD, 0);
      put(into, from, end - LEAD);
      this.raw._crypto_stream_xsalsa20_xor_ic(this.data, this.data, end - start, 0, this.nonce, start / BLOCK, 0, this.key);
      took(into, from, end - LEAD);
    }
  }
}

let scratch: Scratch | undefined;
/** Only after `sodium.ready`, which CURVE sockets await before their first connection. */
const area = (): Scratch => (scratch ??= new Scratch(rawSodium()));

function rawSodium(): RawSodium {
  const raw = (sodium as unknown as { libsodium?: RawSodium }).libsodium;
  if (
    typeof raw?._crypto_secretbox_easy !== 'function' ||
    typeof raw._crypto_stream_xsalsa20_xor_ic !== 'function' ||
    typeof raw._crypto_onetimeauth_poly1305_update !== 'function'
  ) {
    throw new Error(
      'libsodium-wrappers-sumo does not expose its raw module (sodium.libsodium) with the stream and Poly1305 primitives as 0.8 does: CURVE needs them',
    );
  }
  return raw;
}

/** For tests only: libsodium's memory and where the scratch area's parts are. */
export function scratchAreaForTests(): { heap: Uint8Array; start: number; key: number; nonce: number; data: number; end: number } {
  const p = area();
  return { heap: p.raw.HEAPU8, start: p.state, key: p.key, nonce: p.nonce, data: p.data, end: p.end };
}

/**
 * Whether writing `source`'s bytes in order to `target`, from byte `at` on, would overwrite bytes
 * of `source` not yet read: the same memory, the target starting inside the source after its start.
 */
function overruns(target: Uint8Array, at: number, source: Uint8Array): boolean {
  if (target.buffer !== source.buffer) return false;
  const written = target.byteOffset + at;
  return written > source.byteOffset && written < source.byteOffset + source.length;
}

/** What a seal takes, as SecretBoxes.sealInto does (no head room: these boxes copy the body in anyway). */
type SealArguments = [out: Uint8Array, at: number, head: number, body: Uint8Array, nonce: Uint8Array, key: Uint8Array];

/**
 * Boxes one byte `head`, then `body`, and writes the box (MAC first, SECRETBOX_MAC + 1 +
 * body.length bytes) into `out` at `at`.
 */
function sealWith(mac: Poly1305 | undefined, ...args: SealArguments): void {
  const [out, at, head, body, nonce, key] = args;
  const length = 1 + body.length;
  if (length > SCRATCH_ROOM) return sealChunked(mac, ...args);
  const p = area();
  const heap = p.load(key, nonce);
  const data = p.data;
  const message = data + SECRETBOX_MAC;
  try {
    heap[message] = head;
    heap.set(body, message + 1);
    p.raw._crypto_secretbox_easy(data, message, length, 0, p.nonce, p.key);
    out.set(heap.subarray(data, message + length), at);
  } finally {
    heap.fill(0, p.key, message + length);
  }
}

function sealChunked(mac: Poly1305 | undefined, ...[out, at, head, body, nonce, key]: SealArguments): void {
  const length = 1 + body.length;
  if (at < 0 || at + SECRETBOX_MAC + length > out.length)
    throw new RangeError(`a box of ${SECRETBOX_MAC + length} bytes does not fit at ${at} in ${out.length}`);
  const source = overruns(out, at + SECRETBOX_MAC + 1, body) ? Uint8Array.from(body) : body;
  const p = area();
  const { raw, state } = p;
  const heap = p.load(key, nonce);
  try {
    p.stream(
      heap,
      length,
      (into, from, to) => {
        if (from === 0) heap[into++] = head;
        heap.set(source.subarray(Math.max(from - 1, 0), to - 1), into);
      },
      (box, from, to) => {
        if (mac) {
          if (from === 0) oneTimeKey.set(heap.subarray(p.data, p.data + LEAD));
        } else {
          if (from === 0) raw._crypto_onetimeauth_poly1305_init(state, p.data);
          raw._crypto_onetimeauth_poly1305_update(state, box, to - from, 0);
        }
        out.set(heap.subarray(box, box + to - from), at + SECRETBOX_MAC + from);
      },
    );
    if (mac) {
      // the ciphertext is whole in `out` now: its MAC in one call, in front of it
      mac(oneTimeKey, out.subarray(at + SECRETBOX_MAC, at + SECRETBOX_MAC + length), out.subarray(at, at + SECRETBOX_MAC));
    } else {
      raw._crypto_onetimeauth_poly1305_final(state, p.block);
      out.set(heap.subarray(p.block, p.block + SECRETBOX_MAC), at);
    }
  } finally {
    heap.fill(0, p.state, p.end);
    oneTimeKey.fill(0);
  }
}

/**
 * Opens `box` (MAC first) and writes what it holds into `out` at `at`, which may be the box's own
 * memory: the plaintext is shorter than the box. False, and nothing written, if it does not open.
 */
function openWith(mac: Poly1305 | undefined, box: Uint8Array, nonce: Uint8Array, key: Uint8Array, out: Uint8Array, at: number): boolean {
  const length = box.length - SECRETBOX_MAC;
  if (length < 0) return false;
  if (length > SCRATCH_ROOM) return openChunked(mac, box, nonce, key, out, at);
  const p = area();
  const heap = p.load(key, nonce);
  const data = p.data;
  const message = data + SECRETBOX_MAC;
  try {
    heap.set(box, data);
    if (p.raw._crypto_secretbox_open_easy(message, data, box.length, 0, p.nonce, p.key) !== 0) return false;
    out.set(heap.subarray(message, message + length), at);
    return true;
  } finally {
    heap.fill(0, p.key, message + length);
  }
}

function openChunked(mac: Poly1305 | undefined, box: Uint8Array, nonce: Uint8Array, key: Uint8Array, out: Uint8Array, at: number): boolean {
  const length = box.length - SECRETBOX_MAC;
  if (at < 0 || at + length > out.length) throw new RangeError(`a message of ${length} bytes does not fit at ${at} in ${out.length}`);
  const p = area();
  const { raw, state, block, data } = p;
  const heap = p.load(key, nonce);
  try {
    // the MAC: Poly1305 keyed by the first 32 bytes of the keystream, over the ciphertext
    heap.fill(0, block, block + LEAD);
    raw._crypto_stream_xsalsa20_xor_ic(block, block, LEAD, 0, p.nonce, 0, 0, p.key);
    if (mac) {
      // straight from the caller's memory, in one call
      oneTimeKey.set(heap.subarray(block, block + LEAD));
      if (!poly1305Holds(mac, oneTimeKey, box.subarray(SECRETBOX_MAC), box.subarray(0, SECRETBOX_MAC))) return false;
    } else {
      raw._crypto_onetimeauth_poly1305_init(state, block);
      for (let from = SECRETBOX_MAC; from < box.length; from += CHUNK_BYTES) {
        const to = Math.min(from + CHUNK_BYTES, box.length);
        heap.set(box.subarray(from, to), data);
        raw._crypto_onetimeauth_poly1305_update(state, data, to - from, 0);
      }
      raw._crypto_onetimeauth_poly1305_final(state, block);
      heap.set(box.subarray(0, SECRETBOX_MAC), block + SECRETBOX_MAC);
      if (raw._crypto_verify_16(block, block + SECRETBOX_MAC) !== 0) return false;
    }

    // it holds: decrypt, chunk by chunk, into `out` (in place, each chunk lands before the ciphertext still to read)
    const cipher = box.subarray(SECRETBOX_MAC);
    const source = overruns(out, at, cipher) ? Uint8Array.from(cipher) : cipher;
    p.stream(
      heap,
      length,
      (into, from, to) => heap.set(source.subarray(from, to), into),
      (plain, from, to) => out.set(heap.subarray(plain, plain + to - from), at + from),
    );
    return true;
  } finally {
    heap.fill(0, p.state, p.end);
    oneTimeKey.fill(0);
  }
}

/** A large box's one-time key, outside libsodium's memory, for OpenSSL's Poly1305: zeroed after each call. */
const oneTimeKey = new Uint8Array(LEAD);

/** These boxes, their large boxes' MACs by `mac`, or by libsodium's own Poly1305 in WebAssembly. */
function heapBoxesMacBy(mac: Poly1305 | undefined, name: string): SecretBoxes {
  return {
    name,
    sealInto: (out, at, head, body, nonce, key) => sealWith(mac, out, at, head, body, nonce, key),
    openInto: (box, nonce, key, out, at) => openWith(mac, box, nonce, key, out, at),
  };
}

const openssl = loadOpensslPoly1305();

/**
 * These boxes, as CURVE takes them (secretbox.ts): where native libsodium cannot be loaded. The
 * MACs of boxes over SCRATCH_ROOM by Node's OpenSSL where it has Poly1305: about 180 µs a MiB,
 * against libsodium's 850 µs in WebAssembly, and read straight from the caller's memory.
 */
export const heapBoxes: SecretBoxes =
  typeof openssl === 'string'
    ? heapBoxesMacBy(undefined, `libsodium in WebAssembly (${openssl})`)
    : heapBoxesMacBy(openssl, "libsodium in WebAssembly, the MACs of boxes over 64 KiB by Node's OpenSSL");
/** The same with libsodium's own Poly1305 for every box, as where Node has none. */
export const heapBoxesOwnMac: SecretBoxes = heapBoxesMacBy(undefined, 'libsodium in WebAssembly, its own Poly1305');
