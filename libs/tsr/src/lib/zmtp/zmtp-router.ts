import { type Server, type Socket, createServer } from 'node:net';
import { randomBytes } from 'node:crypto';
import {
  FrameReader,
  GREETING_BYTES,
  MAX_ROUTING_ID_BYTES,
  ROUTER_PEERS,
  encodeMessage,
  greeting,
  greetingProblem,
  parseCommand,
  parseProperties,
  readyCommand,
} from './zmtp-codec';

export interface ZmtpRouterOptions {
  /** Largest frame a peer may send; one that sends more is disconnected (libzmq's ZMQ_MAXMSGSIZE). */
  maxMessageSize: number;
  /** A peer that connects under a routing id in use takes it over (ZMQ_ROUTER_HANDOVER); else it is refused. */
  handover?: boolean;
  /** Bytes waiting to be written to one peer beyond which messages to it are dropped (a ROUTER's high-water mark). */
  sendHighWaterBytes?: number;
  /** A connection that has not finished its handshake by then is closed (libzmq's ZMQ_HANDSHAKE_IVL, 30 s). */
  handshakeTimeoutMs?: number;
  /** A message: the peer's routing id, then its frames. */
  onMessage: (frames: Buffer[]) => void;
  /** A peer that was disconnected for breaking the protocol, and why (for the broker's counters and traces). */
  onProtocolError?: (why: string, address: string) => void;
}

const DEFAULT_HIGH_WATER = 8 * 1024 * 1024;
/** More frames than this in one message is not a message any TSR/1 or seed peer sends. */
const MAX_FRAMES_PER_MESSAGE = 64;
const OUR_GREETING = greeting();
const OUR_READY = readyCommand({ 'Socket-Type': 'ROUTER' });

/**
 * A ZeroMQ ROUTER that binds, in TypeScript on Node's own TCP (ZMTP 3.0, NULL mechanism): what the
 * broker's two sockets do without CURVE, with no libzmq I/O thread between the socket and the event
 * loop, so a message costs no thread hop, and all that arrived in one read is handled in one turn.
 * Peers are any ZeroMQ DEALER, REQ or ROUTER (libzmq, the seed's programs). As libzmq's ROUTER: a
 * message to an unknown routing id is dropped; a peer without a routing id gets a generated one
 * (a zero byte and four more); an oversize frame drops the connection.
 */
export class ZmtpRouter {
  closed = false;
  private server: Server | undefined;
  /** Peers by routing id, once their handshake is done; `connections`: every open one. */
  private readonly peers = new Map<string, Peer>();
  private readonly connections = new Set<Peer>();
  private nextGenerated = randomBytes(4).readUInt32BE(0);
  private readonly highWater: number;

  constructor(private readonly options: ZmtpRouterOptions) {
    this.highWater = options.sendHighWaterBytes ?? DEFAULT_HIGH_WATER;
  }

  /** Listens on `tcp://host:port` (`*`: every interface; port `*`: any free one). */
  bind(address: string): Promise<void> {
    const m = /^tcp:\/\/(\[[^\]]+\]|[^:]+):(\d+|\*)$/.exec(address);
    if (!m) return Promise.reject(new Error(`not a tcp:// endpoint: ${address}`));
    const host = m[1] === '*' ? undefined : m[1].replace(/^\[|\]$/g, '');
    const port = m[2] === '*' ? 0 : Number(m[2]);
    const server = createServer({ noDelay: true }, (socket) => this.accept(socket));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port, exclusive: true }, () => {
        server.off('error', reject);
        server.on('error', () => undefined); // after listening, errors belong to connections
        resolve();
      });
    });
  }

  /** The port bound (useful when it was `*`). */
  get port(): number {
    const a = this.server?.address();
    return typeof a === 'object' && a ? a.port : 0;
  }

  /** Sends frames[1..] to the peer whose routing id is frames[0]; dropped if it is gone or backed up. */
  send(frames: Buffer[]): void {
    const peer = this.peers.get(frames[0].toString('latin1'));
    if (!peer || peer.socket.writableLength > this.highWater) return;
    peer.write(encodeMessage(frames, 1));
  }

  /** Bytes written to a peer that it has not read yet (0 for a peer that is gone). */
  queuedBytes(routingId: Buffer): number {
    return this.peers.get(routingId.toString('latin1'))?.socket.writableLength ?? 0;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.server?.close();
    for (const peer of this.connections) peer.socket.destroy();
    this.peers.clear();
    this.connections.clear();
  }

  private accept(socket: Socket): void {
    if (this.closed) return void socket.destroy();
    socket.setNoDelay(true);
    this.connections.add(new Peer(socket, this));
  }

  /** @internal A peer finished its handshake: it gets its routing id, or is refused. */
  identified(peer: Peer, identity: Buffer): boolean {
    let id: Buffer;
    if (identity.length > 0) id = identity;
    else {
      id = Buffer.alloc(5);
      id.writeUInt32BE(this.nextGenerated++ >>> 0, 1);
    }
    const key = id.toString('latin1');
    const holder = this.peers.get(key);
    if (holder) {
      if (!this.options.handover) return false;
      // libzmq's handover: the old connection stays, under a generated id of its own
      const generated = Buffer.alloc(5);
      generated.writeUInt32BE(this.nextGenerated++ >>> 0, 1);
      holder.routingId = generated;
      this.peers.set(generated.toString('latin1'), holder);
    }
    peer.routingId = id;
    this.peers.set(key, peer);
    return true;
  }

  /** @internal */
  gone(peer: Peer): void {
    this.connections.delete(peer);
    const key = peer.routingId?.toString('latin1');
    if (key !== undefined && this.peers.get(key) === peer) this.peers.delete(key);
  }

  /** @internal */
  deliver(frames: Buffer[]): void {
    this.options.onMessage(frames);
  }

  /** @internal */
  refuse(peer: Peer, why: string): void {
    this.options.onProtocolError?.(why, peer.address);
  }

  /** @internal */
  get maxMessageSize(): number {
    return this.options.maxMessageSize;
  }

  /** @internal */
  get handshakeTimeoutMs(): number {
    return this.options.handshakeTimeoutMs ?? 30_000;
  }
}

