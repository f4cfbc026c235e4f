/**
 * NaCl's secretbox (XSalsa20, Poly1305) called straight on libsodium's WebAssembly memory, for
 * the boxes every CURVE frame costs. The wrappers' own calls allocate the inputs in that memory,
 * copy the result out into a new array and free, per call; here the plaintext is copied in once and
 * the box out once, into the buffer the caller writes on the wire, and libsodium boxes and opens in
 * place (the box is the MAC, then the ciphertext over the plaintext's own bytes).
 * A 16-byte frame boxed and opened went from 2.7 to 1.6 µs (docs/benchmarks/2026-11-28/curve).
 *
 * Memory: one scratch area made once, key, nonce and room for a frame of up to SCRATCH_ROOM bytes;
 * a larger frame gets an area of its own, `_malloc`ed for that call and freed after it. After every
 * call the bytes it used (key, nonce, plaintext, box) are zeroed: nothing of a session's key or of
 * a frame stays in libsodium's memory. The WebAssembly memory cannot shrink, though: it grows once
 * to about the largest frame boxed or opened (one area of the frame's size, not two), and the
 * allocator reuses that memory afterwards. Boxing a large frame in bounded memory would need
 * libsodium's crypto_stream_xsalsa20_xor_ic and crypto_onetimeauth_poly1305_*, which the raw
 * module of libsodium-wrappers 0.8 does not export (nor sodium_memzero: zeroing is a fill here).
 *
 * Single-threaded by nature: each call uses the scratch area and leaves nothing in it.
 */
import sodium from 'libsodium-wrappers-sumo';

/** The emscripten module under the wrappers: its memory and the C functions used here. */
interface RawSodium {
  /** Replaced whenever the memory grows: read it after every `_malloc`. */
  readonly HEAPU8: Uint8Array;
  _malloc(bytes: number): number;
  _free(pointer: number): void;
  /** 64-bit lengths pass as two 32-bit halves, low first. Box and message may overlap (libsodium moves as needed). */
  _crypto_secretbox_easy(box: number, message: number, lengthLow: number, lengthHigh: number, nonce: number, key: number): number;
  _crypto_secretbox_open_easy(message: number, box: number, lengthLow: number, lengthHigh: number, nonce: number, key: number): number;
}

export const SECRETBOX_MAC = 16;
const KEY = 32;
const NONCE = 24;
/** The largest message boxed in the scratch area (a 64 KiB frame and its flags byte); larger ones get an area per call. */
export const SCRATCH_ROOM = 64 * 1024 + 1;

/** key, nonce, then the MAC and a message of up to SCRATCH_ROOM bytes: contiguous, zeroed in one fill. */
class Scratch {
  /** Where each part lives in libsodium's memory. */
  readonly key: number;
  readonly nonce: number;
  /** The box: its MAC, then the message's bytes (the plaintext goes in at `data + SECRETBOX_MAC`). */
  readonly data: number;

  constructor(readonly raw: RawSodium) {
    this.key = raw._malloc(KEY + NONCE + SECRETBOX_MAC + SCRATCH_ROOM);
    if (!this.key) throw new Error(`libsodium could not allocate ${SCRATCH_ROOM} bytes for boxes`);
    this.nonce = this.key + KEY;
    this.data = this.nonce + NONCE;
  }

  /**
   * Where the box of a message of `bytes` goes (the scratch area, or one allocated for this call),
   * with key and nonce in place; `release` after.
   */
  load(bytes: number, key: Uint8Array, nonce: Uint8Array): number {
    const data = bytes <= SCRATCH_ROOM ? this.data : this.raw._malloc(SECRETBOX_MAC + bytes);
    if (!data) throw new RangeError(`libsodium could not allocate ${bytes} bytes to box a frame`);
    const heap = this.raw.HEAPU8;
    heap.set(key, this.key);
    heap.set(nonce, this.nonce);
    return data;
  }

  /** Zeroes what a call of `bytes` left at `data` (and key and nonce), and frees an area of its own. */
  release(data: number, bytes: number): void {
    const heap = this.raw.HEAPU8;
    if (data === this.data) {
      heap.fill(0, this.key, data + SECRETBOX_MAC + bytes);
    } else {
      heap.fill(0, this.key, this.data);
      heap.fill(0, data, data + SECRETBOX_MAC + bytes);
      this.raw._free(data);
    }
  }
}

let scratch: Scratch | undefined;
/** Only after `sodium.ready`, which CURVE sockets await before their first connection. */
const area = (): Scratch => (scratch ??= new Scratch(rawSodium()));

function rawSodium(): RawSodium {
  const raw = (sodium as unknown as { libsodium?: RawSodium }).libsodium;
  if (typeof raw?._crypto_secretbox_easy !== 'function') throw new Error('libsodium-wrappers-sumo does not expose its raw module (sodium.libsodium) as 0.8 does: CURVE needs it');
  return raw;
}

/** For tests only: libsodium's memory and where the scratch area's parts are. */
export function scratchAreaForTests(): { heap: Uint8Array; key: number; nonce: number; data: number; end: number } {
  const p = area();
  return { heap: p.raw.HEAPU8, key: p.key, nonce: p.nonce, data: p.data, end: p.data + SECRETBOX_MAC + SCRATCH_ROOM };
}

/**
 * Boxes one byte `head`, then `body`, and writes the box (MAC first, SECRETBOX_MAC + 1 +
 * body.length bytes) into `out` at `at`.
 */
export function sealInto(out: Uint8Array, at: number, head: number, body: Uint8Array, nonce: Uint8Array, key: Uint8Array): void {
  const length = 1 + body.length;
  const p = area();
  const data = p.load(length, key, nonce);
  try {
    const heap = p.raw.HEAPU8;
    const message = data + SECRETBOX_MAC;
    heap[message] = head;
    heap.set(body, message + 1);
    p.raw._crypto_secretbox_easy(data, message, length, 0, p.nonce, p.key);
    out.set(heap.subarray(data, message + length), at);
  } finally {
    p.release(data, length);
  }
}

/**
 * Opens `box` (MAC first) and writes what it holds into `out` at `at`, which may be the box's own
 * memory: the plaintext is shorter than the box. False, and nothing written, if it does not open.
 */
export function openInto(box: Uint8Array, nonce: Uint8Array, key: Uint8Array, out: Uint8Array, at: number): boolean {
  const length = box.length - SECRETBOX_MAC;
  if (length < 0) return false;
  const p = area();
  const data = p.load(length, key, nonce);
  try {
    const heap = p.raw.HEAPU8;
    const message = data + SECRETBOX_MAC;
    heap.set(box, data);
    if (p.raw._crypto_secretbox_open_easy(message, data, box.length, 0, p.nonce, p.key) !== 0) return false;
    out.set(heap.subarray(message, message + length), at);
    return true;
  } finally {
    p.release(data, length);
  }
}
