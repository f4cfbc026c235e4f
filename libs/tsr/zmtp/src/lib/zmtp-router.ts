import { type Server, type Socket, createServer } from 'node:net';
import { randomBytes } from 'node:crypto';
import type { CurveKeyBytes } from './curve-keys';
import {
  type ConnectionEvents,
  type ConnectionLimits,
  connectionLimits,
  type ConnectionSettings,
  SEND_HIGH_WATER_BYTES,
  ZmtpConnection,
  peerAddress,
} from './zmtp-connection';
import { curveReady } from './curve-mechanism';
import { parseTcpEndpoint } from './tcp-endpoint';
import { SocketReads, adoptReading } from './socket-reads';

/** Connections one socket keeps at once unless told otherwise; past it new ones are closed as they come. */
export const DEFAULT_MAX_CONNECTIONS = 10_000;

export interface ZmtpRouterOptions extends ConnectionLimits {
  /** A peer that connects under a routing id in use takes it over and the old connection is closed (as libzmq's ZMQ_ROUTER_HANDOVER); else the newcomer is refused. */
  handover?: boolean;
  /** Bytes waiting to be written to one peer beyond which messages to it are dropped (a ROUTER's high-water mark). */
  sendHighWaterBytes?: number;
  /** Connections at once; one past it is closed on arrival and reported to `onConnectionLimit`. */
  maxConnections?: number;
  /** `tcp://*:port` listens on IPv6 too (libzmq's ZMQ_IPV6); without, IPv4 only, as libzmq. */
  ipv6?: boolean;
  /** A message: the peer's routing id, then its frames. */
  onMessage: (frames: Buffer[]) => void;
  /** A peer that was disconnected for breaking the protocol, and why (for the broker's counters and traces); `inHandshake`: before its traffic began. */
  onProtocolError?: (why: string, address: string, inHandshake: boolean) => void;
  /** A connection closed on arrival because `maxConnections` are open. */
  onConnectionLimit?: (address: string, limit: number) => void;
  /**
   * The connection that went by `routingId` is gone: closed, or (`replaced`) handed over to a
   * newcomer under that id (said before the newcomer's first message). What was sent to it and not
   * written is lost.
   */
  onPeerGone?: (routingId: Buffer, replaced: boolean) => void;
  /** CURVE as the server: our key pair, and whether a client's long-term key (from `address`) is admitted. None: NULL. */
  curve?: { keys: CurveKeyBytes; admit(clientKey: Buffer, address: string): boolean };
  /** Large frames are read into pooled memory, given back by `recycleFrame` once the owner is done with them (recycled-frames.ts). */
  recycleLargeFrames?: boolean;
}

/** A connected peer and the routing id it goes by. */
class Peer {
  routingId: Buffer | undefined;
  /** With CURVE: the long-term key it was admitted with. */
  clientKey: Buffer | undefined;
  readonly connection: ZmtpConnection;

  constructor(socket: Socket, settings: ConnectionSettings, events: (peer: Peer) => ConnectionEvents, reads?: SocketReads) {
    this.connection = new ZmtpConnection(socket, settings, events(this), reads);
  }
}

/**
 * A ZeroMQ ROUTER that binds, in TypeScript on Node's own TCP (ZMTP 3.1, NULL or CURVE): the
 * broker's two sockets. It reads and writes on the event loop itself, so a message costs no thread
 * hop, and all that arrived in one read is handled in one turn. Peers are any ZeroMQ DEALER, REQ
 * or ROUTER (libzmq's, the seed's programs). As libzmq's ROUTER: a message to an unknown routing
 * id is dropped; a peer without a routing id gets a generated one (a zero byte and four more).
 * Stricter than libzmq's: a generated id is never one in use, a routing id of the peer's own may
 * not start with a zero byte (RFC 37), and a message over the size bound (all its frames together)
 * or the frame bound drops the connection.
 */
export class ZmtpRouter {
  closed = false;
  private server: Server | undefined;
  /** Peers by routing id, once their handshake is done; `connections`: every open one. */
  private readonly peers = new Map<string, Peer>();
  private readonly connections = new Set<Peer>();
  private nextGenerated = randomBytes(4).readUInt32BE(0);
  private readonly highWater: number;
  /** Messages dropped because their peer had more than the high-water mark waiting to be written (it reads too slowly, or not at all). */
  backedUpDrops = 0;

  constructor(private readonly options: ZmtpRouterOptions) {
    this.highWater = options.sendHighWaterBytes ?? SEND_HIGH_WATER_BYTES;
  }

