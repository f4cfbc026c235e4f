import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import sodium from 'libsodium-wrappers-sumo';
import { SCRATCH_ROOM, SECRETBOX_MAC, openInto, scratchAreaForTests, sealInto } from './heap-secretbox';

beforeAll(() => sodium.ready);

const bytes = (length: number) => fc.uint8Array({ minLength: length, maxLength: length });
/** Bytes from a seed (large arrays of arbitrary bytes generate slowly). */
const seeded = (length: number, seed: number): Buffer => {
  const b = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) b[i] = (seed + i * 31 + (i >>> 8)) & 0xff;
  return b;
};
/** Sizes small, around the scratch area's room (frames of 64 KiB and its flags byte fit), past it, and of a few MiB. */
const body = fc
  .tuple(
    fc.oneof(
      fc.integer({ min: 0, max: 300 }),
      fc.integer({ min: SCRATCH_ROOM - 10, max: SCRATCH_ROOM + 10 }),
      fc.integer({ min: 70_000, max: 140_000 }),
      fc.integer({ min: 1 << 20, max: 3 << 20 }),
    ),
    fc.nat(255),
  )
  .map(([length, seed]) => seeded(length, seed));
const raw = (): Uint8Array => (sodium as unknown as { libsodium: { HEAPU8: Uint8Array } }).libsodium.HEAPU8;
/** Whether libsodium's memory holds `needle` anywhere. */
const heapHolds = (needle: Uint8Array): boolean => {
  const heap = raw();
  return Buffer.from(heap.buffer, heap.byteOffset, heap.length).indexOf(needle) !== -1;
};

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
      { numRuns: 40 },
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

  it('refuses a large box changed anywhere, or opened with another nonce or key, and writes nothing', () => {
    fc.assert(
      fc.property(fc.oneof(fc.integer({ min: SCRATCH_ROOM - 4, max: SCRATCH_ROOM + 4 }), fc.integer({ min: 70_000, max: 300_000 })), bytes(24), bytes(32), fc.nat(), fc.integer({ min: 1, max: 255 }), (length, nonce, key, where, flip) => {
        const plain = seeded(length, where);
        const box = Buffer.from(sodium.crypto_secretbox_easy(plain, nonce, key));
        const tampered = Buffer.from(box);
        tampered[where % box.length] ^= flip;
        const otherNonce = Uint8Array.from(nonce);
        otherNonce[where % 24] ^= flip;
        const otherKey = Uint8Array.from(key);
        otherKey[where % 32] ^= flip;
        const into = Buffer.alloc(plain.length, 0xaa);

        expect(openInto(tampered, nonce, key, into, 0)).toBe(false);
        expect(openInto(box, otherNonce, key, into, 0)).toBe(false);
        expect(openInto(box, nonce, otherKey, into, 0)).toBe(false);
        expect(into.every((b) => b === 0xaa)).toBe(true);
        // in place, too: the box is left as it was
        const kept = Buffer.from(tampered);
        expect(openInto(tampered, nonce, key, tampered, 0)).toBe(false);
        expect(tampered.equals(kept)).toBe(true);
      }),
      { numRuns: 20 },
    );
  });

  it("leaves no key, nonce or plaintext in libsodium's memory after a call, small frames or large", () => {
    for (const length of [0, 16, 1000, SCRATCH_ROOM - 1, SCRATCH_ROOM, 200_000, 3 << 20]) {
      const key = randomBytes(32);
      const nonce = randomBytes(24);
      const plain = randomBytes(length);
      const out = new Uint8Array(SECRETBOX_MAC + 1 + length);
      sealInto(out, 0, 0x5a, plain, nonce, key);
      const { heap, key: keyAt, end } = scratchAreaForTests();
      expect(heap.subarray(keyAt, end).every((b) => b === 0)).toBe(true);
      expect(heapHolds(key)).toBe(false);
      expect(heapHolds(nonce)).toBe(false);
      if (length >= 32) expect(heapHolds(plain.subarray(length - 32))).toBe(false);

      expect(openInto(out, nonce, key, out, 0)).toBe(true);
      expect(Buffer.from(out.subarray(1, 1 + length)).equals(plain)).toBe(true);
      expect(scratchAreaForTests().heap.subarray(keyAt, end).every((b) => b === 0)).toBe(true);
      expect(heapHolds(key)).toBe(false);
      expect(heapHolds(nonce)).toBe(false);
      if (length >= 32) expect(heapHolds(plain.subarray(length - 32))).toBe(false);
    }
  });

  it("grows libsodium's memory by no more than one area of a large frame's size, once", () => {
    const length = 32 << 20;
    const key = randomBytes(32);
    const nonce = randomBytes(24);
    const plain = seeded(length, 7);
    const out = new Uint8Array(SECRETBOX_MAC + 1 + length);
    const before = raw().length;
    sealInto(out, 0, 0, plain, nonce, key);
    expect(openInto(out, nonce, key, out, 0)).toBe(true);
    expect(Buffer.from(out.subarray(1, 1 + length)).equals(plain)).toBe(true);
    const after = raw().length;
    expect(after - before).toBeLessThan(length + (4 << 20));
    // the next frames as large reuse that memory
    for (let i = 0; i < 3; i++) {
      sealInto(out, 0, 0, plain, nonce, key);
      expect(openInto(out, nonce, key, out, 0)).toBe(true);
    }
    expect(raw().length).toBe(after);
  });

  it('refuses what is shorter than a MAC', () => {
    expect(openInto(new Uint8Array(SECRETBOX_MAC - 1), new Uint8Array(24), new Uint8Array(32), new Uint8Array(16), 0)).toBe(false);
  });
});
