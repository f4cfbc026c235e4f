/** ZeroMQ's Z85 (RFC 32): 4 bytes in 5 printable characters; CURVE keys are 32 bytes, 40 characters. */
const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#';
const VALUE = new Map([...ALPHABET].map((c, i) => [c, i]));

export function z85Encode(bytes: Uint8Array): string {
  if (bytes.length % 4 !== 0) throw new RangeError('Z85 encodes a multiple of 4 bytes');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let out = '';
  for (let i = 0; i < bytes.length; i += 4) {
    let v = view.getUint32(i);
    let chunk = '';
    for (let j = 0; j < 5; j++, v = Math.floor(v / 85)) chunk = ALPHABET[v % 85] + chunk;
    out += chunk;
  }
  return out;
}

/** The bytes of a Z85 text, or undefined if it is not Z85 (wrong length, foreign character, overflow). */
export function z85Decode(text: string): Buffer | undefined {
  if (text.length % 5 !== 0) return undefined;
  const out = Buffer.alloc((text.length / 5) * 4);
  for (let i = 0; i < text.length; i += 5) {
    let v = 0;
    for (let j = 0; j < 5; j++) {
      const digit = VALUE.get(text[i + j]);
      if (digit === undefined) return undefined;
      v = v * 85 + digit;
    }
    if (v > 0xffffffff) return undefined;
    out.writeUInt32BE(v, (i / 5) * 4);
  }
  return out;
}