  /** Listens on `tcp://host:port` (`*`: every interface; port `*`: any free one). */
  async bind(address: string): Promise<void> {
    const { host, port } = parseTcpEndpoint(address, this.options.ipv6);
    if (this.options.curve) await curveReady; // no connection before the boxes can be opened
    // paused: an accepted connection is read by a socket of ours (socket-reads.ts), from its first byte
    const server = createServer({ pauseOnConnect: true }, (socket) => this.accept(socket));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port }, () => {
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

  /** Sends frames[1..] to the peer whose routing id is frames[0]; dropped if it is gone or backed up (counted). */
  send(frames: Buffer[]): void {
    const peer = this.peers.get(frames[0].toString('latin1'));
    if (!peer) return;
    if (peer.connection.queuedBytes > this.highWater) {
      this.backedUpDrops++;
      return;
    }
    peer.connection.send(frames, 1);
  }

  /** Whether a peer of that routing id (latin1) is connected now: a message to it would be sent. */
  hasPeer(key: string): boolean {
    return this.peers.has(key);
  }

  /** Bytes written to a peer that it has not read yet (0 for a peer that is gone). */
  queuedBytes(routingId: Buffer): number {
    return this.peers.get(routingId.toString('latin1'))?.connection.queuedBytes ?? 0;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.server?.close();
    for (const peer of this.connections) peer.connection.destroy();
    this.peers.clear();
    this.connections.clear();
  }

  private accept(accepted: Socket): void {
    if (this.closed) return void accepted.destroy();
    const limit = this.options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
    if (this.connections.size >= limit) {
      this.options.onConnectionLimit?.(peerAddress(accepted) ?? 'an unknown address', limit);
      return void accepted.destroy();
    }
    const reads = new SocketReads();
    const adopted = adoptReading(accepted, reads);
    const socket = adopted ?? accepted.resume();
    const curve = this.options.curve;
    const settings: ConnectionSettings = {
      ...connectionLimits(this.options),
      type: 'ROUTER',
      recycleLargeFrames: this.options.recycleLargeFrames,
      // Called once the connection exists, so `peer` is set by then.
      curve: curve && { role: 'server', keys: curve.keys, admit: (clientKey) => this.admit(peer, clientKey) },
    };
    const peer: Peer = new Peer(
      socket,
      settings,
      (peer) => ({
        ready: (identity) => this.identified(peer, identity),
        message: (frames) => {
          frames.unshift(peer.routingId as Buffer);
          this.options.onMessage(frames);
        },
        problem: (why, inHandshake) => this.options.onProtocolError?.(why, peer.connection.address, inHandshake),
        closed: () => this.gone(peer),
      }),
      adopted && reads,
    );
    this.connections.add(peer);
  }

  /** CURVE: whether a client's long-term key is admitted; an admitted peer keeps it, for `dropPeers`. */
  private admit(peer: Peer, clientKey: Buffer): boolean {
    if (!this.options.curve?.admit(clientKey, peer.connection.address)) return false;
    peer.clientKey = clientKey;
    return true;
  }

  /** Disconnects every CURVE peer whose key is no longer admitted (an allow-list lost it); how many. */
  dropPeers(admitted: (clientKey: Buffer) => boolean): number {
    let dropped = 0;
    for (const peer of this.connections) {
      if (peer.clientKey === undefined || admitted(peer.clientKey)) continue;
      peer.connection.destroy();
      dropped++;
    }
    return dropped;
  }

  /** A peer finished its handshake: it gets its routing id, or the reason it is refused. */
  private identified(peer: Peer, identity: Buffer): string | undefined {
    if (identity.length > 0 && identity[0] === 0) return 'a routing id may not start with a zero byte (RFC 37: kept for generated ids)';
    const id = identity.length > 0 ? identity : this.generatedId();
    const key = id.toString('latin1');
    const holder = this.peers.get(key);
    if (holder) {
      if (!this.options.handover) return 'routing id already connected';
      // libzmq's handover: the old connection is closed, the id is the newcomer's
      this.peers.delete(key);
      holder.connection.destroy();
      this.options.onPeerGone?.(id, true);
    }
    peer.routingId = id;
    this.peers.set(key, peer);
    return undefined;
  }

  /** A zero byte and four more, counting up from a random start, skipping any in use. */
  private generatedId(): Buffer {
    const id = Buffer.alloc(5);
    do id.writeUInt32BE(this.nextGenerated++ >>> 0, 1);
    while (this.peers.has(id.toString('latin1')));
    return id;
  }

  private gone(peer: Peer): void {
    this.connections.delete(peer);
    const key = peer.routingId?.toString('latin1');
    if (key === undefined || this.peers.get(key) !== peer) return;
    this.peers.delete(key);
    this.options.onPeerGone?.(peer.routingId as Buffer, false);
  }
}
