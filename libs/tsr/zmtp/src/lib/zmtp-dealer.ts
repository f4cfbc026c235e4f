import { type ConnectionLimits, type CurveRole, SEND_HIGH_WATER_BYTES, ZmtpConnection, connectionLimits } from './zmtp-connection';
import { curveReady } from './curve-mechanism';
import { parseTcpEndpoint } from './tcp-endpoint';
import { SocketReads, connectReading } from './socket-reads';

export interface ZmtpDealerOptions extends ConnectionLimits {
  /** Our routing id, sent in the handshake (libzmq's ZMQ_ROUTING_ID); none: the peer generates one. */
  routingId?: string;
  /**
   * First wait before reconnecting, doubled after each failed try up to `reconnectMaxIntervalMs`
   * (libzmq's ZMQ_RECONNECT_IVL, _MAX); each wait gets up to one first interval more at random, as
   * libzmq's, so the peers of a restarted broker do not all come back in the same millisecond.
   */
  reconnectIntervalMs?: number;
  reconnectMaxIntervalMs?: number;
  /** Messages kept while not connected; past that, `send` drops them and says so (libzmq's ZMQ_SNDHWM). */
  highWaterMessages?: number;
  /** Bytes written to the connection that the peer has not read yet, past which `send` drops (a peer that stopped reading). */
  sendHighWaterBytes?: number;
  /** CURVE as a client (the broker's public key, our key pair); none: NULL. */
  curve?: Extract<CurveRole, { role: 'client' }>;
  onMessage: (frames: Buffer[]) => void;
  onProtocolError?: (why: string) => void;
  /**
   * A dial failed before any TCP connection was made (the name does not resolve, the port refuses,
   * the host is unreachable): `error.code` says which (`ENOTFOUND`, `ECONNREFUSED`, …). The socket
   * goes on trying, as libzmq's; this is for saying so.
   */
  onDialFailed?: (error: NodeJS.ErrnoException) => void;
  /** A connection finished its handshake: messages flow. */
  onConnected?: () => void;
  /** That connection is gone (the socket dials again, unless closed): not called for one that never finished its handshake. */
  onDisconnected?: () => void;
  /**
   * CURVE: the server refused our key (ERROR). As libzmq's DEALER, this one then stops trying; a
   * peer that wants to be admitted once its key is listed opens a new one.
   */
  onRefused?: (reason: string) => void;
}

/**
 * A ZeroMQ DEALER that connects, in TypeScript on Node's own TCP (ZMTP 3.1, NULL or CURVE): our
 * worker's and client's socket. As libzmq's: it connects in the background and keeps retrying,
 * with backoff; what is sent before the handshake is done waits (up to the high-water mark) and
 * goes out once it is; a lost connection is made again, and what was already written to it is lost.
 */
export class ZmtpDealer {
  closed = false;
  private host: string | undefined;
  private port = 0;
  private connection: ZmtpConnection | undefined;
  private waiting: (readonly Buffer[])[] = [];
  /** The first wait before reconnecting, and the current one (doubled after each failed try). */
  private readonly firstRetryMs: number;
  private retryMs: number;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly identity: Buffer | undefined;
  /** The server refused our key: no more tries. */
  private refused = false;
  /** Closed with a linger that has not run out: what was sent is still being delivered. */
  private lingering = false;
  private lingerTimer: NodeJS.Timeout | undefined;
  /** The connection whose handshake finished, while it lasts. */
  private handshaken: ZmtpConnection | undefined;
  private markStopped: () => void = () => {};
  /** Settles when the socket has stopped: closed, and done lingering. */
  private readonly stopped = new Promise<void>((resolve) => (this.markStopped = resolve));

  constructor(private readonly options: ZmtpDealerOptions) {
    this.firstRetryMs = options.reconnectIntervalMs ?? 100;
    this.retryMs = this.firstRetryMs;
    this.identity = options.routingId === undefined ? undefined : Buffer.from(options.routingId);
  }

