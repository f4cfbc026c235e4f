import { ZmtpDealer, curveKeyBytes, curveKeyPairBytes } from '@tsr/zmtp';
import type { CurvePeerKeys } from './curve';
import { guardedHandler } from './receive-loop';

/** A DEALER connection to the broker, as the worker and the client use it: send, close; messages go to the handler it was opened with. */
export interface DealerPort {
  /** Never blocks: what cannot be sent now or queued is reported to `onSendError`. */
  send(frames: Buffer[]): void;
  /** With `lingerMs`, what was sent is still delivered for up to that long; resolves once it is, or the linger ran out. */
  close(lingerMs?: number): Promise<void>;
}

export interface DealerPortOptions {
  /** Names the receive loop in errors ("<name> receive loop failed: …"). */
  name: string;
  /** None: the broker generates one. */
  routingId?: string;
  reconnectIntervalMs: number;
  reconnectMaxIntervalMs: number;
  /** Bytes waiting for the connection past which a send is refused (onSendError); none: the socket's default, 8 MiB. */
  sendHighWaterBytes?: number;
  /** CURVE keys; none: the NULL mechanism. */
  curve?: CurvePeerKeys;
  onMessage: (frames: Buffer[]) => void;
  /** The handler threw (reported once, as "<name> receive loop failed: …"); nothing more is handled. */
  onFatal: (error: Error) => void;
  onSendError: (error: Error) => void;
  /** CURVE only: the broker refused our key (this connection is not tried again). */
  onKeyRefused?: () => void;
  /** The broker broke ZMTP: the connection is dropped (and dialled again). */
  onProtocolError?: (why: string) => void;
  /** A dial found no broker (`ENOTFOUND`, `ECONNREFUSED`, …); it is tried again. */
  onDialFailed?: (error: NodeJS.ErrnoException) => void;
  /** Connected to the broker (the handshake done), and no longer: `false` each time that connection is lost. */
  onConnection?: (connected: boolean) => void;
}

/**
 * The largest message a broker may send us: its largest answer (--max-reply, 512 MiB) and room for
 * the envelope. Anything larger is no broker's, and the connection is dropped from the frame header.
 */
export const BROKER_MAX_MESSAGE_BYTES = 513 * 1024 * 1024;
/**
 * A client's requests waiting for the connection past which a send is refused and left to the
 * timeout's retry: what a broker takes from one client by default (a quarter of its 128 MiB queue)
 * and a request of its largest size. Less would hold back what the broker would take: 32 requests
 * of 1 MiB sent at once waited for their timeout past 8 MiB.
 */
export const CLIENT_SEND_HIGH_WATER_BYTES = 32 * 1024 * 1024 + 1024 * 1024;
/** ms between our ZMTP PINGs to the broker; a broker silent for ZMTP_LIVENESS of them is disconnected (and dialled again). */
export const BROKER_PING_MS = 5000;
/** ZMTP PING intervals a peer may stay silent before it is taken for gone, either side (the liveness of the zguide's Paranoid Pirate). */
export const ZMTP_LIVENESS = 3;

/** A failed dial, as a person reads it: what went wrong first, then the system's words. */
export function dialErrorText(error: NodeJS.ErrnoException): string {
  const plain: Record<string, string> = {
    ENOTFOUND: 'no such host',
    EAI_AGAIN: 'the name does not resolve (yet)',
    ECONNREFUSED: 'connection refused (nothing listens on that port)',
    EHOSTUNREACH: 'host unreachable',
    ENETUNREACH: 'network unreachable',
    ETIMEDOUT: 'connection timed out',
  };
  const said = error.code === undefined ? undefined : plain[error.code];
  return said ? `${said} (${error.message})` : error.message;
}

/** Our own DEALER on Node's TCP (ZMTP 3.1; CURVE when given keys), read and written on the event loop itself. */
export function openDealerPort(endpoint: string, options: DealerPortOptions): DealerPort {
  return new ZmtpDealerPort(endpoint, options);
}

class ZmtpDealerPort implements DealerPort {
  private readonly dealer: ZmtpDealer;

  constructor(
    endpoint: string,
    private readonly options: DealerPortOptions,
  ) {
    const curve = options.curve;
    this.dealer = new ZmtpDealer({
      routingId: options.routingId,
      reconnectIntervalMs: options.reconnectIntervalMs,
      reconnectMaxIntervalMs: options.reconnectMaxIntervalMs,
      sendHighWaterBytes: options.sendHighWaterBytes,
      maxMessageBytes: BROKER_MAX_MESSAGE_BYTES,
      heartbeatIntervalMs: BROKER_PING_MS,
      heartbeatTimeoutMs: ZMTP_LIVENESS * BROKER_PING_MS,
      heartbeatTtlMs: ZMTP_LIVENESS * BROKER_PING_MS,
      curve: curve && { role: 'client', serverKey: curveKeyBytes(curve.serverKey), keys: curveKeyPairBytes(curve) },
      onMessage: guardedHandler(options.name, options.onMessage, options.onFatal),
      onRefused: () => options.onKeyRefused?.(),
      onProtocolError: (why) => options.onProtocolError?.(why),
      onDialFailed: (error) => options.onDialFailed?.(error),
      onConnected: () => options.onConnection?.(true),
      onDisconnected: () => options.onConnection?.(false),
    });
    this.dealer.connect(endpoint);
  }

  send(frames: Buffer[]): void {
    if (!this.dealer.send(frames) && !this.dealer.closed)
      this.options.onSendError(new Error('too many messages waiting for the connection'));
  }

  close(lingerMs = 0): Promise<void> {
    return this.dealer.close(lingerMs);
  }
}
