import { Dealer } from 'zeromq';
import {
  type CurvePeerKeys,
  FastHistogram,
  GOODBYE,
  Health,
  type Probe,
  answerBody,
  HEARTBEAT,
  type Tracer,
  connectEndpoint,
  curveClientSocketOptions,
  onKeyRefused,
  parseWorkerRequest,
  readyBody,
  WORKER_RECONNECT_MAX_MS,
  receiveLoop,
  workerControlFrames,
  workerReplyFrames,
} from '@tsr/tsr';

export interface WorkerOptions {
  brokerHost: string;
  brokerPort: number;
  /** Simulated service time before each reply (seed: 1000 ms). */
  delayMs: number;
  identity: string;
  /** Interval of our heartbeats, once the broker has shown it speaks them. */
  heartbeatMs: number;
  /** Heartbeat intervals of broker silence after which the worker reconnects. */
  liveness: number;
  /** Requests it asks a TSR/1 broker to send ahead (queued here, served in order); seed: 1. */
  credit: number;
  /** CURVE keys (the broker's public key, our pair); undefined: plain TCP, as the seed. */
  curve?: CurvePeerKeys;
}

interface Request {
  client: Buffer;
  body: Buffer;
}

/**
 * The seed's `workerReq`, made a Paranoid Pirate worker: it announces itself, then serves one
 * request at a time, replying `<request> <worker id>` after `delayMs`. It uses a DEALER that
 * writes the REQ envelope itself (the same frames on the wire) so it can also exchange
 * heartbeats. Against a seed broker, which never sends one, it behaves exactly like the seed.
 */
export class Worker {
  served = 0;
  reconnects = 0;
  /** Liveness: the receive loop alive, the event loop not stalled. */
  readonly health = new Health();
  /** Time spent on each request, from taking it up to replying. */
  readonly serviceTime = new FastHistogram('tsr_worker_service_seconds', 'Time spent serving a request, from taking it up to replying');
  private socket!: Dealer;
  private readonly suffix: Buffer;
  private readonly queue: Request[] = [];
  private busy = false;
  /** Set by the broker's first heartbeat on this connection: from then on, silence means trouble. */
  private brokerBeats = false;
  private lastHeard = 0;
  private ticker: NodeJS.Timeout | undefined;
  /** Counts connections: work taken on an earlier one is abandoned (see `connect`). */
  private generation = 0;

  constructor(
    private readonly options: WorkerOptions,
    private readonly trace: Tracer,
    /** The receive loop died: the worker can no longer serve (the program exits 1). */
    private readonly onFatal: (error: Error) => void,
  ) {
    this.suffix = Buffer.from(` ${options.identity}`);
  }

  start(): void {
    this.health.start();
    this.trace.info(`${this.options.identity} connecting to ${this.connect()}, delay ${this.options.delayMs} ms`);
    this.ticker = setInterval(() => this.tick(), this.options.heartbeatMs);
  }

  /**
   * Stops. A broker that speaks TSR/1 is told, so it re-dispatches at once rather than at a
   * deadline; the socket lingers just long enough to deliver that.
   */
  close(): void {
    this.health.stop();
    clearInterval(this.ticker);
    if (this.brokerBeats) {
      this.socket.linger = 200;
      this.send(workerControlFrames(GOODBYE));
    }
    this.socket.close();
  }

  /**
   * A fresh socket (the guide's Paranoid Pirate way: nothing stale survives) and a ready.
   * libzmq reconnects to an absent broker with exponential backoff and delivers the ready
   * whenever the broker is back. Requests taken on the old connection are dropped, unanswered:
   * a broker that still knows them re-dispatches them when it sees the ready, so answering them
   * as well would give a client two answers.
   */
  private connect(): string {
    this.generation++;
    this.queue.length = 0;
    this.busy = false;
    this.socket = new Dealer({
      routingId: this.options.identity,
      linger: 0,
      sendTimeout: 0,
      reconnectInterval: 100,
      reconnectMaxInterval: WORKER_RECONNECT_MAX_MS,
      ...curveClientSocketOptions(this.options.curve),
    });
    const address = connectEndpoint(this.socket, this.options.brokerHost, this.options.brokerPort);
    const socket = this.socket;
    onKeyRefused(socket, this.options.curve, () => this.keyRefused(socket));
    this.brokerBeats = false;
    this.send(workerControlFrames(readyBody(this.options.credit)));
    this.receive(this.socket);
    return address;
  }

