import { type Frames } from '@tsr/protocol';
import { type CurveServerRole, ZMTP_LIVENESS, guardedHandler } from '@tsr/runtime';
import { ZmtpRouter } from '@tsr/zmtp';

/** One of the broker's two ROUTER sockets, as the broker uses it: bind, send, close; messages go to the handler it was opened with. */
export interface RouterPort {
  bind(address: string): Promise<void>;
  /** Never blocks: a message to a peer that is gone, or backed up, is dropped (a ROUTER's rule). */
  send(frames: Buffer[]): void;
  /** Messages dropped because their peer had more than `sendHighWaterBytes` waiting to be written. */
  readonly backedUpDrops: number;
  /** Whether the peer of that routing id (latin1) is connected now. */
  hasPeer(key: string): boolean;
  /** CURVE: disconnects the peers whose key is no longer admitted; how many. */
  dropPeers(admitted: (clientKey: Buffer) => boolean): number;
  close(): void;
}

export interface RouterPortOptions {
  name: string;
  /** Largest message (all its frames) a peer may send; a peer that sends more is disconnected. */
  maxMessageBytes: number;
  /** Bytes waiting to be written to one peer past which messages to it are dropped. */
  sendHighWaterBytes: number;
  /** A peer reconnecting under its routing id takes over from its stale connection (the backend). */
  handover: boolean;
  /** Connections at once; more are closed as they come, and reported. */
  maxConnections: number;
  /** ms between ZMTP PINGs on each connection; a peer silent for ZMTP_LIVENESS of them is disconnected. 0: none. */
  heartbeatMs: number;
  onConnectionLimit: (address: string, limit: number) => void;
  onMessage: (frames: Frames) => void;
  /** The handler threw: the broker can no longer keep its promises. */
  onFatal: (error: Error) => void;
  /** A peer disconnected for breaking ZMTP or falling silent; `inHandshake`: before its traffic began (with CURVE, a refused handshake). */
  onProtocolError: (why: string, address: string, inHandshake: boolean) => void;
  /** CURVE on this socket; none: the NULL mechanism, as the seed. */
  curve?: CurveServerRole;
  /** The connection that went by a routing id closed, or (`replaced`) was handed over to a new one. */
  onPeerGone?: (routingId: Buffer, replaced: boolean) => void;
  /** Large frames are read into pooled memory, which the broker gives back with `recycleFrame` once it has passed them on. */
  recycleLargeFrames?: boolean;
}

/** Our own ROUTER on Node's TCP (ZMTP 3.1; CURVE when given a role), read and written on the event loop itself. */
export function openRouterPort(options: RouterPortOptions): RouterPort {
  return new ZmtpRouter({
    maxMessageBytes: options.maxMessageBytes,
    sendHighWaterBytes: options.sendHighWaterBytes,
    handover: options.handover,
    maxConnections: options.maxConnections,
    // PINGs find connections whose peer is gone without a word (a host down, a cut link); their TTL asks peers to do the same for us.
    heartbeatIntervalMs: options.heartbeatMs,
    heartbeatTimeoutMs: options.heartbeatMs * ZMTP_LIVENESS,
    heartbeatTtlMs: options.heartbeatMs * ZMTP_LIVENESS,
    onConnectionLimit: options.onConnectionLimit,
    onProtocolError: options.onProtocolError,
    onMessage: guardedHandler(options.name, options.onMessage, options.onFatal),
    curve: options.curve,
    onPeerGone: options.onPeerGone,
    recycleLargeFrames: options.recycleLargeFrames,
  });
}
