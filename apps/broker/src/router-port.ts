import { Router } from 'zeromq';
import { type CurveGuard, type Frames, ZmtpRouter, guardedHandler, receiveLoop } from '@tsr/tsr';

/** One of the broker's two ROUTER sockets, as the broker uses it: bind, send, close; messages go to the handler it was opened with. */
export interface RouterPort {
  bind(address: string): Promise<void>;
  /** Never blocks: a message to a peer that is gone, or backed up, is dropped (a ROUTER's rule). */
  send(frames: Buffer[]): void;
  close(): void;
}

export interface RouterPortOptions {
  name: string;
  /** Largest frame a peer may send; a peer that sends more is disconnected. */
  maxMessageSize: number;
  /** A peer reconnecting under its routing id takes over from its stale connection (the backend). */
  handover: boolean;
  onMessage: (frames: Frames) => void;
  /** The handler threw, or the socket failed: the broker can no longer keep its promises. */
  onFatal: (error: Error) => void;
  /** Sends that failed (zeromq only). */
  onSendError: (error: Error) => void;
  /** A peer disconnected for breaking ZMTP (our ROUTER only; libzmq keeps these to itself). */
  onProtocolError: (why: string, address: string) => void;
}

/**
 * Without CURVE: our own ROUTER on Node's TCP (ZMTP 3.0, NULL), with no libzmq thread hop per
 * message. With CURVE: libzmq's ROUTER, which has the cryptography and the ZAP handler.
 */
export function openRouterPort(options: RouterPortOptions, curve: CurveGuard | undefined): RouterPort {
  if (curve) return new ZmqRouterPort(options, curve);
  return new ZmtpRouter({
    maxMessageSize: options.maxMessageSize,
    handover: options.handover,
    onProtocolError: options.onProtocolError,
    onMessage: guardedHandler(options.name, options.onMessage, options.onFatal),
  });
}

/** libzmq's ROUTER (CURVE): a receive loop started once bound, sends that never block (sendTimeout 0). */
class ZmqRouterPort implements RouterPort {
  private readonly socket: Router;

  constructor(
    private readonly options: RouterPortOptions,
    curve: CurveGuard,
  ) {
    const name = options.name;
    this.socket = new Router({ sendTimeout: 0, linger: 0, maxMessageSize: options.maxMessageSize, handover: options.handover, ...curve.socketOptions(name) });
    curve.watch(name, this.socket);
  }

  async bind(address: string): Promise<void> {
    await this.socket.bind(address);
    void receiveLoop(this.options.name, this.socket, this.options.onMessage, this.options.onFatal);
  }

  send(frames: Buffer[]): void {
    this.socket.send(frames).catch(this.options.onSendError);
  }

  close(): void {
    this.socket.close();
  }
}