  /**
   * Readiness: registered with a broker that answers heartbeats (TSR/1) and was heard from within
   * the liveness window. Against a seed broker, which never heartbeats, a worker is never ready.
   */
  registration(): Probe {
    if (!this.brokerBeats) return { ok: false, why: 'not registered: no heartbeat from the broker on this connection' };
    const { ms, tooLong } = this.brokerSilence();
    if (tooLong) return { ok: false, why: `broker silent for ${Math.round(ms)} ms` };
    return { ok: true, why: `registered, broker heard ${Math.round(ms)} ms ago` };
  }

  /** `/status`: what this worker is doing. */
  status() {
    return {
      id: this.options.identity,
      registered: this.registration().ok,
      queued: this.queue.length,
      busy: this.busy,
      served: this.served,
      reconnects: this.reconnects,
      credit: this.options.credit,
      delayMs: this.options.delayMs,
    };
  }

  /** How long the broker has said nothing on this connection, and whether that is past the liveness window. */
  private brokerSilence(): { ms: number; tooLong: boolean } {
    const ms = performance.now() - this.lastHeard;
    return { ms, tooLong: ms > this.livenessMs };
  }

  private get livenessMs(): number {
    return this.options.heartbeatMs * this.options.liveness;
  }

  private tick(): void {
    if (!this.brokerBeats) return;
    if (!this.brokerSilence().tooLong) {
      this.send(workerControlFrames(HEARTBEAT));
      return;
    }
    this.reconnects++;
    this.trace.info(`broker silent for ${this.options.liveness} heartbeats: reconnecting`);
    this.socket.close();
    this.connect();
  }

  /** libzmq never retries a refused key: try again on a new socket a liveness window later (the key may be listed by then). */
  private keyRefused(socket: Dealer): void {
    const ms = this.livenessMs;
    this.trace.error(`the broker refused this worker's CURVE key (${this.options.curve?.publicKey}: not in its allow-list); trying again in ${ms} ms`);
    setTimeout(() => {
      if (socket !== this.socket || socket.closed) return; // reconnected, or stopped
      this.reconnects++;
      this.socket.close();
      this.connect();
    }, ms).unref();
  }

  private receive(socket: Dealer): void {
    void receiveLoop('broker', socket, (frames) => this.onMessage(frames), this.health.watch('broker', this.onFatal));
  }

  private onMessage(frames: Buffer[]): void {
    this.lastHeard = performance.now();
    const request = parseWorkerRequest(frames);
    if ('kind' in request) {
      this.trace.error(`ignored message from broker: ${request.reason}`);
    } else if (request.client.length === 0) {
      if (request.body.equals(HEARTBEAT) && !this.brokerBeats) {
        this.brokerBeats = true;
        this.trace.info(`registered: the broker speaks TSR/1`);
      }
    } else {
      if (this.trace.tracing) this.trace.traza('procesaPeticion', 'client request', [request.client, request.body]);
      this.queue.push(request);
      this.serveNext();
    }
  }

  /**
   * Serves queued requests in order. With a service time, one at a time on a timer; without one,
   * every queued request is answered at once (a burst is answered in one pass, as a plain reply
   * socket would: no event-loop turn per request).
   */
  private serveNext(): void {
    if (this.options.delayMs === 0) {
      for (let request; (request = this.queue.shift()); ) this.answer(request, performance.now());
      return;
    }
    if (this.busy) return;
    const request = this.queue.shift();
    if (!request) return;
    this.busy = true;
    const generation = this.generation;
    const started = performance.now();
    setTimeout(() => {
      if (generation !== this.generation) return; // abandoned at a reconnect
      this.busy = false;
      this.answer(request, started);
      this.serveNext();
    }, this.options.delayMs);
  }

  private answer(request: Request, started: number): void {
    this.served++;
    this.serviceTime.observe((performance.now() - started) / 1000);
    this.send(workerReplyFrames(request.client, answerBody(request.body, this.suffix)));
  }

  /** sendTimeout 0: a send completes at once or fails (queue full): never two sends in flight. */
  private send(frames: Buffer[]): void {
    this.socket.send(frames).catch((e: Error) => this.trace.error(`send failed: ${e.message}`));
  }
}
