/**
 * ZMTP 3.1 connection heartbeats (RFC 37), with libzmq's options: a PING every `intervalMs`; a
 * connection that sends nothing within `timeoutMs` of a PING is dead; our PINGs ask the peer to
 * hang up if it hears nothing from us for `ttlMs`; a peer's PING with a TTL is honoured the same
 * way. Any traffic is a sign of life, so the data path only counts reads: no timer is touched per
 * message.
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
  /** Reads so far: a deadline passes only if this did not move. */
  private reads = 0;
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
    this.reads++;
  }

  /** The peer sent a PING with this TTL: if it then goes quiet that long, it is gone. */
  peerPing(ttlMs: number): void {
    if (ttlMs <= 0 || this.ttl) return;
    this.ttl = this.deadline(ttlMs, `nothing heard within the ${ttlMs} ms its PING asked for`, () => (this.ttl = undefined));
  }

  stop(): void {
    clearInterval(this.pinger);
    clearTimeout(this.timeout);
    clearTimeout(this.ttl);
    this.pinger = this.timeout = this.ttl = undefined;
  }

  private sendPing(): void {
    this.io.ping(this.ttlMs);
    if (this.timeoutMs > 0 && !this.timeout) {
      this.timeout = this.deadline(this.timeoutMs, `no traffic within ${this.timeoutMs} ms of a PING`, () => (this.timeout = undefined));
    }
  }

  /** A timer that declares the peer dead unless something is read before it fires. */
  private deadline(ms: number, why: string, done: () => void): NodeJS.Timeout {
    const readsThen = this.reads;
    const timer = setTimeout(() => {
      done();
      if (this.reads === readsThen) this.io.dead(why);
    }, ms);
    timer.unref();
    return timer;
  }
}
