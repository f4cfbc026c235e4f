/**
 * NaCl's secretbox from native libsodium (the `sodium-native` addon), where it can be loaded: about
 * six times the WebAssembly build's speed on a 64 KiB frame (libsodium's SIMD code, which the
 * WebAssembly build lacks; docs/benchmarks/2026-12-06/encrypted). Boxes and opens in the caller's
 * memory, in place: libsodium reads the whole box before it writes a byte of a box that does not
 * open, and moves the bytes itself where input and output overlap.
 *
 * Optional by design: the programs' images carry the addon, the npm packages do not depend on it
 * (a user may install it beside them), and where it is missing or refused the WebAssembly boxes
 * serve (secretbox.ts).
 */
import { createRequire } from 'node:module';
import type { SecretBoxes } from './secretbox-shape';

/** The calls of sodium-native used here (its own argument checks included). */
interface SodiumNative {
  crypto_secretbox_easy(box: Uint8Array, message: Uint8Array, nonce: Uint8Array, key: Uint8Array): void;
  crypto_secretbox_detached(ciphertext: Uint8Array, mac: Uint8Array, message: Uint8Array, nonce: Uint8Array, key: Uint8Array): void;
  crypto_secretbox_open_easy(message: Uint8Array, box: Uint8Array, nonce: Uint8Array, key: Uint8Array): boolean;
  crypto_secretbox_MACBYTES: number;
}

const MAC = 16;

/**
 * The addon, or why not. Loaded by a require the bundlers do not follow (the apps' bundles and the
 * packages leave it to be resolved at run time, next to them), so no build needs it.
 */
export function loadNativeBoxes(): SecretBoxes | string {
  let sodium: SodiumNative;
  try {
    sodium = createRequire(__filename)('sodium-native') as SodiumNative;
  } catch (e) {
    return `sodium-native not loaded (${(e as Error).message.split('\n')[0]})`;
  }
  if (
    typeof sodium.crypto_secretbox_easy !== 'function' ||
    typeof sodium.crypto_secretbox_detached !== 'function' ||
    sodium.crypto_secretbox_MACBYTES !== MAC
  )
    return 'sodium-native has no crypto_secretbox_easy and _detached of 16-byte MACs';
  return {
    name: 'native libsodium (sodium-native)',
    sealInto(out, at, head, body, nonce, key, headRoom = false) {
      const length = 1 + body.length;
      if (at < 0 || at + MAC + length > out.length)
        throw new RangeError(`a box of ${MAC + length} bytes does not fit at ${at} in ${out.length}`);
      if (headRoom && body.byteOffset > 0 && body.buffer !== out.buffer) {
        // the message (flags byte, then body) is already whole where body lies: boxed from there, no copy
        const message = new Uint8Array(body.buffer, body.byteOffset - 1, length);
        message[0] = head;
        sodium.crypto_secretbox_detached(out.subarray(at + MAC, at + MAC + length), out.subarray(at, at + MAC), message, nonce, key);
        return;
      }
      // the message (flags byte, then body) where the ciphertext goes, then boxed in place
      const message = out.subarray(at + MAC, at + MAC + length);
      message.set(body, 1);
      message[0] = head;
      sodium.crypto_secretbox_easy(out.subarray(at, at + MAC + length), message, nonce, key);
    },
    openInto(box, nonce, key, out, at) {
      const length = box.length - MAC;
      if (length < 0) return false;
      if (at < 0 || at + length > out.length) throw new RangeError(`a message of ${length} bytes does not fit at ${at} in ${out.length}`);
      return sodium.crypto_secretbox_open_easy(out.subarray(at, at + length), box, nonce, key);
    },
  };
}
