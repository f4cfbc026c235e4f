import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import sodium from 'libsodium-wrappers-sumo';
import { CHUNK_BYTES, SCRATCH_ROOM, SECRETBOX_MAC, heapBoxes, heapBoxesOwnMac, scratchAreaForTests } from './heap-secretbox';
import { SPLIT_MIN, loadNativeBoxes } from './native-secretbox';
import { loadOpensslPoly1305 } from './openssl-poly1305';
import { secretBoxes } from './secretbox';
import type { SecretBoxes } from './secretbox-shape';

beforeAll(() => sodium.ready);

const bytes = (length: number) => fc.uint8Array({ minLength: length, maxLength: length });
/** Bytes from a seed (large arrays of arbitrary bytes generate slowly). */
const seeded = (length: number, seed: number): Buffer => {
  const b = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) b[i] = (seed + i * 31 + (i >>> 8)) & 0xff;
  return b;
};
/**
 * Message lengths (the flags byte and the body) where chunks meet: around the scratch area's room
 * (a 64 KiB frame and its flags byte), ± 1, 32 and 64 around 64 KiB, and where the stream (the
 * one-time key's 32 bytes, then the message) ends at or about a multiple of the chunk size.
 */
const edges = [
  ...[-65, -64, -63, -33, -32, -31, -2, -1, 0, 1, 2, 31, 32, 33, 63, 64, 65].map((d) => 64 * 1024 + d),
  ...[2, 3, 5, 17, 40].flatMap((k) => [-1, 0, 1].flatMap((d) => [k * CHUNK_BYTES + d, k * CHUNK_BYTES - 32 + d])),
];
/** Sizes small, around the scratch area's room, at chunk edges, past it, and of a few MiB. */
const body = fc
  .tuple(
    fc.oneof(
      fc.integer({ min: 0, max: 300 }),
      fc.integer({ min: SCRATCH_ROOM - 10, max: SCRATCH_ROOM + 10 }),
      fc.constantFrom(...edges).map((message) => message - 1),
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

/** Native libsodium: this workspace installs sodium-native, so a missing addon fails here rather than skipping its tests. */
const nativeBoxes = (splitMin = SPLIT_MIN): SecretBoxes => {
  const native = loadNativeBoxes(splitMin);
  if (typeof native === 'string') throw new Error(native);
  return native;
};

describe.each([
  ['libsodium in WebAssembly, on its heap, large MACs by OpenSSL', () => heapBoxes],
  ['libsodium in WebAssembly, on its heap, its own Poly1305', () => heapBoxesOwnMac],
  ['native libsodium', () => nativeBoxes()],
  // every box, of any size, as the large ones go: libsodium's stream, then OpenSSL's MAC
  ["native libsodium's stream with Node's Poly1305", () => nativeBoxes(0)],
])('secretbox: %s, against libsodium-wrappers', (_name, boxes) => {
  const { sealInto, openInto } = boxes();

  it('seals as libsodium does and opens what libsodium sealed, in any order of sizes', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 255 }), body, bytes(24), bytes(32)), { minLength: 1, maxLength: 6 }),
        (cases) => {
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
        },
      ),
      { numRuns: 60 },
    );
  });

  it('refuses a box changed anywhere, or opened with another nonce or key, and writes nothing', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 200 }),
        bytes(24),
        bytes(32),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (plain, nonce, key, where, flip) => {
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
        },
      ),
    );
  });

  it('refuses a large box changed anywhere, or opened with another nonce or key, and writes nothing', () => {
    const tamperedAt = (length: number) =>
      fc.oneof(
        fc.nat(SECRETBOX_MAC + length - 1),
        fc
          .constantFrom(
            0,
            SECRETBOX_MAC - 1,
            SECRETBOX_MAC,
            SECRETBOX_MAC + CHUNK_BYTES - 1,
            SECRETBOX_MAC + CHUNK_BYTES,
            SECRETBOX_MAC + length - 1,
          )
          .map((at) => at % (SECRETBOX_MAC + length)),
      );
    const lengths = fc.oneof(
      fc.integer({ min: SCRATCH_ROOM - 4, max: SCRATCH_ROOM + 4 }),
      fc.constantFrom(...edges),
      fc.integer({ min: 70_000, max: 300_000 }),
    );
    fc.assert(
      fc.property(
        lengths.chain((length) => fc.tuple(fc.constant(length), tamperedAt(length))),
        bytes(24),
        bytes(32),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        ([length, where], nonce, key, seed, flip) => {
          const plain = seeded(length, seed);
          const box = Buffer.from(sodium.crypto_secretbox_easy(plain, nonce, key));
          const tampered = Buffer.from(box);
          tampered[where] ^= flip;
          const otherNonce = Uint8Array.from(nonce);
          otherNonce[seed % 24] ^= flip;
          const otherKey = Uint8Array.from(key);
          otherKey[seed % 32] ^= flip;
          const into = Buffer.alloc(plain.length, 0xaa);

          expect(openInto(tampered, nonce, key, into, 0)).toBe(false);
          expect(openInto(box, otherNonce, key, into, 0)).toBe(false);
          expect(openInto(box, nonce, otherKey, into, 0)).toBe(false);
          expect(into.every((b) => b === 0xaa)).toBe(true);
          // in place, too: the box is left as it was
          const kept = Buffer.from(tampered);
          expect(openInto(tampered, nonce, key, tampered, 0)).toBe(false);
          expect(tampered.equals(kept)).toBe(true);
        },
      ),
      { numRuns: 30 },
    );
  });

  it('seals a body and opens a box whose memory the output overlaps, either way round', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.integer({ min: 0, max: 300 }), fc.constantFrom(...edges), fc.integer({ min: 70_000, max: 300_000 })),
        fc.integer({ min: -40, max: 40 }),
        bytes(24),
        bytes(32),
        (length, shift, nonce, key) => {
          const plain = seeded(length, shift & 0xff);
          const message = Buffer.concat([Buffer.from([7]), plain]);
          const expected = Buffer.from(sodium.crypto_secretbox_easy(message, nonce, key));
          // one buffer holds the body and, `shift` bytes from where it starts, the box written over it
          const memory = Buffer.alloc(expected.length + 200);
          const bodyAt = 100;
          memory.set(plain, bodyAt);
          sealInto(memory, bodyAt + shift, 7, memory.subarray(bodyAt, bodyAt + length), nonce, key);
          expect(memory.subarray(bodyAt + shift, bodyAt + shift + expected.length).equals(expected)).toBe(true);

          // and the box opened into the same memory, `shift` bytes from where the box starts
          memory.set(expected, bodyAt);
          expect(openInto(memory.subarray(bodyAt, bodyAt + expected.length), nonce, key, memory, bodyAt + shift)).toBe(true);
          expect(memory.subarray(bodyAt + shift, bodyAt + shift + message.length).equals(message)).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('seals from where a frame lies when the byte before it is ours to overwrite, as libsodium does, and leaves the frame as it was', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.integer({ min: 0, max: 300 }), fc.constantFrom(...edges), fc.integer({ min: 70_000, max: 300_000 })),
        fc.integer({ min: 0, max: 255 }),
        fc.integer({ min: 0, max: 3 }),
        bytes(24),
        bytes(32),
        (length, head, before, nonce, key) => {
          const plain = seeded(length, head ^ before);
          const expected = Buffer.from(sodium.crypto_secretbox_easy(Buffer.concat([Buffer.from([head]), plain]), nonce, key));
          // the frame `before` bytes into its memory (0: no byte before it, so copied after all)
          const memory = Buffer.alloc(before + length + 5, 0xee);
          memory.set(plain, before);
          const frame = memory.subarray(before, before + length);
          const out = new Uint8Array(2 + expected.length);
          sealInto(out, 2, head, frame, nonce, key, true);
          expect(Buffer.from(out.subarray(2)).equals(expected)).toBe(true);
          expect(frame.equals(plain)).toBe(true);
          expect(memory.subarray(before + length).every((b) => b === 0xee)).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('refuses what is shorter than a MAC', () => {
    expect(openInto(new Uint8Array(SECRETBOX_MAC - 1), new Uint8Array(24), new Uint8Array(32), new Uint8Array(16), 0)).toBe(false);
  });
});

