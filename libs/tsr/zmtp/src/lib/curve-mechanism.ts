/**
 * ZMTP's CURVE mechanism (rfc.zeromq.org/spec/26, CurveZMQ), both sides, as pure state machines
 * over command bodies: HELLO, WELCOME, INITIATE and READY, then MESSAGE boxes. The connection
 * sends what they return and hands them what arrives; nothing here touches a socket.
 *
 * Keys: S/s the server's long-term pair, C/c the client's, S'/s' and C'/c' the short-term pairs
 * made for one connection. Each box is NaCl's crypto_box (Curve25519, XSalsa20, Poly1305).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import sodium from 'libsodium-wrappers-sumo';
import { BOXED_COMMAND, BOXED_MORE, type FrameBoxer } from './zmtp-codec';
import { secretBoxes } from './secretbox';

/** libsodium (WebAssembly) starts asynchronously: CURVE sockets wait for this before their first connection. */
export const curveReady: Promise<void> = sodium.ready;

/** NaCl's boxes, from libsodium: the fastest per frame of those measured (docs/benchmarks/2026-11-28/curve/README.md). */
const nacl = {
  seal: (message: Uint8Array, nonce: Uint8Array, key: Uint8Array): Uint8Array => sodium.crypto_box_easy_afternm(message, nonce, key),
  open: (box: Uint8Array, nonce: Uint8Array, key: Uint8Array): Uint8Array | undefined =>
    attempt(() => sodium.crypto_box_open_easy_afternm(box, nonce, key)),
  secretSeal: (message: Uint8Array, nonce: Uint8Array, key: Uint8Array): Uint8Array => sodium.crypto_secretbox_easy(message, nonce, key),
  secretOpen: (box: Uint8Array, nonce: Uint8Array, key: Uint8Array): Uint8Array | undefined =>
    attempt(() => sodium.crypto_secretbox_open_easy(box, nonce, key)),
};

/** libsodium throws where a box does not open, or a key makes no shared key. */
function attempt(open: () => Uint8Array): Uint8Array | undefined {
  try {
    return open();
  } catch {
    return undefined;
  }
}

const KEY = 32;
const MAC = 16;
const SHORT_NONCE = 8;
const LONG_NONCE = 16;
const COOKIE = LONG_NONCE + KEY + KEY + MAC;
const HELLO_PADDING = 72;
const HELLO_BODY = 2 + HELLO_PADDING + KEY + SHORT_NONCE + 64 + MAC;
const WELCOME_BODY = LONG_NONCE + KEY + COOKIE + MAC;
const VOUCH = LONG_NONCE + KEY + KEY + MAC;
const INITIATE_MIN = COOKIE + SHORT_NONCE + KEY + VOUCH + MAC;
const READY_MIN = SHORT_NONCE + MAC;
/** A MESSAGE travels as a data frame (as libzmq sends and expects it): its name, then nonce and box. */
const MESSAGE_NAME = Buffer.from('\x07MESSAGE', 'latin1');
const MESSAGE_MIN = MESSAGE_NAME.length + SHORT_NONCE + 1 + MAC;
/** What boxing adds to a frame. */
export const CURVE_FRAME_OVERHEAD = MESSAGE_MIN;
/** Each side's MESSAGE nonces: a short nonce that only grows, after a prefix naming the sender. */
const FROM_CLIENT = 'CurveZMQMESSAGEC';
const FROM_SERVER = 'CurveZMQMESSAGES';

export interface CurveCommand {
  name: 'HELLO' | 'WELCOME' | 'INITIATE' | 'READY';
  body: Buffer;
}

/**
 * Frames `open` returned: each lies in its MESSAGE's memory, right after the flags byte, which is
 * ours to overwrite. A frame passed on to another CURVE peer (the broker's every request and reply)
 * is boxed from there, with its new flags in that byte, instead of from a copy.
 */
const openedFrames = new WeakSet<Buffer>();
/** Smaller frames are copied: their copy costs less than keeping them in the set. */
const SEAL_IN_PLACE_MIN = 16 * 1024;

