import type { Socket } from 'node:net';
import { CURVE_FRAME_OVERHEAD, CurveClient, type CurveCommand, CurveServer, type CurveSession } from './curve-mechanism';
import type { CurveKeyBytes } from './curve-keys';
import { Heartbeat, type HeartbeatOptions } from './heartbeat';
import { handedOver, recyclableMemory } from './recycled-frames';
import type { SocketReads } from './socket-reads';
import { giveBackWriteBuffer, isPooled, takeWriteBuffer } from './write-buffers';
import {
  FrameReader,
  GREETING_BYTES,
  MAX_ROUTING_ID_BYTES,
  commandBody,
  commandFrame,
  encodeCommand,
  encodeMessage,
  encodeProperties,
  greeting,
  greetingProblem,
  parseCommand,
  parsePing,
  parseProperties,
  pingBody,
  readyCommand,
  versionProblem,
} from './zmtp-codec';

/** Which socket types talk to which (ZMTP 3.0's table, for the types we speak). */
const PEERS_OF: Record<'ROUTER' | 'DEALER', ReadonlySet<string>> = {
  ROUTER: new Set(['DEALER', 'REQ', 'ROUTER']),
  DEALER: new Set(['ROUTER', 'DEALER', 'REP']),
};
/** Frames one message may hold unless a socket says otherwise: a bound on what a partial message can make us keep. */
export const DEFAULT_MAX_FRAMES = 64;
/** Bytes one message may hold (all its frames) unless a socket says otherwise. */
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
/** A connection that has not finished its handshake by then is closed (libzmq's ZMQ_HANDSHAKE_IVL). */
export const HANDSHAKE_TIMEOUT_MS = 30_000;
/** Bytes queued for a peer and not yet read by it, past which sends to it are dropped (a high-water mark). */
export const SEND_HIGH_WATER_BYTES = 8 * 1024 * 1024;
/** What a turn sent one peer is written as one copied Buffer up to this size (one system call, no writev), as the buffers themselves past it. */
const CONCAT_MAX_BYTES = 64 * 1024;
/** Largest command before the traffic (READY, HELLO, INITIATE: a few hundred bytes and the metadata). */
const HANDSHAKE_COMMAND_BYTES = 64 * 1024;
/** TCP keepalive's first probe after this much idle time, unless a socket says otherwise: finds peers whose host is gone. */
export const DEFAULT_TCP_KEEPALIVE_MS = 60_000;
/** What a CURVE server answers a client whose key it does not admit: ERROR with ZAP's status code, as libzmq does. */
const KEY_REFUSED = Buffer.from('400', 'latin1');

/** CURVE on a connection: as the server (it decides which client keys it admits) or as a client. */
export type CurveRole =
  | { role: 'server'; keys: CurveKeyBytes; admit(clientKey: Buffer): boolean }
  | { role: 'client'; keys: CurveKeyBytes; serverKey: Buffer };

export interface ConnectionEvents {
  /** The peer's READY came, with its routing id (empty if it has none): undefined admits it, a reason refuses it. */
  ready(identity: Buffer): string | undefined;
  message(frames: Buffer[]): void;
  /** The peer broke the protocol, or fell silent, and is disconnected; `inHandshake`: before the traffic began (with CURVE: a refusal). */
  problem(why: string, inHandshake: boolean): void;
  /** The peer answered our handshake with ERROR (CURVE: `400`, our key is not admitted); the connection closes. */
  refused?(reason: string): void;
  /** The TCP connection is closed, for whatever reason. */
  closed(): void;
}

/** What bounds a connection, and how it watches its peer: the options both sockets share. */
export interface ConnectionLimits extends HeartbeatOptions {
  /** Largest message (all its frames) a peer may send; one that sends more is disconnected (libzmq's ZMQ_MAXMSGSIZE bounds a frame). */
  maxMessageBytes?: number;
  /** Most frames in one message; a peer that sends more is disconnected. */
  maxFrames?: number;
  /** A connection that has not finished its handshake by then is closed (libzmq's ZMQ_HANDSHAKE_IVL, 30 s). */
  handshakeTimeoutMs?: number;
  /** TCP keepalive's idle time before the first probe; 0: off. */
  tcpKeepAliveMs?: number;
}

