import type { Socket } from 'node:net';
import { FrameReader, GREETING_BYTES, MAX_ROUTING_ID_BYTES, greeting, greetingProblem, hasZmtp3Signature, parseCommand, parseProperties, readyCommand } from './zmtp-codec';

/** Which socket types talk to which (ZMTP 3.0's table, for the types we speak). */
const PEERS_OF: Record<'ROUTER' | 'DEALER', ReadonlySet<string>> = {
  ROUTER: new Set(['DEALER', 'REQ', 'ROUTER']),
  DEALER: new Set(['ROUTER', 'DEALER', 'REP']),
};
/** More frames than this in one message is not a message any TSR/1 or seed peer sends. */
export const MAX_FRAMES_PER_MESSAGE = 64;
/** A connection that has not finished its handshake by then is closed (libzmq's ZMQ_HANDSHAKE_IVL). */
export const HANDSHAKE_TIMEOUT_MS = 30_000;
/** Bytes written to a peer and not yet read by it, past which sends to it are dropped (a high-water mark). */
export const SEND_HIGH_WATER_BYTES = 8 * 1024 * 1024;
const OUR_GREETING = greeting();

export interface ConnectionEvents {
  /** The peer's READY came: its routing id (empty if it has none); false refuses the peer. */
  ready(identity: Buffer): boolean;
  message(frames: Buffer[]): void;
  /** The peer broke the protocol and is disconnected. */
  problem(why: string): void;
  /** The TCP connection is closed, for whatever reason. */
  closed(): void;
}

export interface ConnectionSettings {
  type: 'ROUTER' | 'DEALER';
  /** Our routing id, sent in READY (a DEALER's). */
  identity?: Buffer;
  maxFrameBytes: number;
  /** Default HANDSHAKE_TIMEOUT_MS. */
  handshakeTimeoutMs?: number;
}

/**
 * One ZMTP 3.0 connection (NULL mechanism) on a Node TCP socket, either side: greeting and READY
 * sent at once, the peer's checked, then frames gathered into messages. Writes made in one tick go
 * out in one system call.
 */
export class ZmtpConnection {
  private phase: 'greeting' | 'handshake' | 'traffic' = 'greeting';
  private greetingBytes = Buffer.alloc(0);
  private readonly reader: FrameReader;
  private message: Buffer[] = [];
  private out: Buffer[] = [];
  private flushing = false;
  private readonly handshakeTimer: NodeJS.Timeout;

  constructor(
    readonly socket: Socket,
    private readonly settings: ConnectionSettings,
    private readonly events: ConnectionEvents,
  ) {
    this.reader = new FrameReader(settings.maxFrameBytes, {
      frame: (body, more) => this.onFrame(body, more),
      command: (body) => this.onCommand(body),
      problem: (why) => this.drop(why),
    });
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => undefined); // a reset peer: 'close' follows
    socket.on('close', () => {
      clearTimeout(this.handshakeTimer);
      events.closed();
    });
    this.handshakeTimer = setTimeout(() => this.drop('no handshake in time'), settings.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS);
    const ready = readyCommand({ 'Socket-Type': settings.type, ...(settings.identity ? { Identity: settings.identity } : {}) });
    socket.write(Buffer.concat([OUR_GREETING, ready]));
  }

  /** The peer's address and port (once connected). */
  get address(): string {
    return `${this.socket.remoteAddress}:${this.socket.remotePort}`;
  }

  /** Whether the handshake is done: messages may be written. */
  get open(): boolean {
    return this.phase === 'traffic' && !this.socket.destroyed;
  }

  /** Bytes written that the peer has not read yet. */
  get queuedBytes(): number {
    return this.socket.writableLength;
  }

  /** Queued, and written once at the end of this tick: one system call for all that a turn sent this peer. */
  write(bytes: Buffer): void {
    this.out.push(bytes);
    if (this.flushing) return;
    this.flushing = true;
    process.nextTick(this.flush);
  }

  /** Writes what is queued now, then ends the connection once it is written (a linger). */
  end(): void {
    this.flush();
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  private readonly flush = (): void => {
    this.flushing = false;
    const out = this.out;
    if (out.length === 0) return;
    this.out = [];
    if (this.socket.destroyed) return;
    this.socket.write(out.length === 1 ? out[0] : Buffer.concat(out));
  };

  private onData(chunk: Buffer): void {
    if (this.phase !== 'greeting') return this.reader.push(chunk);
    const need = GREETING_BYTES - this.greetingBytes.length;
    this.greetingBytes = Buffer.concat([this.greetingBytes, chunk.subarray(0, need)]);
    if (this.greetingBytes.length < GREETING_BYTES) {
      // a ZMTP 1/2 peer sends a shorter greeting and waits: refuse it as soon as its signature says so
      if (this.greetingBytes.length >= 10 && !hasZmtp3Signature(this.greetingBytes)) this.drop('not a ZMTP 3 greeting');
      return;
    }
    const problem = greetingProblem(this.greetingBytes);
    if (problem) return this.drop(problem);
    this.phase = 'handshake';
    if (chunk.length > need) this.reader.push(chunk, need);
  }

  private onCommand(body: Buffer): void {
    const command = parseCommand(body);
    if (!command) return this.drop('a command frame without a name');
    if (this.phase !== 'handshake') return; // ZMTP 3.0 has no command after READY that needs an answer
    if (command.name !== 'READY') return this.drop(`expected READY, got ${command.name}`);
    const props = parseProperties(command.body);
    if (typeof props === 'string') return this.drop(props);
    const type = props.get('socket-type')?.toString('latin1') ?? '';
    if (!PEERS_OF[this.settings.type].has(type)) return this.drop(`a ${type || 'socket of no type'} cannot talk to a ${this.settings.type}`);
    const identity = props.get('identity') ?? Buffer.alloc(0);
    if (identity.length > MAX_ROUTING_ID_BYTES) return this.drop('routing id over 255 bytes');
    if (!this.events.ready(Buffer.from(identity))) return this.drop('routing id already connected');
    this.phase = 'traffic';
    clearTimeout(this.handshakeTimer);
  }

  private onFrame(body: Buffer, more: boolean): void {
    if (this.phase !== 'traffic') return this.drop('a message before the handshake');
    this.message.push(body);
    if (this.message.length > MAX_FRAMES_PER_MESSAGE) return this.drop(`a message of more than ${MAX_FRAMES_PER_MESSAGE} frames`);
    if (more) return;
    const frames = this.message;
    this.message = [];
    this.events.message(frames);
  }

  /** Disconnects a peer that broke the protocol (as libzmq does: no answer, the connection closes). */
  private drop(why: string): void {
    if (this.socket.destroyed) return;
    this.events.problem(why);
    this.socket.destroy();
  }
}
