/**
 * NaCl's secretbox from native libsodium (the `sodium-native` addon), where it can be loaded: about
 * six times the WebAssembly build's speed on a 64 KiB frame (libsodium's SIMD code, which the
 * WebAssembly build lacks; docs/benchmarks/2026-12-06/encrypted). Boxes and opens in the caller's
 * memory, in place: libsodium reads the whole box before it writes a byte of a box that does not
 * open, and moves the bytes itself where input and output overlap.
 *
 * A message of SPLIT_MIN bytes or more is boxed in two passes instead, as secretbox is defined:
 *
 *   K = XSalsa20(key, nonce); Poly1305's one-time key is K[0, 32);
 *   the ciphertext is the message XOR K[32, 32 + length); the box is Poly1305(c), then c.
 *
 * libsodium runs the stream (crypto_stream_xor_init/update, which continues K where the one-time
 * key ends), and Node's OpenSSL the MAC (openssl-poly1305.ts), about twice as fast as libsodium's.
 * Opening checks the MAC before it decrypts a byte.
 *
 * Optional by design: the programs' images carry the addon, the npm packages do not depend on it
 * (a user may install it beside them), and where it is missing or refused the WebAssembly boxes
 * serve (secretbox.ts).
 */
import { createRequire } from 'node:module';
import { type Poly1305, loadOpensslPoly1305, poly1305Holds } from './openssl-poly1305';
import type { SecretBoxes } from './secretbox-shape';

/** The calls of sodium-native used here (its own argument checks included). */
interface SodiumNative {
  crypto_secretbox_detached(ciphertext: Uint8Array, mac: Uint8Array, message: Uint8Array, nonce: Uint8Array, key: Uint8Array): void;
  crypto_secretbox_open_easy(message: Uint8Array, box: Uint8Array, nonce: Uint8Array, key: Uint8Array): boolean;
  crypto_secretbox_MACBYTES: number;
  /** XSalsa20 as a stream: each update XORs the next bytes of K (in place if `out` is `input`). */
  crypto_stream_xor_init(state: Uint8Array, nonce: Uint8Array, key: Uint8Array): void;
  crypto_stream_xor_update(state: Uint8Array, out: Uint8Array, input: Uint8Array): void;
  /** Zeroes the state's key and nonce. */
  crypto_stream_xor_final(state: Uint8Array): void;
  crypto_stream_xor_STATEBYTES: number;
}

const MAC = 16;
/** Poly1305's one-time key: the first bytes of the stream. */
const ONE_TIME_KEY = 32;
/**
 * The message length from which the stream and the MAC go separately. Below it the extra calls cost
 * more than OpenSSL's MAC saves: timed alone, the split box takes 0.94 of libsodium's time at 64 KiB,
 * 0.90 at 256 KiB and 0.82 at 1 MiB, and 1.4 at 16 KiB.
 */
export const SPLIT_MIN = 128 * 1024;

/**
 * The addon, or why not. Loaded by a require the bundlers do not follow (the apps' bundles and the
 * packages leave it to be resolved at run time, next to them), so no build needs it.
 */