/** The limits out of a socket's options (which hold more). */
export const connectionLimits = (o: ConnectionLimits): ConnectionLimits => ({
  maxMessageBytes: o.maxMessageBytes,
  maxFrames: o.maxFrames,
  handshakeTimeoutMs: o.handshakeTimeoutMs,
  tcpKeepAliveMs: o.tcpKeepAliveMs,
  heartbeatIntervalMs: o.heartbeatIntervalMs,
  heartbeatTimeoutMs: o.heartbeatTimeoutMs,
  heartbeatTtlMs: o.heartbeatTtlMs,
});

export interface ConnectionSettings extends ConnectionLimits {
  type: 'ROUTER' | 'DEALER';
  /** Our routing id, sent in READY (a DEALER's). */
  identity?: Buffer;
  /** None: the NULL mechanism. */
  curve?: CurveRole;
  /** Large frames are read into pooled memory, which the owner may give back (recycled-frames.ts). */
  recycleLargeFrames?: boolean;
}

/** A TCP peer's address and port, as the logs name it; undefined once the socket is closed. */
export function peerAddress(socket: Socket): string | undefined {
  const host = socket.remoteAddress;
  if (host === undefined) return undefined;
  // A dual-stack listener sees IPv4 peers as ::ffff:a.b.c.d: named as they know themselves.
  const ipv4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(host)?.[1];
  return ipv4 ? `${ipv4}:${socket.remotePort}` : host.includes(':') ? `[${host}]:${socket.remotePort}` : `${host}:${socket.remotePort}`;
}

/**
 * One ZMTP 3.1 connection on a Node TCP socket, either side. NULL: greeting and READY sent at once,
 * the peer's checked. CURVE: the greeting, then HELLO, WELCOME, INITIATE and READY (RFC 26), and
 * every frame in a MESSAGE box. Then frames are gathered into messages, within the bounds of
 * `ConnectionLimits`; PINGs are answered, and sent if asked. Writes made in one tick go out in one
 * system call.
 */
export class ZmtpConnection {
  private phase: 'greeting' | 'handshake' | 'traffic' = 'greeting';
  private greetingBytes = Buffer.alloc(0);
  private readonly reader: FrameReader;
  private message: Buffer[] = [];
  /** Bytes of the message being read so far. */
  private messageBytes = 0;
  private readonly maxMessageBytes: number;
  private readonly maxFrames: number;
  /** What a boxed frame adds to what it carries (CURVE), so the reader's limit is on what it carries. */
  private readonly boxOverhead: number;
  private out: Buffer[] = [];
  private outBytes = 0;
  private flushing = false;
  private readonly handshakeTimer: NodeJS.Timeout;
  private readonly heartbeat: Heartbeat;
  private readonly curveServer: CurveServer | undefined;
  private readonly curveClient: CurveClient | undefined;
  private session: CurveSession | undefined;
  /** Whether anything of the peer's was read, and whether we ended the connection ourselves (a problem said, or a key refused). */
  private heard = false;
  private settled = false;
  private knownAddress = 'an unknown address';

