/**
 * CURVE key pairs as ZeroMQ writes them (RFC 26 keys, RFC 32 Z85 text), made and derived with
 * Node's own X25519: no native addon, and the same keys as libzmq's `zmq_curve_keypair` and
 * `zmq_curve_public`.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { z85Decode, z85Encode } from './z85';

/** A long-term CURVE key pair, raw (32 bytes each), as the mechanism takes it. */
export interface CurveKeyBytes {
  publicKey: Buffer;
  secretKey: Buffer;
}

/** A CURVE key pair as ZeroMQ's APIs take it: two 40-character Z85 texts. */
export interface CurveKeyPair {
  publicKey: string;
  secretKey: string;
}

const KEY = 32;
// DER headers of raw X25519 keys: PKCS#8 for a private key, SPKI for a public one.
const X25519_PKCS8 = Buffer.from('302e020100300506032b656e04220420', 'hex');

/** The raw public key of a raw secret key (X25519 of the base point). */
export function curvePublicKeyBytes(secretKey: Uint8Array): Buffer {
  if (secretKey.length !== KEY) throw new RangeError('a CURVE secret key is 32 bytes');
  const spki = createPublicKey(createPrivateKey({ key: Buffer.concat([X25519_PKCS8, secretKey]), format: 'der', type: 'pkcs8' })).export({
    format: 'der',
    type: 'spki',
  });
  return spki.subarray(spki.length - KEY);
}

/** A fresh random key pair in Z85 (libzmq's `zmq_curve_keypair`). */
export function curveKeyPair(): CurveKeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('x25519');
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' });
  return { publicKey: z85Encode(spki.subarray(spki.length - KEY)), secretKey: z85Encode(pkcs8.subarray(pkcs8.length - KEY)) };
}

/** The Z85 public key of a Z85 secret key (libzmq's `zmq_curve_public`); undefined if it is no key. */
export function curvePublicKey(secretKey: string): string | undefined {
  const raw = z85Decode(secretKey);
  return raw?.length === KEY ? z85Encode(curvePublicKeyBytes(raw)) : undefined;
}

/** A key's 32 bytes from its Z85 text (a RangeError if it is no key: keys are checked when read). */
export function curveKeyBytes(key: string): Buffer {
  const raw = z85Decode(key);
  if (raw?.length !== KEY) throw new RangeError('a CURVE key is 40 Z85 characters');
  return raw;
}

/** A Z85 key pair's bytes, as the mechanism takes them. */
export const curveKeyPairBytes = (pair: CurveKeyPair): CurveKeyBytes => ({
  publicKey: curveKeyBytes(pair.publicKey),
  secretKey: curveKeyBytes(pair.secretKey),
});
