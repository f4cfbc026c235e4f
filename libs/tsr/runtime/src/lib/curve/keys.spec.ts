import { randomBytes } from 'node:crypto';
import { curveKeyPair } from 'zeromq';
import { ConfigError } from '../errors';
import {
  isZ85Key,
  keyPairFileText,
  keyPairFromText,
  parseKeyText,
  publicKeyFileText,
  publicKeyFromText,
  publicKeyOf,
  publicKeysFromText,
} from './keys';
import { z85Decode, z85Encode } from '@tsr/zmtp';

describe('Z85', () => {
  it('encodes and decodes the test vector of RFC 32', () => {
    const bytes = Buffer.from([0x86, 0x4f, 0xd2, 0x6f, 0xb5, 0x59, 0xf7, 0x5b]);
    expect(z85Encode(bytes)).toBe('HelloWorld');
    expect(z85Decode('HelloWorld')).toEqual(bytes);
  });

  it('round-trips random keys and agrees with libzmq', () => {
    for (let i = 0; i < 50; i++) {
      const raw = randomBytes(32);
      expect(z85Decode(z85Encode(raw))).toEqual(raw);
    }
    const { publicKey } = curveKeyPair();
    expect(z85Encode(z85Decode(publicKey) as Buffer)).toBe(publicKey);
  });

  it('rejects what is not Z85', () => {
    expect(z85Decode('Hello')).toBeDefined();
    expect(z85Decode('Hell')).toBeUndefined(); // not a multiple of 5
    expect(z85Decode('Hell~')).toBeUndefined(); // not in the alphabet
    expect(z85Decode('#####')).toBeUndefined(); // more than 32 bits
    expect(() => z85Encode(Buffer.alloc(3))).toThrow(RangeError);
    expect(isZ85Key(curveKeyPair().secretKey)).toBe(true);
    expect(isZ85Key('x'.repeat(39))).toBe(false);
  });
});

describe('CURVE keys', () => {
  it("derives a secret key's public key as libzmq does", () => {
    for (let i = 0; i < 20; i++) {
      const pair = curveKeyPair();
      expect(publicKeyOf(pair.secretKey)).toBe(pair.publicKey);
    }
    expect(() => publicKeyOf('short')).toThrow(ConfigError);
  });

  it('reads back the key files it writes (zcert format), and CZMQ certificates with metadata', () => {
    const pair = curveKeyPair();
    expect(keyPairFromText(keyPairFileText(pair, 'broker'), 'broker.key')).toEqual(pair);
    expect(publicKeyFromText(publicKeyFileText(pair.publicKey, 'broker'), 'broker.pub')).toBe(pair.publicKey);
    const czmq = `#   ****  Generated on 2026-11-27 by CZMQ  ****\n\nmetadata\n    name = "worker 1"\ncurve\n    public-key = "${pair.publicKey}"\n    secret-key = "${pair.secretKey}"\n`;
    expect(keyPairFromText(czmq, 'worker.key_secret')).toEqual(pair);
  });

  it('takes bare keys, one per line: a secret key from the environment, public keys of an allow-list', () => {
    const [a, b] = [curveKeyPair(), curveKeyPair()];
    expect(keyPairFromText(` ${a.secretKey}\n`, 'CURVE_SECRET_KEY')).toEqual(a);
    expect(publicKeysFromText(`# workers\n${a.publicKey}\n\n${b.publicKey}\n`, 'workers')).toEqual([a.publicKey, b.publicKey]);
  });

  it('says which line of which file is wrong, and never takes a secret key for a public one', () => {
    const pair = curveKeyPair();
    expect(() => parseKeyText('curve\n    public-key = "tooshort"\n', 'a.pub')).toThrow(
      'a.pub line 2: public-key is not a 40-character Z85 key',
    );
    expect(() => parseKeyText(`${pair.publicKey}\nhello world\n`, 'list')).toThrow('list line 2: neither a key nor a comment');
    expect(() => publicKeyFromText(keyPairFileText(pair, 'broker'), 'broker.key')).toThrow('broker.key holds a secret key');
    expect(() => keyPairFromText(publicKeyFileText(pair.publicKey, 'b'), 'broker.pub')).toThrow(
      'broker.pub must hold one secret key, found 0 (a public key file is not a key pair)',
    );
    const other = curveKeyPair();
    expect(() => keyPairFromText(keyPairFileText({ ...pair, publicKey: other.publicKey }, 'x'), 'x.key')).toThrow(
      'its public-key is not the public key of its secret-key',
    );
    expect(() => publicKeyFromText(`${pair.publicKey}\n${other.publicKey}`, 'two')).toThrow('two must hold one public key, found 2');
  });
});