  constructor(
    readonly socket: Socket,
    private readonly settings: ConnectionSettings,
    private readonly events: ConnectionEvents,
    /** The socket's reads, if it was made to read into our scratch (socket-reads.ts); else its 'data' events. */
    reads?: SocketReads,
  ) {
    const curve = settings.curve;
    if (curve?.role === 'server') this.curveServer = new CurveServer(curve.keys);
    if (curve?.role === 'client') this.curveClient = new CurveClient(curve.serverKey, curve.keys);
    this.maxMessageBytes = settings.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.maxFrames = settings.maxFrames ?? DEFAULT_MAX_FRAMES;
    this.boxOverhead = curve ? CURVE_FRAME_OVERHEAD : 0;
    this.reader = new FrameReader(
      Math.min(HANDSHAKE_COMMAND_BYTES, this.maxMessageBytes + this.boxOverhead),
      {
        frame: (body, more) => this.onFrame(body, more),
        command: (body) => this.onCommand(body),
        problem: (why) => this.drop(why),
      },
      settings.recycleLargeFrames ? recyclableMemory : undefined,
    );
    this.heartbeat = new Heartbeat(settings, {
      ping: (ttlMs) => this.write(encodeCommand(pingBody(ttlMs), this.session)),
      dead: (why) => this.drop(why),
    });
    socket.setNoDelay(true);
    const keepAlive = settings.tcpKeepAliveMs ?? DEFAULT_TCP_KEEPALIVE_MS;
    if (keepAlive > 0) socket.setKeepAlive(true, keepAlive);
    if (reads) reads.attach((chunk) => this.onData(chunk));
    else socket.on('data', (chunk: Buffer) => this.onData(chunk));
    // An accepted socket knows its peer now, a dialled one once connected; a closed one forgets it.
    this.rememberAddress();
    socket.once('connect', () => this.rememberAddress());
    socket.on('error', () => undefined); // a reset peer: 'close' follows
    socket.on('close', () => {
      clearTimeout(this.handshakeTimer);
      this.heartbeat.stop();
      this.reader.stop();
      this.message = [];
      // A peer that hung up (or reset) before the end of a CURVE handshake: often a peer without
      // CURVE, which libzmq closes with a reset as soon as it reads our greeting, and the reset may
      // take its own greeting with it, unread.
      if (settings.curve && this.phase !== 'traffic' && !this.settled) {
        events.problem(
          this.heard
            ? 'hung up during the CURVE handshake (no CURVE, or another server key?)'
            : 'hung up before its greeting was read (no CURVE, or a bare TCP check?)',
          true,
        );
      }
      events.closed();
    });
    this.handshakeTimer = setTimeout(() => this.drop('no handshake in time'), settings.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS);
    if (curve) socket.write(greeting('CURVE', curve.role === 'server'));
    else socket.write(Buffer.concat([greeting(), readyCommand(this.properties())]));
  }

  /** Our properties: socket type, and routing id if we have one. */
  private properties(): Record<string, Buffer | string> {
    return { 'Socket-Type': this.settings.type, ...(this.settings.identity ? { Identity: this.settings.identity } : {}) };
  }

  /** Our properties as CURVE's INITIATE and READY boxes carry them. */
  private metadata(): Buffer {
    return encodeProperties(this.properties());
  }

  /** The peer's address and port (once connected; kept after the connection is gone). */
  get address(): string {
    return this.knownAddress;
  }

  private rememberAddress(): void {
    this.knownAddress = peerAddress(this.socket) ?? this.knownAddress;
  }

  /** Whether the handshake is done: messages may be written. */
  get open(): boolean {
    return this.phase === 'traffic' && !this.socket.destroyed;
  }

  /** Bytes queued for the peer that it has not read yet: in the socket, and what this turn still holds. */
  get queuedBytes(): number {
    return this.socket.writableLength + this.outBytes;
  }

  /** Sends frames[from..] as one message (each frame boxed, with CURVE). */
  send(frames: readonly Buffer[], from = 0): void {
    this.write(encodeMessage(frames, from, this.session, takeWriteBuffer));
  }

  /** Queued, and written once at the end of this tick: one system call for all that a turn sent this peer. */
  private write(bytes: Buffer): void {
    this.out.push(bytes);
    this.outBytes += bytes.length;
    if (this.flushing) return;
    this.flushing = true;
    process.nextTick(this.flush);
  }

