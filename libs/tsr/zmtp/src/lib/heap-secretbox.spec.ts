import fc from 'fast-check';
import sodium from 'libsodium-wrappers';
import { SECRETBOX_MAC, openInto, sealInto } from './heap-secretbox';

beforeAll(() => sodium.ready);

const bytes = (length: number) => fc.uint8Array({ minLength: length, maxLength: length });
/** Sizes around the scratch area's growth (4 KiB first), and far past it; bytes from a seed (large arrays of arbitrary bytes generate slowly). */
const body = fc
  .tuple(fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 4090, max: 4100 }), fc.integer({ min: 70_000, max: 140_000 })), fc.nat(255))
  .map(([length, seed]) => Buffer.from(Array.from({ length }, (_, i) => (seed + i * 31) & 0xff)));

describe('secretbox on the WebAssembly heap', () => {
  it('seals as libsodium does and opens what libsodium sealed, in any order of sizes', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 255 }), body, bytes(24), bytes(32)), { minLength: 1, maxLength: 6 }), (cases) => {
        for (const [head, plain, nonce, key] of cases) {
          const message = Buffer.concat([Buffer.from([head]), plain]);
          const out = new Uint8Array(3 + SECRETBOX_MAC + message.length);
          sealInto(out, 3, head, plain, nonce, key);
          const box = out.subarray(3);
          expect(Buffer.from(box).equals(sodium.crypto_secretbox_easy(message, nonce, key))).toBe(true);

          // opened in place: the plaintext lands over the box's own first bytes
          expect(openInto(box, nonce, key, box, 0)).toBe(true);
          expect(message.equals(box.subarray(0, message.length))).toBe(true);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('refuses a box changed anywhere, or opened with another nonce or key, and writes nothing', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 200 }), bytes(24), bytes(32), fc.nat(), fc.integer({ min: 1, max: 255 }), (plain, nonce, key, where, flip) => {
        const box = Buffer.from(sodium.crypto_secretbox_easy(plain, nonce, key));
        const into = Buffer.alloc(plain.length, 0xaa);
        const tampered = Buffer.from(box);
        tampered[where % box.length] ^= flip;
        const otherNonce = Uint8Array.from(nonce);
        otherNonce[where % 24] ^= flip;
        const otherKey = Uint8Array.from(key);
        otherKey[where % 32] ^= flip;

        expect(openInto(tampered, nonce, key, into, 0)).toBe(false);
        expect(openInto(box, otherNonce, key, into, 0)).toBe(false);
        expect(openInto(box, nonce, otherKey, into, 0)).toBe(false);
        expect(into.every((b) => b === 0xaa)).toBe(true);
      }),
    );
  });

  it('refuses what is shorter than a MAC', () => {
    expect(openInto(new Uint8Array(SECRETBOX_MAC - 1), new Uint8Array(24), new Uint8Array(32), new Uint8Array(16), 0)).toBe(false);
  });
});
