/**
 * ZMTP 3.1 connection heartbeats (RFC 37), with libzmq's options: a PING every `intervalMs`; a
 * connection that sends nothing within `timeoutMs` of a PING is dead; our PINGs ask the peer to
 * hang up if it hears nothing from us for `ttlMs`; a peer's PING with a TTL is honoured the same
 * way. Any traffic is a sign of life, so the data path only notes the time of each read: no timer
 * is touched per message.
 */

export interface HeartbeatOptions {
  /** ms between our PINGs (libzmq's ZMQ_HEARTBEAT_IVL); 0 or none: we send none. */
  heartbeatIntervalMs?: number;
  /** ms a PING may go without any traffic back (ZMQ_HEARTBEAT_TIMEOUT); default: the interval. */
  heartbeatTimeoutMs?: number;
  /** The TTL our PINGs carry (ZMQ_HEARTBEAT_TTL), in ms, rounded to tenths of a second; default 0. */
  heartbeatTtlMs?: number;
}

export interface HeartbeatIo {
  /** Sends a PING that carries `ttlMs`. */
  ping(ttlMs: number): void;
  /** The peer is silent past a deadline: close the connection. */
  dead(why: string): void;
}

/** The longest TTL a PING can carry: 65535 tenths of a second. */
export const MAX_PING_TTL_MS = 6_553_500;

export class Heartbeat {
  /** When the peer was last heard from, and when it last sent a PING with a TTL. */
  private lastReadAt = 0;
  private lastPingAt = 0;
  private pinger: NodeJS.Timeout | undefined;
  private timeout: NodeJS.Timeout | undefined;
  private ttl: NodeJS.Timeout | undefined;
  private readonly intervalMs: number;
  private readonly timeoutMs: number;
  private readonly ttlMs: number;

  constructor(
    options: HeartbeatOptions,
    private readonly io: HeartbeatIo,
  ) {
    this.intervalMs = options.heartbeatIntervalMs ?? 0;
    this.timeoutMs = options.heartbeatTimeoutMs ?? this.intervalMs;
    this.ttlMs = Math.min(options.heartbeatTtlMs ?? 0, MAX_PING_TTL_MS);
  }

  /** The handshake is done: PINGs may start. */
  start(): void {
    if (this.intervalMs <= 0 || this.pinger) return;
    this.pinger = setInterval(() => this.sendPing(), this.intervalMs);
    this.pinger.unref();
  }

  /** Anything came from the peer. */
  heard(): void {
    this.lastReadAt = Date.now();
  }

  /**
   * The peer sent a PING with this TTL: as libzmq, if that PING is the last thing it sends for
   * that long, it is gone (anything else after it is a sign of life; a later PING starts again).
   */
  peerPing(ttlMs: number): void {
    if (ttlMs <= 0) return;
    this.lastPingAt = this.lastReadAt;
    if (!this.ttl) this.armTtl(this.lastPingAt, ttlMs);
  }

  stop(): void {
    clearInterval(this.pinger);
    clearTimeout(this.timeout);
    clearTimeout(this.ttl);
    this.pinger = this.timeout = this.ttl = undefined;
  }

  private sendPing(): void {
    this.io.ping(this.ttlMs);
    if (this.timeoutMs <= 0 || this.timeout) return;
    const sentAt = Date.now();
    this.timeout = setTimeout(() => {
      this.timeout = undefined;
      if (this.lastReadAt < sentAt) this.io.dead(`no traffic within ${this.timeoutMs} ms of a PING`);
    }, this.timeoutMs);
    this.timeout.unref();
  }

  private armTtl(pingAt: number, ttlMs: number): void {
    this.ttl = setTimeout(
      () => {
        this.ttl = undefined;
        if (this.lastPingAt > pingAt) return this.armTtl(this.lastPingAt, ttlMs); // a later PING: its deadline
        if (this.lastReadAt > pingAt) return; // something came after the PING
        this.io.dead(`nothing heard within the ${ttlMs} ms its PING asked for`);
      },
      Math.max(0, pingAt + ttlMs - Date.now()),
    );
    this.ttl.unref();
  }
}
