import { Dealer } from 'zeromq';
import { type CurvePeerKeys, curveClientSocketOptions, onKeyRefused } from '../curve';
import { guardedHandler, receiveLoop } from '../receive-loop';
import { ZmtpDealer } from './zmtp-dealer';

/** A DEALER connection to the broker, as a worker uses it: send, close; messages go to the handler it was opened with. */
export interface DealerPort {
  /** Never blocks: what cannot be sent now or queued is reported to `onSendError`. */
  send(frames: Buffer[]): void;
  /** With `lingerMs`, what was sent is still delivered for up to that long. */
  close(lingerMs?: number): void;
}

export interface DealerPortOptions {
  /** Names the receive loop in errors ("<name> receive loop failed: …"). */
  name: string;
  /** None: the broker generates one. */
  routingId?: string;
  reconnectIntervalMs: number;
  reconnectMaxIntervalMs: number;
  /** CURVE keys (libzmq's DEALER); none: our ZMTP DEALER on Node's TCP. */
  curve?: CurvePeerKeys;
  onMessage: (frames: Buffer[]) => void;
  /** The handler threw, or the socket failed. */
  onFatal: (error: Error) => void;
  onSendError: (error: Error) => void;
  /** CURVE only: the broker refused our key (libzmq will not retry that connection). */
  onKeyRefused?: () => void;
}

/**
 * Without CURVE: our own DEALER on Node's TCP (ZMTP 3.0, NULL), with no libzmq I/O thread between
 * the socket and the event loop. With CURVE: libzmq's DEALER, which has the cryptography.
 */
export function openDealerPort(endpoint: string, options: DealerPortOptions): DealerPort {
  return options.curve ? new ZmqDealerPort(endpoint, options, options.curve) : new ZmtpDealerPort(endpoint, options);
}

class ZmtpDealerPort implements DealerPort {
  private readonly dealer: ZmtpDealer;

  constructor(endpoint: string, private readonly options: DealerPortOptions) {
    this.dealer = new ZmtpDealer({
      routingId: options.routingId,
      reconnectIntervalMs: options.reconnectIntervalMs,
      reconnectMaxIntervalMs: options.reconnectMaxIntervalMs,
      onMessage: guardedHandler(options.name, options.onMessage, options.onFatal),
    });
    this.dealer.connect(endpoint);
  }

  send(frames: Buffer[]): void {
    if (!this.dealer.send(frames) && !this.dealer.closed) this.options.onSendError(new Error('too many messages waiting for the connection'));
  }

  close(lingerMs = 0): void {
    this.dealer.close(lingerMs);
  }
}

/** libzmq's DEALER (CURVE): connects at once, a receive loop, sends that never block (sendTimeout 0). */
class ZmqDealerPort implements DealerPort {
  private readonly socket: Dealer;

  constructor(endpoint: string, private readonly options: DealerPortOptions, curve: CurvePeerKeys) {
    this.socket = new Dealer({
      ...(options.routingId === undefined ? {} : { routingId: options.routingId }),
      linger: 0,
      sendTimeout: 0,
      reconnectInterval: options.reconnectIntervalMs,
      reconnectMaxInterval: options.reconnectMaxIntervalMs,
      ...curveClientSocketOptions(curve),
    });
    const socket = this.socket;
    // Watched before it connects: a refusal the monitor missed would never be retried.
    if (options.onKeyRefused) onKeyRefused(socket, curve, options.onKeyRefused);
    socket.connect(endpoint);
    void receiveLoop(options.name, socket, options.onMessage, options.onFatal);
  }

  send(frames: Buffer[]): void {
    this.socket.send(frames).catch(this.options.onSendError);
  }

  close(lingerMs = 0): void {
    this.socket.linger = lingerMs;
    this.socket.close();
  }
}