export function loadNativeBoxes(splitMin = SPLIT_MIN): SecretBoxes | string {
  let sodium: SodiumNative;
  try {
    sodium = createRequire(__filename)('sodium-native') as SodiumNative;
  } catch (e) {
    return `sodium-native not loaded (${(e as Error).message.split('\n')[0]})`;
  }
  if (
    typeof sodium.crypto_secretbox_open_easy !== 'function' ||
    typeof sodium.crypto_secretbox_detached !== 'function' ||
    sodium.crypto_secretbox_MACBYTES !== MAC
  )
    return 'sodium-native has no crypto_secretbox_detached and _open_easy of 16-byte MACs';
  const split = splitBoxes(sodium);
  return {
    name:
      typeof split === 'string'
        ? `native libsodium (sodium-native); ${split}`
        : `native libsodium (sodium-native), the MACs of boxes from ${splitMin / 1024} KiB by Node's OpenSSL`,
    sealInto(out, at, head, body, nonce, key, headRoom = false) {
      const length = 1 + body.length;
      if (at < 0 || at + MAC + length > out.length)
        throw new RangeError(`a box of ${MAC + length} bytes does not fit at ${at} in ${out.length}`);
      const box = out.subarray(at, at + MAC + length);
      let message: Uint8Array;
      if (headRoom && body.byteOffset > 0 && body.buffer !== out.buffer) {
        // the message (flags byte, then body) is already whole where body lies: boxed from there, no copy
        message = new Uint8Array(body.buffer, body.byteOffset - 1, length);
      } else {
        // the message (flags byte, then body) where the ciphertext goes, then boxed in place
        message = box.subarray(MAC);
        message.set(body, 1);
      }
      message[0] = head;
      if (typeof split !== 'string' && length >= splitMin) split.seal(box, message, nonce, key);
      else sodium.crypto_secretbox_detached(box.subarray(MAC), box.subarray(0, MAC), message, nonce, key);
    },
    openInto(box, nonce, key, out, at) {
      const length = box.length - MAC;
      if (length < 0) return false;
      if (at < 0 || at + length > out.length) throw new RangeError(`a message of ${length} bytes does not fit at ${at} in ${out.length}`);
      const message = out.subarray(at, at + length);
      if (typeof split !== 'string' && length >= splitMin) return split.open(box, message, nonce, key);
      return sodium.crypto_secretbox_open_easy(message, box, nonce, key);
    },
  };
}

/** Boxes in two passes: libsodium's stream, OpenSSL's MAC. */
interface SplitBoxes {
  /** Boxes `message` into `box` (MAC first): `message` is the ciphertext's own place, or memory apart from it. */
  seal(box: Uint8Array, message: Uint8Array, nonce: Uint8Array, key: Uint8Array): void;
  /** Opens `box` into `message`; false, and nothing written, if it does not open. */
  open(box: Uint8Array, message: Uint8Array, nonce: Uint8Array, key: Uint8Array): boolean;
}

function splitBoxes(sodium: SodiumNative): SplitBoxes | string {
  if (typeof sodium.crypto_stream_xor_update !== 'function' || !(sodium.crypto_stream_xor_STATEBYTES > 0))
    return 'sodium-native has no crypto_stream_xor_update';
  const poly1305: Poly1305 | string = loadOpensslPoly1305();
  if (typeof poly1305 === 'string') return poly1305;
  // one of each, used and zeroed within a call: boxing is synchronous
  const state = new Uint8Array(sodium.crypto_stream_xor_STATEBYTES);
  const oneTimeKey = new Uint8Array(ONE_TIME_KEY);
  const zeros = new Uint8Array(ONE_TIME_KEY);
  /** Starts the stream, leaving it at K[32] and Poly1305's key in `oneTimeKey`. */
  const start = (nonce: Uint8Array, key: Uint8Array): void => {
    sodium.crypto_stream_xor_init(state, nonce, key);
    sodium.crypto_stream_xor_update(state, oneTimeKey, zeros);
  };
  const end = (): void => {
    sodium.crypto_stream_xor_final(state);
    oneTimeKey.fill(0);
  };
  return {
    seal(box, message, nonce, key) {
      const cipher = box.subarray(MAC);
      start(nonce, key);
      try {
        sodium.crypto_stream_xor_update(state, cipher, message);
        poly1305(oneTimeKey, cipher, box.subarray(0, MAC));
      } finally {
        end();
      }
    },
    open(box, message, nonce, key) {
      const cipher = box.subarray(MAC);
      start(nonce, key);
      try {
        if (!poly1305Holds(poly1305, oneTimeKey, cipher, box.subarray(0, MAC))) return false;
        // in place, or from a copy where the message would overwrite ciphertext not yet read
        sodium.crypto_stream_xor_update(state, message, overlapsAside(message, cipher) ? Uint8Array.from(cipher) : cipher);
        return true;
      } finally {
        end();
      }
    },
  };
}

/** Whether `a` and `b` share memory without starting at the same byte. */
function overlapsAside(a: Uint8Array, b: Uint8Array): boolean {
  if (a.buffer !== b.buffer || a.byteOffset === b.byteOffset) return false;
  return a.byteOffset < b.byteOffset + b.length && b.byteOffset < a.byteOffset + a.length;
}
