/**
 * NaCl's secretbox (XSalsa20, Poly1305) called straight on libsodium's WebAssembly memory, for
 * the boxes every CURVE frame costs. The wrappers' own calls allocate the inputs in that memory,
 * copy the result out into a new array and free, per call; here one scratch area is reused, the
 * plaintext is copied in once and the box out once, into the buffer the caller writes on the wire.
 * A 16-byte frame boxed and opened went from 2.7 to 1.6 µs (docs/benchmarks/2026-11-28/curve).
 *
 * Single-threaded by nature: each call uses the scratch area and leaves nothing in it.
 */
import sodium from 'libsodium-wrappers';

/** The emscripten module under the wrappers: its memory and the C functions used here. */
interface RawSodium {
  /** Replaced whenever the memory grows: read it after every `_malloc`. */
  readonly HEAPU8: Uint8Array;
  _malloc(bytes: number): number;
  _free(pointer: number): void;
  /** 64-bit lengths pass as two 32-bit halves, low first. */
  _crypto_secretbox_easy(box: number, message: number, lengthLow: number, lengthHigh: number, nonce: number, key: number): number;
  _crypto_secretbox_open_easy(message: number, box: number, lengthLow: number, lengthHigh: number, nonce: number, key: number): number;
}

export const SECRETBOX_MAC = 16;
const KEY = 32;
const NONCE = 24;

/** key, nonce, then room for one message and its box; grown to the largest message seen. */
class Scratch {
  /** Where each part lives in libsodium's memory (set when the area is made, or grown). */
  key = 0;
  nonce = 0;
  message = 0;
  box = 0;
  private room = 0;

  constructor(readonly raw: RawSodium) {}

  /** The memory, with key and nonce in place and room for a message of `bytes`. */
  load(bytes: number, key: Uint8Array, nonce: Uint8Array): Uint8Array {
    if (bytes > this.room) this.grow(bytes);
    const heap = this.raw.HEAPU8;
    heap.set(key, this.key);
    heap.set(nonce, this.nonce);
    return heap;
  }

  private grow(bytes: number): void {
    if (this.key) this.raw._free(this.key);
    this.room = Math.max(bytes, 2 * this.room, 4096);
    this.key = this.raw._malloc(KEY + NONCE + 2 * (this.room + SECRETBOX_MAC));
    if (!this.key) throw new Error(`libsodium could not allocate ${this.room} bytes for a box`);
    this.nonce = this.key + KEY;
    this.message = this.nonce + NONCE;
    this.box = this.message + this.room;
  }
}

let scratch: Scratch | undefined;
/** Only after `sodium.ready`, which CURVE sockets await before their first connection. */
const area = (): Scratch => (scratch ??= new Scratch(rawSodium()));

function rawSodium(): RawSodium {
  const raw = (sodium as unknown as { libsodium?: RawSodium }).libsodium;
  if (typeof raw?._crypto_secretbox_easy !== 'function') throw new Error('libsodium-wrappers does not expose its raw module (sodium.libsodium) as 0.8 does: CURVE needs it');
  return raw;
}

/**
 * Boxes one byte `head`, then `body`, and writes the box (MAC first, SECRETBOX_MAC + 1 +
 * body.length bytes) into `out` at `at`.
 */
export function sealInto(out: Uint8Array, at: number, head: number, body: Uint8Array, nonce: Uint8Array, key: Uint8Array): void {
  const length = 1 + body.length;
  const p = area();
  const heap = p.load(length, key, nonce);
  heap[p.message] = head;
  heap.set(body, p.message + 1);
  p.raw._crypto_secretbox_easy(p.box, p.message, length, 0, p.nonce, p.key);
  out.set(heap.subarray(p.box, p.box + SECRETBOX_MAC + length), at);
}

/**
 * Opens `box` (MAC first) and writes what it holds into `out` at `at`, which may be the box's own
 * memory: the plaintext is shorter than the box. False, and nothing written, if it does not open.
 */
export function openInto(box: Uint8Array, nonce: Uint8Array, key: Uint8Array, out: Uint8Array, at: number): boolean {
  const length = box.length - SECRETBOX_MAC;
  if (length < 0) return false;
  const p = area();
  const heap = p.load(length, key, nonce);
  heap.set(box, p.box);
  if (p.raw._crypto_secretbox_open_easy(p.message, p.box, box.length, 0, p.nonce, p.key) !== 0) return false;
  out.set(heap.subarray(p.message, p.message + length), at);
  return true;
}