/** A 24-byte nonce: a prefix naming the command (16 or 8 bytes), then its short or long nonce. */
const nonce = (prefix: string, tail: Uint8Array): Buffer => Buffer.concat([Buffer.from(prefix, 'latin1'), tail]);
/** Short nonces are 64-bit counters; as numbers they are exact to 2^53, and make no BigInt per frame. */
const writeCounter = (into: Buffer, at: number, value: number): void => {
  into.writeUInt32BE(Math.floor(value / 0x1_0000_0000), at);
  into.writeUInt32BE(value >>> 0, at + 4);
};
const readCounter = (from: Buffer, at = 0): number => from.readUInt32BE(at) * 0x1_0000_0000 + from.readUInt32BE(at + 4);
const shortNonce = (value: number): Buffer => {
  const b = Buffer.alloc(SHORT_NONCE);
  writeCounter(b, 0, value);
  return b;
};
const equal = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && timingSafeEqual(a, b);
const isZero = (bytes: Uint8Array): boolean => bytes.every((b) => b === 0);

/**
 * The traffic after a handshake: each frame in a MESSAGE box under the key the short-term pairs
 * share, its nonce counting up. A nonce that does not grow is a replay, and ends the connection.
 */
export class CurveSession implements FrameBoxer {
  /** Each side's full nonce: the prefix, then the counter, written in place for each box. */
  private readonly ourNonce: Buffer;
  private readonly theirNonce: Buffer;
  /** Native libsodium's boxes where the addon loads, else WebAssembly's. */
  private readonly boxes = secretBoxes();

  constructor(
    private readonly key: Uint8Array,
    ours: string,
    theirs: string,
    private nextNonce: number,
    private peerNonce: number,
  ) {
    this.ourNonce = nonce(ours, new Uint8Array(SHORT_NONCE));
    this.theirNonce = nonce(theirs, new Uint8Array(SHORT_NONCE));
  }

  /** The size of the MESSAGE that carries a frame of `length` bytes. */
  boxedBytes(length: number): number {
    return MESSAGE_MIN + length;
  }

  /**
   * Writes the MESSAGE that carries `frame` (a data frame's body, or a command's, `boxedBytes` long)
   * into `out` at `at`; `flags` BOXED_MORE and BOXED_COMMAND, or 0.
   */
  boxInto(out: Buffer, at: number, frame: Buffer, flags: number): void {
    writeCounter(this.ourNonce, LONG_NONCE, this.nextNonce++);
    MESSAGE_NAME.copy(out, at);
    this.ourNonce.copy(out, at + MESSAGE_NAME.length, LONG_NONCE);
    const head = flags & (BOXED_MORE | BOXED_COMMAND);
    const headRoom = frame.length >= SEAL_IN_PLACE_MIN && openedFrames.has(frame);
    this.boxes.sealInto(out, at + MESSAGE_NAME.length + SHORT_NONCE, head, frame, this.ourNonce, this.key, headRoom);
  }

  /** The MESSAGE that carries `frame`, alone. */
  seal(frame: Buffer, flags: number): Buffer {
    const message = Buffer.allocUnsafe(this.boxedBytes(frame.length));
    this.boxInto(message, 0, frame, flags);
    return message;
  }

  /**
   * The frame a MESSAGE carries and its flags, or why it is refused: a data frame's bytes, or with
   * `command` a command's (name first, as `\x04PING` and its TTL and context). Opens in place: the
   * frame returned is a view of `message`, whose ciphertext it overwrites where it lies (libsodium
   * moves nothing).
   */
  open(message: Buffer): { frame: Buffer; more: boolean; command: boolean } | string {
    if (message.length < MESSAGE_MIN || !MESSAGE_NAME.equals(message.subarray(0, MESSAGE_NAME.length)))
      return 'not a MESSAGE, or too short';
    const at = MESSAGE_NAME.length;
    const n = readCounter(message, at);
    if (n <= this.peerNonce) return 'a MESSAGE nonce did not grow (a replay?)';
    message.copy(this.theirNonce, LONG_NONCE, at, at + SHORT_NONCE);
    const box = at + SHORT_NONCE;
    const plain = box + MAC;
    if (!this.boxes.openInto(message.subarray(box), this.theirNonce, this.key, message, plain)) return 'a MESSAGE box does not open';
    this.peerNonce = n;
    const flags = message[plain];
    const frame = message.subarray(plain + 1);
    if (frame.length >= SEAL_IN_PLACE_MIN) openedFrames.add(frame);
    return { frame, more: (flags & BOXED_MORE) !== 0, command: (flags & BOXED_COMMAND) !== 0 };
  }
}

/** An X25519 key pair, raw. */
interface DhPair {
  publicKey: Uint8Array;
  secretKey: Uint8Array;
}

function newDhPair(): DhPair {
  const { publicKey, privateKey } = sodium.crypto_box_keypair();
  return { publicKey, secretKey: privateKey };
}

