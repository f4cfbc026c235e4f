import { type CurveKeyPair, curveKeyPair, curvePublicKey, z85Decode } from '@tsr/zmtp';
import { ConfigError } from '../errors';

export type { CurveKeyPair } from '@tsr/zmtp';

/** True for a 40-character Z85 text (32 bytes): the form of every CURVE key. */
export const isZ85Key = (text: string): boolean => text.length === 40 && z85Decode(text) !== undefined;

/** A fresh random key pair (libzmq's `zmq_curve_keypair`, made with Node's X25519). */
export const newKeyPair = (): CurveKeyPair => curveKeyPair();

/** The public key of a secret key (X25519, as libzmq's `zmq_curve_public`): a key pair needs only its secret half. */
export function publicKeyOf(secretKey: string): string {
  const publicKey = curvePublicKey(secretKey);
  if (publicKey === undefined) throw new ConfigError('a CURVE secret key is 40 Z85 characters');
  return publicKey;
}

/** What a key text holds: the `public-key` and `secret-key` lines of a key file, and bare keys (one per line). */
export interface KeyText {
  publicKeys: string[];
  secretKeys: string[];
  /** Keys on lines of their own: public or secret as the reader expects (an environment variable holds one). */
  bare: string[];
}

const ASSIGNMENT = /^\s*([A-Za-z][\w-]*)\s*=\s*"(.*)"\s*$/;

/**
 * Reads key text in the format of ZeroMQ's certificates (CZMQ's `zcert`, which `keygen` writes):
 * `public-key = "…"` and `secret-key = "…"` lines, section names, other `name = "value"` metadata
 * and `#` comments; or bare 40-character keys, one per line. Anything else is a mistake worth a
 * clear message rather than a key silently missing.
 */
export function parseKeyText(text: string, source: string): KeyText {
  const out: KeyText = { publicKeys: [], secretKeys: [], bare: [] };
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    const where = `${source} line ${i + 1}`;
    if (line === '' || line.startsWith('#')) return;
    if (isZ85Key(line)) return void out.bare.push(line);
    const assignment = ASSIGNMENT.exec(line);
    if (assignment) {
      const [, name, value] = assignment;
      if (name !== 'public-key' && name !== 'secret-key') return; // certificate metadata
      if (!isZ85Key(value)) throw new ConfigError(`${where}: ${name} is not a 40-character Z85 key`);
      return void (name === 'public-key' ? out.publicKeys : out.secretKeys).push(value);
    }
    if (/^[A-Za-z][\w-]*$/.test(line) && line.length < 40) return; // a section name: curve, metadata
    throw new ConfigError(`${where}: neither a key nor a comment`);
  });
  return out;
}

/** One key pair from a key pair file's text or a bare secret key; a public key it states must be the secret key's. */
export function keyPairFromText(text: string, source: string): CurveKeyPair {
  const { publicKeys, secretKeys, bare } = parseKeyText(text, source);
  const secrets = [...secretKeys, ...bare];
  if (secrets.length !== 1)
    throw new ConfigError(
      `${source} must hold one secret key, found ${secrets.length}${publicKeys.length ? ' (a public key file is not a key pair)' : ''}`,
    );
  const pair = { secretKey: secrets[0], publicKey: publicKeyOf(secrets[0]) };
  if (publicKeys.some((k) => k !== pair.publicKey))
    throw new ConfigError(`${source}: its public-key is not the public key of its secret-key`);
  return pair;
}

/**
 * The public keys of a public key file, an allow-list file or a bare key. A secret key is refused:
 * whoever is given a public key file may pass it on, so a secret must never travel as one.
 */
export function publicKeysFromText(text: string, source: string): string[] {
  const { publicKeys, secretKeys, bare } = parseKeyText(text, source);
  if (secretKeys.length > 0)
    throw new ConfigError(`${source} holds a secret key: give it the public key file (NAME.pub), never a key pair`);
  return [...publicKeys, ...bare];
}

/** Exactly one public key (the broker's), from a public key file or a bare key. */
export function publicKeyFromText(text: string, source: string): string {
  const keys = publicKeysFromText(text, source);
  if (keys.length !== 1) throw new ConfigError(`${source} must hold one public key, found ${keys.length}`);
  return keys[0];
}

/** The text of a key pair file (`zcert` format: CZMQ and other ZeroMQ tools read it too). */
export function keyPairFileText(pair: CurveKeyPair, name: string): string {
  return `#   ****  CURVE key pair of ${name}: keep it secret  ****\ncurve\n    public-key = "${pair.publicKey}"\n    secret-key = "${pair.secretKey}"\n`;
}

/** The text of a public key file: what peers and allow-lists are given. */
export function publicKeyFileText(publicKey: string, name: string): string {
  return `#   ****  CURVE public key of ${name}  ****\ncurve\n    public-key = "${publicKey}"\n`;
}