/** One connection: greeting, READY, then frames gathered into messages. */
class Peer {
  routingId: Buffer | undefined;
  readonly address: string;
  private phase: 'greeting' | 'handshake' | 'traffic' = 'greeting';
  private greetingBytes = Buffer.alloc(0);
  private readonly reader: FrameReader;
  private message: Buffer[] = [];
  private out: Buffer[] = [];
  private flushing = false;
  private handshakeTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly socket: Socket,
    private readonly router: ZmtpRouter,
  ) {
    this.address = `${socket.remoteAddress}:${socket.remotePort}`;
    this.reader = new FrameReader(router.maxMessageSize, {
      frame: (body, more) => this.onFrame(body, more),
      command: (body) => this.onCommand(body),
      problem: (why) => this.drop(why),
    });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => undefined); // a reset peer: 'close' follows
    socket.on('close', () => {
      clearTimeout(this.handshakeTimer);
      router.gone(this);
    });
    this.handshakeTimer = setTimeout(() => this.drop('no handshake in time'), router.handshakeTimeoutMs);
    socket.write(Buffer.concat([OUR_GREETING, OUR_READY]));
  }

  /** Queued, and written once at the end of this tick: one system call for all that a turn sent this peer. */
  write(bytes: Buffer): void {
    this.out.push(bytes);
    if (this.flushing) return;
    this.flushing = true;
    process.nextTick(this.flush);
  }

  private readonly flush = (): void => {
    this.flushing = false;
    const out = this.out;
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
      if (this.greetingBytes.length >= 10 && greetingProblem(Buffer.concat([this.greetingBytes, Buffer.alloc(GREETING_BYTES)])) === 'not a ZMTP 3 greeting') this.drop('not a ZMTP 3 greeting');
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
    if (this.phase === 'handshake') {
      if (command.name !== 'READY') return this.drop(`expected READY, got ${command.name}`);
      const props = parseProperties(command.body);
      if (typeof props === 'string') return this.drop(props);
      const type = props.get('socket-type')?.toString('latin1') ?? '';
      if (!ROUTER_PEERS.has(type)) return this.drop(`a ${type || 'socket of no type'} cannot talk to a ROUTER`);
      const identity = props.get('identity') ?? Buffer.alloc(0);
      if (identity.length > MAX_ROUTING_ID_BYTES) return this.drop('routing id over 255 bytes');
      if (!this.router.identified(this, Buffer.from(identity))) return this.drop('routing id already connected');
      this.phase = 'traffic';
      clearTimeout(this.handshakeTimer);
    }
    // ZMTP 3.0 has no other command a peer must be answered for; ERROR ends the peer's side anyway.
  }

  private onFrame(body: Buffer, more: boolean): void {
    if (this.phase !== 'traffic') return this.drop('a message before the handshake');
    this.message.push(body);
    if (this.message.length > MAX_FRAMES_PER_MESSAGE) return this.drop(`a message of more than ${MAX_FRAMES_PER_MESSAGE} frames`);
    if (more) return;
    const frames = this.message;
    this.message = [];
    frames.unshift(this.routingId as Buffer);
    this.router.deliver(frames);
  }

  /** Disconnects a peer that broke the protocol (as libzmq does: no answer, the connection closes). */
  private drop(why: string): void {
    if (this.socket.destroyed) return;
    this.router.refuse(this, why);
    this.socket.destroy();
  }
}