/** NaCl's crypto_box_beforenm: the key `theirs` and `ours` share; undefined for a key that makes none (a low-order point). */
const boxKey = (theirs: Uint8Array, ours: DhPair): Uint8Array | undefined =>
  attempt(() => sodium.crypto_box_beforenm(theirs, ours.secretKey));

/**
 * The client side: HELLO, then INITIATE on WELCOME, then the session on READY. Its short-term pair
 * is made with HELLO, when the connection has got that far.
 */
export class CurveClient {
  private short: DhPair | undefined;
  private nonce = 1;
  /** C' and S's box key (HELLO, WELCOME), then C' and S''s (INITIATE, READY, the session). */
  private helloKey: Uint8Array | undefined;
  private sessionKey: Uint8Array | undefined;

  constructor(
    private readonly serverKey: Uint8Array,
    private readonly long: DhPair,
  ) {}

  hello(): CurveCommand {
    const short = (this.short ??= newDhPair());
    const n = shortNonce(this.nonce++);
    this.helloKey = boxKey(this.serverKey, short) ?? new Uint8Array(KEY); // a bad server key: HELLO will not open there
    const box = nacl.seal(new Uint8Array(64), nonce('CurveZMQHELLO---', n), this.helloKey);
    return { name: 'HELLO', body: Buffer.concat([Buffer.from([1, 0]), Buffer.alloc(HELLO_PADDING), short.publicKey, n, box]) };
  }

  /** INITIATE, carrying `metadata` (ZMTP properties), or why WELCOME is refused. */
  initiate(welcome: Buffer, metadata: Buffer): CurveCommand | string {
    const short = this.short;
    if (!this.helloKey || !short) return 'WELCOME before HELLO';
    if (welcome.length !== WELCOME_BODY) return 'WELCOME has the wrong size';
    const plain = nacl.open(welcome.subarray(LONG_NONCE), nonce('WELCOME-', welcome.subarray(0, LONG_NONCE)), this.helloKey);
    if (!plain) return 'WELCOME does not open with the server key given (a wrong key?)';
    const serverShort = plain.subarray(0, KEY);
    const cookie = plain.subarray(KEY);
    const vouchKey = boxKey(serverShort, this.long);
    this.sessionKey = boxKey(serverShort, short);
    if (!vouchKey || !this.sessionKey) return 'WELCOME carries an unusable short-term key';
    const vouchNonce = randomBytes(LONG_NONCE);
    const vouch = nacl.seal(Buffer.concat([short.publicKey, this.serverKey]), nonce('VOUCH---', vouchNonce), vouchKey);
    const n = shortNonce(this.nonce++);
    const box = nacl.seal(Buffer.concat([this.long.publicKey, vouchNonce, vouch, metadata]), nonce('CurveZMQINITIATE', n), this.sessionKey);
    return { name: 'INITIATE', body: Buffer.concat([cookie, n, box]) };
  }

  /** The server's metadata and the session, or why READY is refused. */
  ready(body: Buffer): { metadata: Buffer; session: CurveSession } | string {
    if (!this.sessionKey) return 'READY before WELCOME';
    if (body.length < READY_MIN) return 'READY is too short';
    const n = body.subarray(0, SHORT_NONCE);
    const plain = nacl.open(body.subarray(SHORT_NONCE), nonce('CurveZMQREADY---', n), this.sessionKey);
    if (!plain) return 'READY does not open';
    return {
      metadata: Buffer.from(plain),
      session: new CurveSession(this.sessionKey, FROM_CLIENT, FROM_SERVER, this.nonce, readCounter(n)),
    };
  }
}

/**
 * The server side: WELCOME on HELLO, then on INITIATE the client's long-term key, READY and the
 * session. Made for each accepted connection, it makes its short-term pair and cookie key only for
 * a HELLO that holds: a connection that never sends one costs no key generation.
 */
export class CurveServer {
  /** Made with WELCOME, with the cookie key that seals the state WELCOME hands the client, checked when INITIATE brings it back. */
  private short: DhPair | undefined;
  private cookieKey: Uint8Array | undefined;
  private clientShort: Uint8Array | undefined;
  private clientNonce = 0;
  /** C' and S''s box key: INITIATE, READY and the session. */
  private sessionKey: Uint8Array | undefined;

  constructor(private readonly long: DhPair) {}

