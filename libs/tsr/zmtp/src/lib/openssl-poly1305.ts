/**
 * Poly1305 from the OpenSSL inside Node (`crypto.createMac`, new in Node 26), for the MACs of large
 * CURVE boxes. OpenSSL has AVX2 code for it; libsodium has only SSE2. On this project's machines
 * OpenSSL's takes a MiB in 170–200 µs, libsodium's in 290–480 µs
 * (docs/benchmarks/2026-12-07/encrypted/README.md, "Poly1305 from Node's OpenSSL").
 *
 * NaCl's Poly1305 and RFC 8439's are the same function. Before first use, the MAC is checked on
 * RFC 8439's own test vector, so a Node whose OpenSSL lacks it, or computes something else, is
 * never used. Looked up and checked once per process, for the native and the WebAssembly boxes alike.
 */
import * as crypto from 'node:crypto';

/** Writes the 16-byte Poly1305 MAC of `message` under the one-time `key` (32 bytes) into `mac`. */
export type Poly1305 = (key: Uint8Array, message: Uint8Array, mac: Uint8Array) => void;

/** The part of Node 26's `crypto` used here, which @types/node does not describe yet. */
interface MacApi {
  createMac?: (algorithm: string, key: Uint8Array) => { update(data: Uint8Array): unknown; final(): Buffer };
  getMacs?: () => string[];
}

/** RFC 8439, section 2.5.2. */
const VECTOR = {
  key: '85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b',
  message: 'Cryptographic Forum Research Group',
  mac: 'a8061dc1305136c6c22b8baf0c0127a9',
};

let loaded: Poly1305 | string | undefined;

/** OpenSSL's Poly1305, or why not. */
export const loadOpensslPoly1305 = (): Poly1305 | string => (loaded ??= lookUp());

function lookUp(): Poly1305 | string {
  const { createMac, getMacs } = crypto as unknown as MacApi;
  if (typeof createMac !== 'function' || typeof getMacs !== 'function') return "Node's crypto has no createMac (Node 26 or later has)";
  if (!getMacs().includes('poly1305')) return "Node's OpenSSL has no Poly1305";
  const poly1305: Poly1305 = (key, message, mac) => {
    const mac16 = createMac('poly1305', key);
    mac16.update(message);
    mac.set(mac16.final());
  };
  const got = new Uint8Array(16);
  try {
    poly1305(Buffer.from(VECTOR.key, 'hex'), Buffer.from(VECTOR.message, 'latin1'), got);
  } catch (e) {
    return `Node's Poly1305 failed its test vector (${(e as Error).message})`;
  }
  return Buffer.from(got).toString('hex') === VECTOR.mac ? poly1305 : "Node's Poly1305 does not give RFC 8439's test vector";
}

const computed = new Uint8Array(16);

/** Whether `tag` is the Poly1305 MAC of `message` under `key`, compared in constant time. */
export function poly1305Holds(poly1305: Poly1305, key: Uint8Array, message: Uint8Array, tag: Uint8Array): boolean {
  poly1305(key, message, computed);
  return crypto.timingSafeEqual(computed, tag);
}