  /** Writes what is queued now, then ends the connection once it is written (a linger). */
  end(): void {
    this.flush();
    this.socket.end();
  }

  /** Closes at once; not a refusal of the peer's (the owner closes, or drops it on purpose). */
  destroy(): void {
    this.settled = true;
    this.reader.stop();
    this.socket.destroy();
  }

  private readonly flush = (): void => {
    this.flushing = false;
    const out = this.out;
    if (out.length === 0) return;
    const bytes = this.outBytes;
    this.out = [];
    this.outBytes = 0;
    if (this.socket.destroyed) return;
    if (out.length === 1) this.writeOne(out[0]);
    else if (bytes <= CONCAT_MAX_BYTES) this.socket.write(Buffer.concat(out, bytes));
    else {
      // large: one writev of the buffers as they are, not a copy of them all (a MiB frame costs a MiB copied)
      this.socket.cork();
      for (const b of out) this.writeOne(b);
      this.socket.uncork();
    }
  };

  /** A pooled buffer goes back to the pool once the socket is done with it (write-buffers.ts). */
  private writeOne(bytes: Buffer): void {
    if (isPooled(bytes)) this.socket.write(bytes, () => giveBackWriteBuffer(bytes));
    else this.socket.write(bytes);
  }

  /** Bytes from the peer: Node's chunk, or our scratch (socket-reads.ts), valid only until this returns. */
  private onData(chunk: Buffer): void {
    this.heard = true;
    this.heartbeat.heard();
    if (this.phase !== 'greeting') return this.reader.push(chunk);
    const need = GREETING_BYTES - this.greetingBytes.length;
    this.greetingBytes = Buffer.concat([this.greetingBytes, chunk.subarray(0, need)]);
    if (this.greetingBytes.length < GREETING_BYTES) {
      // a ZMTP 1.0 or 2.0 peer sends less and waits: refuse it as soon as its first bytes say so
      const problem = versionProblem(this.greetingBytes);
      if (problem) this.drop(problem);
      return;
    }
    const problem = greetingProblem(this.greetingBytes, this.settings.curve ? 'CURVE' : 'NULL');
    if (problem) return this.drop(problem);
    this.phase = 'handshake';
    if (this.curveClient) this.writeCommand(this.curveClient.hello());
    if (chunk.length > need) this.reader.push(chunk, need);
  }

  /** A command frame's body, or (`boxed`) a command that came in a CURVE MESSAGE box. */
  private onCommand(body: Buffer, boxed = false): void {
    const command = parseCommand(body);
    if (!command) return this.drop('a command frame without a name');
    if (this.phase === 'traffic') return this.onTrafficCommand(command.name, command.body, boxed);
    if (command.name === 'ERROR') {
      this.settled = true;
      this.events.refused?.(command.body.toString('latin1', 1, 1 + (command.body[0] ?? 0)));
      return this.destroy();
    }
    if (this.curveServer) return this.onCurveServerCommand(this.curveServer, command.name, command.body);
    if (this.curveClient) return this.onCurveClientCommand(this.curveClient, command.name, command.body);
    if (command.name !== 'READY') return this.drop(`expected READY, got ${command.name}`);
    this.peerReady(command.body);
  }

  /** After the handshake: PING is answered, PONG (like any traffic) is a sign of life, others are ignored as libzmq does. */
  private onTrafficCommand(name: string, data: Buffer, boxed: boolean): void {
    // A MESSAGE may come as a command frame too (never inside a box: no nesting)
    if (this.session && !boxed) {
      if (name === 'MESSAGE') return this.onFrame(commandBody(name, data), false);
      return this.drop(`a ${name} outside a MESSAGE box (CURVE, as libzmq)`);
    }
    if (name !== 'PING') return;
    const ping = parsePing(data);
    if (!ping) return this.drop('a PING without its TTL');
    this.heartbeat.peerPing(ping.ttlMs);
    this.write(encodeCommand(commandBody('PONG', ping.context), this.session));
  }