  /** WELCOME, or why HELLO is refused (not made for this server's key, or a second one). */
  welcome(hello: Buffer): CurveCommand | string {
    if (this.clientShort) return 'a second HELLO';
    if (hello.length !== HELLO_BODY) return 'HELLO has the wrong size';
    if (hello[0] !== 1 || hello[1] !== 0) return `CURVE version ${hello[0]}.${hello[1]} is not supported (1.0)`;
    if (!isZero(hello.subarray(2, 2 + HELLO_PADDING))) return 'HELLO padding is not zero';
    const clientShort = Uint8Array.from(hello.subarray(2 + HELLO_PADDING, 2 + HELLO_PADDING + KEY));
    const n = hello.subarray(2 + HELLO_PADDING + KEY, 2 + HELLO_PADDING + KEY + SHORT_NONCE);
    const helloKey = boxKey(clientShort, this.long);
    const plain = helloKey && nacl.open(hello.subarray(2 + HELLO_PADDING + KEY + SHORT_NONCE), nonce('CurveZMQHELLO---', n), helloKey);
    if (!helloKey || !plain || !equal(plain, new Uint8Array(64))) return 'HELLO does not open: the client has another server key';
    this.clientShort = clientShort;
    this.clientNonce = readCounter(n);
    const short = (this.short = newDhPair());
    const cookieKey = (this.cookieKey = randomBytes(KEY));
    const cookieNonce = randomBytes(LONG_NONCE);
    const cookie = Buffer.concat([
      cookieNonce,
      nacl.secretSeal(Buffer.concat([clientShort, short.secretKey]), nonce('COOKIE--', cookieNonce), cookieKey),
    ]);
    const longNonce = randomBytes(LONG_NONCE);
    const box = nacl.seal(Buffer.concat([short.publicKey, cookie]), nonce('WELCOME-', longNonce), helloKey);
    return { name: 'WELCOME', body: Buffer.concat([longNonce, box]) };
  }

  /**
   * The client's long-term public key and metadata, or why INITIATE is refused. The caller decides
   * whether that key is admitted, then sends `ready(metadata)`.
   */
  initiate(body: Buffer): { clientKey: Buffer; metadata: Buffer } | string {
    const { clientShort, short, cookieKey } = this;
    if (!clientShort || !short || !cookieKey) return 'INITIATE before HELLO';
    if (this.sessionKey) return 'a second INITIATE';
    if (body.length < INITIATE_MIN) return 'INITIATE is too short';
    const cookie = nacl.secretOpen(body.subarray(LONG_NONCE, COOKIE), nonce('COOKIE--', body.subarray(0, LONG_NONCE)), cookieKey);
    if (!cookie || !equal(cookie.subarray(0, KEY), clientShort) || !equal(cookie.subarray(KEY), short.secretKey))
      return 'INITIATE carries a cookie this connection did not make';
    const n = body.subarray(COOKIE, COOKIE + SHORT_NONCE);
    const nonceValue = readCounter(n);
    if (nonceValue <= this.clientNonce) return 'INITIATE nonce did not grow';
    const sessionKey = boxKey(clientShort, short);
    const plain = sessionKey && nacl.open(body.subarray(COOKIE + SHORT_NONCE), nonce('CurveZMQINITIATE', n), sessionKey);
    if (!sessionKey || !plain) return 'INITIATE does not open';
    const clientKey = plain.subarray(0, KEY);
    const vouchKey = boxKey(clientKey, short);
    const vouch =
      vouchKey &&
      nacl.open(plain.subarray(KEY + LONG_NONCE, KEY + VOUCH), nonce('VOUCH---', plain.subarray(KEY, KEY + LONG_NONCE)), vouchKey);
    if (!vouch || !equal(vouch.subarray(0, KEY), clientShort) || !equal(vouch.subarray(KEY), this.long.publicKey))
      return 'INITIATE carries a vouch that does not hold';
    this.clientNonce = nonceValue;
    this.sessionKey = sessionKey;
    return { clientKey: Buffer.from(clientKey), metadata: Buffer.from(plain.subarray(KEY + VOUCH)) };
  }

  /** READY with our metadata, and the session; only after `initiate` succeeded. */
  ready(metadata: Buffer): { command: CurveCommand; session: CurveSession } {
    const key = this.sessionKey as Uint8Array;
    const n = shortNonce(1);
    const box = nacl.seal(metadata, nonce('CurveZMQREADY---', n), key);
    return {
      command: { name: 'READY', body: Buffer.concat([n, box]) },
      session: new CurveSession(key, FROM_SERVER, FROM_CLIENT, 2, this.clientNonce),
    };
  }
}