describe('the secretbox CURVE uses', () => {
  it("is native libsodium where sodium-native loads, as here, with Node's Poly1305 for large boxes", () => {
    expect(secretBoxes().name).toBe(nativeBoxes().name);
    expect(secretBoxes().name).toMatch(/MACs of boxes from 128 KiB by Node's OpenSSL/);
  });

  it("in WebAssembly, where sodium-native is missing, takes large boxes' MACs from Node's OpenSSL too", () => {
    expect(heapBoxes.name).toBe("libsodium in WebAssembly, the MACs of boxes over 64 KiB by Node's OpenSSL");
  });
});

describe("Poly1305 from Node's OpenSSL", () => {
  it("gives libsodium's crypto_onetimeauth, byte for byte, for any key and message", () => {
    const poly1305 = loadOpensslPoly1305();
    if (typeof poly1305 === 'string') throw new Error(poly1305);
    fc.assert(
      fc.property(
        bytes(32),
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }),
          fc.integer({ min: 1 << 16, max: 1 << 21 }).map((n) => seeded(n, n & 0xff)),
        ),
        (key, message) => {
          const mac = new Uint8Array(16);
          poly1305(key, message, mac);
          expect(Buffer.from(mac).equals(sodium.crypto_onetimeauth(message, key))).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe.each([
  ['large MACs by OpenSSL', heapBoxes],
  ['its own Poly1305', heapBoxesOwnMac],
])('secretbox on the WebAssembly heap, %s: its memory', (_name, { sealInto, openInto }) => {
  it("leaves no key, nonce or plaintext in libsodium's memory after a call, small frames or large", () => {
    for (const length of [0, 16, 1000, SCRATCH_ROOM - 1, SCRATCH_ROOM, SCRATCH_ROOM + 1, 200_000, 3 << 20]) {
      const key = randomBytes(32);
      const nonce = randomBytes(24);
      const plain = randomBytes(length);
      const out = new Uint8Array(SECRETBOX_MAC + 1 + length);
      sealInto(out, 0, 0x5a, plain, nonce, key);
      const { heap, start, end } = scratchAreaForTests();
      expect(heap.subarray(start, end).every((b) => b === 0)).toBe(true);
      expect(heapHolds(key)).toBe(false);
      expect(heapHolds(nonce)).toBe(false);
      if (length >= 32) expect(heapHolds(plain.subarray(length - 32))).toBe(false);

      expect(openInto(out, nonce, key, out, 0)).toBe(true);
      expect(Buffer.from(out.subarray(1, 1 + length)).equals(plain)).toBe(true);
      expect(
        scratchAreaForTests()
          .heap.subarray(start, end)
          .every((b) => b === 0),
      ).toBe(true);
      expect(heapHolds(key)).toBe(false);
      expect(heapHolds(nonce)).toBe(false);
      if (length >= 32) expect(heapHolds(plain.subarray(length - 32))).toBe(false);
    }
  });

  it("does not grow libsodium's memory with the frame: a 64 MiB frame boxed and opened through the scratch area", () => {
    const length = 64 << 20;
    const key = randomBytes(32);
    const nonce = randomBytes(24);
    const plain = seeded(length, 7);
    const out = new Uint8Array(SECRETBOX_MAC + 1 + length);
    const before = raw().length;
    sealInto(out, 0, 0, plain, nonce, key);
    expect(openInto(out, nonce, key, out, 0)).toBe(true);
    expect(Buffer.from(out.subarray(1, 1 + length)).equals(plain)).toBe(true);
    expect(raw().length - before).toBeLessThan(1 << 20);
  });
});