  /** Starts connecting to `tcp://host:port`; a broker that is not there yet is tried again and again. */
  connect(address: string): void {
    ({ host: this.host, port: this.port } = parseTcpEndpoint(address));
    // With CURVE the first dial waits for the boxes (what is sent meanwhile waits, as before any connection).
    if (this.options.curve) void curveReady.then(() => this.dial());
    else this.dial();
  }

  /** Sends a message now, or once connected; false when it was dropped (closed, or too much waiting). */
  send(frames: readonly Buffer[]): boolean {
    if (this.closed) return false;
    if (this.connection?.open) {
      if (this.connection.queuedBytes > (this.options.sendHighWaterBytes ?? SEND_HIGH_WATER_BYTES)) return false;
      this.connection.send(frames);
      return true;
    }
    if (this.waiting.length >= (this.options.highWaterMessages ?? 1000)) return false;
    this.waiting.push(frames);
    return true;
  }

  /**
   * Stops. With `lingerMs`, what was sent is still written out, also what waits for a connection
   * (the socket goes on dialling for it): the connection ends once it is written, or after
   * `lingerMs`; without, it is dropped. Resolves once the socket has stopped (at once without linger).
   */
  close(lingerMs = 0): Promise<void> {
    if (this.closed) return this.stopped;
    this.closed = true;
    const connection = this.connection;
    if (lingerMs > 0 && (connection?.open || this.waiting.length > 0)) {
      this.lingering = true;
      this.lingerTimer = setTimeout(() => this.stop(), lingerMs);
      this.lingerTimer.unref();
      if (connection?.open) connection.end();
      return this.stopped;
    }
    this.stop();
    return this.stopped;
  }

  /** Drops everything at once: the connection, what waits, any retry. */
  private stop(): void {
    this.markStopped();
    this.lingering = false;
    clearTimeout(this.retryTimer);
    clearTimeout(this.lingerTimer);
    this.waiting = [];
    const connection = this.connection;
    this.connection = undefined;
    connection?.destroy();
  }

  private dial(): void {
    if (this.closed && !this.lingering) return;
    const reads = new SocketReads();
    const socket = connectReading({ host: this.host, port: this.port }, reads);
    let connected = false;
    socket.once('connect', () => (connected = true));
    socket.once('error', (error: NodeJS.ErrnoException) => {
      if (!connected) this.options.onDialFailed?.(error);
    });
    const connection = new ZmtpConnection(
      socket,
      { ...connectionLimits(this.options), type: 'DEALER', identity: this.identity, curve: this.options.curve },
      {
        ready: () => {
          this.retryMs = this.firstRetryMs;
          this.handshaken = connection;
          if (!this.closed) this.options.onConnected?.();
          for (const frames of this.waiting) connection.send(frames);
          this.waiting = [];
          if (this.lingering) connection.end(); // what waited is written: the linger's work is done
          return undefined;
        },
        message: (frames) => {
          if (!this.closed) this.options.onMessage(frames);
        },
        problem: (why) => this.options.onProtocolError?.(why),
        refused: (reason) => {
          this.refused = true;
          this.options.onRefused?.(reason);
        },
        closed: () => this.lost(connection),
      },
      reads,
    );
    this.connection = connection;
  }

  /** The connection is gone (reset, or dropped): try again after the current interval and some jitter, doubled for the next time; not after a refusal. */
  private lost(connection: ZmtpConnection): void {
    if (connection !== this.connection) return;
    this.connection = undefined;
    if (this.handshaken === connection && !this.closed) this.options.onDisconnected?.();
    if (this.closed && this.lingering && this.waiting.length === 0) return this.stop(); // the linger's work is done
    if (this.refused || (this.closed && !(this.lingering && this.waiting.length > 0))) return;
    const wait = this.retryMs + Math.random() * this.firstRetryMs;
    const max = this.options.reconnectMaxIntervalMs ?? 0;
    if (max > this.retryMs) this.retryMs = Math.min(max, this.retryMs * 2);
    this.retryTimer = setTimeout(() => this.dial(), wait);
  }
}