  private onCurveServerCommand(curve: CurveServer, name: string, body: Buffer): void {
    const role = this.settings.curve as Extract<CurveRole, { role: 'server' }>;
    if (name === 'HELLO') {
      const welcome = curve.welcome(body);
      return typeof welcome === 'string' ? this.drop(welcome) : this.writeCommand(welcome);
    }
    if (name !== 'INITIATE') return this.drop(`expected HELLO or INITIATE, got ${name}`);
    const initiate = curve.initiate(body);
    if (typeof initiate === 'string') return this.drop(initiate);
    if (!role.admit(initiate.clientKey)) {
      this.writeCommand({ name: 'ERROR', body: Buffer.concat([Buffer.from([KEY_REFUSED.length]), KEY_REFUSED]) });
      this.settled = true;
      return this.end();
    }
    const { command, session } = curve.ready(this.metadata());
    this.writeCommand(command);
    this.session = session;
    this.peerReady(initiate.metadata);
  }

  private onCurveClientCommand(curve: CurveClient, name: string, body: Buffer): void {
    if (name === 'WELCOME') {
      const initiate = curve.initiate(body, this.metadata());
      return typeof initiate === 'string' ? this.drop(initiate) : this.writeCommand(initiate);
    }
    if (name !== 'READY') return this.drop(`expected WELCOME or READY, got ${name}`);
    const ready = curve.ready(body);
    if (typeof ready === 'string') return this.drop(ready);
    this.session = ready.session;
    this.peerReady(ready.metadata);
  }

  private writeCommand(command: CurveCommand | { name: 'ERROR'; body: Buffer }): void {
    this.write(commandFrame(command.name, command.body));
  }

  /** The peer's metadata checked (type, routing id): the traffic may start. */
  private peerReady(metadata: Buffer): void {
    const props = parseProperties(metadata);
    if (typeof props === 'string') return this.drop(props);
    const type = props.get('socket-type')?.toString('latin1') ?? '';
    if (!PEERS_OF[this.settings.type].has(type))
      return this.drop(`a ${type || 'socket of no type'} cannot talk to a ${this.settings.type}`);
    const identity = props.get('identity') ?? Buffer.alloc(0);
    if (identity.length > MAX_ROUTING_ID_BYTES) return this.drop('routing id over 255 bytes');
    const refusal = this.events.ready(Buffer.from(identity));
    if (refusal !== undefined) return this.drop(refusal);
    this.phase = 'traffic';
    this.reader.limit = this.maxMessageBytes + this.boxOverhead;
    clearTimeout(this.handshakeTimer);
    this.heartbeat.start();
  }

  private onFrame(body: Buffer, more: boolean): void {
    if (this.phase !== 'traffic') return this.drop('a message before the handshake');
    if (this.session) {
      const opened = this.session.open(body);
      if (typeof opened === 'string') return this.drop(opened);
      if (opened.command) return this.onCommand(opened.frame, true);
      ({ frame: body, more } = opened);
    }
    if (this.settings.recycleLargeFrames) handedOver(body);
    this.message.push(body);
    this.messageBytes += body.length;
    if (this.message.length > this.maxFrames) return this.drop(`a message of more than ${this.maxFrames} frames`);
    if (more) {
      // the next frame may bring the message only up to its bound, refused from its header
      this.reader.limit = this.maxMessageBytes - this.messageBytes + this.boxOverhead;
      return;
    }
    const frames = this.message;
    this.message = [];
    this.messageBytes = 0;
    this.reader.limit = this.maxMessageBytes + this.boxOverhead;
    this.events.message(frames);
  }

  /** Disconnects a peer that broke the protocol (as libzmq does: no answer, the connection closes). */
  private drop(why: string): void {
    if (this.socket.destroyed) return;
    this.settled = true;
    this.reader.stop();
    this.events.problem(why, this.phase !== 'traffic');
    this.socket.destroy();
  }
}
