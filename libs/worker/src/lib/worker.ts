import {
  BATCH_ACCEPT,
  type BatchRecord,
  GOODBYE,
  HEARTBEAT,
  MAX_FAILURE_MESSAGE,
  WORKER_RECONNECT_MAX_MS,
  batchable,
  errorBody,
  failureMessage,
  packBatches,
  parseBatchOffer,
  parseWorkerRequest,
  readyBody,
  workerBatchFrames,
  workerControlFrames,
  workerFailureFrames,
  workerReplyFrames,
} from '@tsr/protocol';
import { type DealerPort, brokerEndpoint, dialErrorText, openDealerPort } from '@tsr/runtime';
import { Health, type Probe } from '@tsr/monitoring';
import { type RequestInfo, type ServeOptions, type WorkerSettings, workerSettings } from './options';

interface Request {
  /** The broker's ticket: echoed with the answer. */
  ticket: Buffer;
  body: Buffer;
}

/** What `status()` reports. */
export interface WorkerStatus {
  id: string;
  service: string;
  registered: boolean;
  /** Holds a connection to the broker whose handshake is done (registered needs the broker's heartbeat too). */
  connected: boolean;
  queued: number;
  busy: boolean;
  served: number;
  failed: number;
  reconnects: number;
  /** Messages from the broker that broke TSR/1, ignored. */
  malformed: number;
  /** Connections to the broker dropped for breaking ZMTP (then dialled again). */
  protocolErrors: number;
  credit: number;
}

const isPromiseLike = <T>(value: unknown): value is PromiseLike<T> => typeof (value as PromiseLike<T> | undefined)?.then === 'function';

const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e)) || 'error';

/**
 * A worker for a TSR/1 broker, the ZeroMQ guide's Paranoid Pirate: it announces itself (and its
 * service and credit), serves the requests the broker sends one at a time and in order, heartbeats
 * once the broker has shown it speaks TSR/1, reconnects when the broker falls silent, and says
 * goodbye when closed. A handler that fails answers its request with an error; the worker serves
 * on. It uses a DEALER that writes the REQ envelope itself (the same frames on the wire as the
 * seed's REQ worker), so against a seed broker, which never heartbeats, it behaves as the seed's.
 */
export class Worker {
  /** Requests answered with a reply. */
  served = 0;
  /** Requests answered with a failure (the handler threw). */
  failed = 0;
  reconnects = 0;
  /** Messages from the broker that broke TSR/1, ignored. */
  malformed = 0;
  /** Connections to the broker dropped for breaking ZMTP (then dialled again). */
  protocolErrors = 0;
  private readonly health = new Health();
  /** Settles once the socket has delivered the goodbye (or given up), after `close`. */
  private stopped: Promise<void> = Promise.resolve();
  /** Why the last dial found no broker, until a connection is made. */
  private dialError: string | undefined;
  private connected = false;
  readonly identity: string;
  readonly service: string;
  /** `tcp://host:port` of the broker. */
  readonly endpoint: string;
  private readonly settings: WorkerSettings;
  private readonly info: RequestInfo;
  private socket!: DealerPort;
  private readonly queue: Request[] = [];
  private busy = false;
  private closed = false;
  /** Set by the broker's first heartbeat on this connection: from then on, silence means trouble. */
  private brokerBeats = false;
  private lastHeard = 0;
  private ticker: NodeJS.Timeout | undefined;
  /** Counts connections: work taken on an earlier one is abandoned (see `connect`). */
  private generation = 0;
  /** Set by the broker's offer of batches on this connection: the largest batch frame it accepts. */
  private batchMax: number | undefined;
  /** Answers of the current pass over the queue, sent as one batch when the pass ends. */
  private answers: BatchRecord[] = [];

  constructor(options: ServeOptions) {
    this.settings = workerSettings(options);
    this.identity = this.settings.identity;
    this.service = this.settings.service;
    this.endpoint = brokerEndpoint(this.settings.broker);
    this.info = Object.freeze({ service: this.service, worker: this.identity });
  }

  /** Connects and announces itself; the socket connects in the background and retries until the broker is there, and the ready waits for it. */
  start(): this {
    this.health.start();
    this.connect();
    const { credit } = this.settings;
    this.settings.logger.info(
      `${this.identity} connecting to ${this.endpoint}, service ${this.service}${credit > 1 ? `, credit ${credit}` : ''}`,
    );
    this.ticker = setInterval(() => this.tick(), this.settings.heartbeat);
    return this;
  }

  /**
   * Stops. A broker that speaks TSR/1 is told, so it re-dispatches what this worker held at once
   * rather than at a deadline; the socket lingers just long enough to deliver that, and the promise
   * resolves once it has (at most 200 ms). Answers of handlers still running are dropped.
   */
  close(): Promise<void> {
    if (this.closed) return this.stopped;
    this.sendAnswers(); // answers already finished go out before the goodbye
    this.closed = true;
    this.health.stop();
    clearInterval(this.ticker);
    if (this.brokerBeats) this.send(workerControlFrames(GOODBYE));
    this.stopped = this.socket.close(this.brokerBeats ? 200 : 0); // lingers just long enough to deliver the goodbye
    return this.stopped;
  }

  /** Liveness: the receive loop alive, the event loop not stalled. */
  liveness(): Probe {
    return this.health.liveness();
  }

  /**
   * Readiness: registered with a broker that answers heartbeats (TSR/1) and was heard from within
   * the liveness window. Against a seed broker, which never heartbeats, a worker is never ready.
   */
  registration(): Probe {
    if (this.dialError) return { ok: false, why: `not registered: cannot reach the broker at ${this.endpoint}: ${this.dialError}` };
    if (!this.brokerBeats) return { ok: false, why: 'not registered: no heartbeat from the broker on this connection' };
    const { ms, tooLong } = this.brokerSilence();
    if (tooLong) return { ok: false, why: `broker silent for ${Math.round(ms)} ms` };
    return { ok: true, why: `registered, broker heard ${Math.round(ms)} ms ago` };
  }

  status(): WorkerStatus {
    return {
      id: this.identity,
      service: this.service,
      registered: this.registration().ok,
      connected: this.connected,
      queued: this.queue.length,
      busy: this.busy,
      served: this.served,
      failed: this.failed,
      reconnects: this.reconnects,
      malformed: this.malformed,
      protocolErrors: this.protocolErrors,
      credit: this.settings.credit,
    };
  }

  /**
   * A fresh socket (the guide's Paranoid Pirate way: nothing stale survives) and a ready. The
   * socket reconnects to an absent broker with exponential backoff (100 ms doubling up to
   * WORKER_RECONNECT_MAX_MS) and delivers the ready whenever the broker is back. Requests taken
   * on the old connection are dropped, unanswered: a broker that still knows them re-dispatches
   * them when it sees the ready, so answering them as well would give a client two answers.
   */
  private connect(): void {
    this.generation++;
    this.queue.length = 0;
    this.busy = false;
    this.connected = false;
    const socket: DealerPort = openDealerPort(this.endpoint, {
      name: 'broker',
      routingId: this.identity,
      reconnectIntervalMs: 100,
      reconnectMaxIntervalMs: WORKER_RECONNECT_MAX_MS,
      curve: this.settings.curve,
      onMessage: (frames) => this.onMessage(frames),
      onFatal: this.health.watch('broker', this.fatal),
      onSendError: this.sendFailed,
      onKeyRefused: () => this.keyRefused(socket),
      onDialFailed: (error) => this.dialFailed(error),
      onConnection: (connected) => {
        if (socket !== this.socket) return;
        this.connected = connected;
        if (connected) this.dialError = undefined;
      },
      onProtocolError: (why) => {
        this.protocolErrors++;
        this.settings.logger.error(`dropped the connection to the broker: ${why}`);
      },
    });
    this.socket = socket;
    this.brokerBeats = false;
    this.batchMax = undefined;
    this.send(workerControlFrames(readyBody(this.settings.credit, this.service)));
  }

  /** How long the broker has said nothing on this connection, and whether that is past the liveness window. */
  private brokerSilence(): { ms: number; tooLong: boolean } {
    const ms = performance.now() - this.lastHeard;
    return { ms, tooLong: ms > this.settings.heartbeat * this.settings.liveness };
  }

  /** A refused key is not retried on that socket: try again on a new one a liveness window later (the key may be listed by then). */
  /**
   * A dial found no broker: said once per kind of failure (the socket retries every few seconds),
   * and again once a connection was made and a later dial fails.
   */
  private dialFailed(error: NodeJS.ErrnoException): void {
    const why = dialErrorText(error);
    if (why === this.dialError) return;
    this.dialError = why;
    this.settings.logger.error(`cannot reach the broker at ${this.endpoint}: ${why}; trying again`, error);
  }

  private keyRefused(socket: DealerPort): void {
    const ms = this.settings.heartbeat * this.settings.liveness;
    this.settings.logger.error(
      `the broker refused this worker's CURVE key (${this.settings.curve?.publicKey}: not in its allow-list); trying again in ${ms} ms`,
    );
    setTimeout(() => {
      if (socket !== this.socket || this.closed) return; // reconnected, or stopped
      this.reconnects++;
      void socket.close();
      this.connect();
    }, ms).unref();
  }

  private tick(): void {
    if (!this.brokerBeats) return;
    if (!this.brokerSilence().tooLong) {
      this.send(workerControlFrames(HEARTBEAT));
      return;
    }
    this.reconnects++;
    this.settings.logger.info(`broker silent for ${this.settings.liveness} heartbeats: reconnecting`);
    void this.socket.close();
    this.connect();
  }

  private readonly fatal = (error: Error): void => {
    this.close();
    this.settings.onFatal(error);
  };

  private onMessage(frames: Buffer[]): void {
    this.lastHeard = performance.now();
    const request = parseWorkerRequest(frames);
    const { logger } = this.settings;
    if ('kind' in request) {
      if (request.kind === 'malformed') {
        this.malformed++;
        logger.error(`ignored message from broker: ${request.reason}`);
      } else {
        for (const { ticket, body } of request.records) this.take(ticket, body);
        this.serveNext();
      }
    } else if (request.ticket.length === 0) {
      this.onControl(request.body);
    } else {
      this.take(request.ticket, request.body);
      this.serveNext();
    }
  }

  /** Queues a request (`ticket`: the broker's, echoed with the answer). */
  private take(ticket: Buffer, body: Buffer): void {
    const { logger } = this.settings;
    if (logger.tracing) logger.step?.('procesaPeticion', 'client request', [ticket, body]);
    this.queue.push({ ticket, body });
  }

  /** A heartbeat (the first one says the broker speaks TSR/1), or an offer of batches, accepted at once. */
  private onControl(body: Buffer): void {
    if (body.equals(HEARTBEAT)) {
      if (this.brokerBeats) return;
      this.brokerBeats = true;
      this.settings.logger.info(`registered: the broker speaks TSR/1`);
      return;
    }
    const max = parseBatchOffer(body);
    if (max === undefined || !this.brokerBeats) return;
    this.batchMax = max;
    this.send(workerControlFrames(BATCH_ACCEPT));
  }

  /**
   * Serves queued requests in order, one at a time. A handler that answers at once is answered at
   * once, so a burst of such requests is answered in one pass (no event-loop turn per request),
   * and to a broker that offered batches, in one message; one that returns a promise holds the
   * next requests until it settles.
   */
  private serveNext(): void {
    while (!this.busy && !this.closed) {
      const request = this.queue.shift();
      if (!request) break;
      const started = performance.now();
      let answer: unknown;
      try {
        answer = this.settings.handler(request.body, this.info);
      } catch (e) {
        this.fail(request, e, started);
        continue;
      }
      if (!isPromiseLike(answer)) {
        this.answer(request, answer, started);
        continue;
      }
      this.busy = true;
      const generation = this.generation;
      const settle = (finish: () => void) => {
        if (generation !== this.generation || this.closed) return; // abandoned at a reconnect or a close
        this.busy = false;
        finish();
        this.serveNext();
      };
      answer.then(
        (value) => settle(() => this.answer(request, value, started)),
        (e: unknown) => settle(() => this.fail(request, e, started)),
      );
    }
    this.sendAnswers();
  }

  private answer(request: Request, value: unknown, started: number): void {
    if (this.closed) return; // stopped by the handler itself: dropped, as the answers of handlers still running are
    const body =
      typeof value === 'string'
        ? Buffer.from(value)
        : value instanceof Uint8Array
          ? Buffer.from(value.buffer, value.byteOffset, value.byteLength)
          : undefined;
    if (body === undefined) {
      this.fail(
        request,
        new TypeError(`handler answered ${value === null ? 'null' : typeof value}, expected a Buffer or a string`),
        started,
      );
      return;
    }
    this.served++;
    this.settings.onServed?.((performance.now() - started) / 1000, 'reply');
    if (!this.batched({ ticket: request.ticket, body, failed: false })) this.send(workerReplyFrames(request.ticket, body));
  }

  /**
   * The handler failed: the client gets an error answer with its message. A broker that speaks
   * TSR/1 gets a failure frame; a seed broker, which would take it for the reply, gets the error as
   * the reply's body (`TSR/1 ERR handler …`), as our broker answers a plain client.
   */
  private fail(request: Request, e: unknown, started: number): void {
    if (this.closed) return;
    const message = messageOf(e);
    this.failed++;
    this.settings.logger.error(`handler failed: ${message}`, e);
    this.settings.onServed?.((performance.now() - started) / 1000, 'failure');
    if (!this.brokerBeats) this.send(workerReplyFrames(request.ticket, errorBody('handler', message.slice(0, MAX_FAILURE_MESSAGE))));
    else if (!this.batched({ ticket: request.ticket, body: failureMessage(message), failed: true }))
      this.send(workerFailureFrames(request.ticket, message));
  }

  /** Whether the answer waits for the end of this pass (the broker offered batches, and it fits one). */
  private batched(record: BatchRecord): boolean {
    if (this.batchMax === undefined || !batchable(record, this.batchMax)) return false;
    this.answers.push(record);
    return true;
  }

  private sendAnswers(): void {
    if (this.answers.length === 0 || this.batchMax === undefined || this.closed) return;
    for (const frame of packBatches(this.answers, this.batchMax)) this.send(workerBatchFrames(frame));
    this.answers = [];
  }

  /** Never blocks: a send the socket cannot take is logged (see `sendFailed`). */
  private send(frames: Buffer[]): void {
    this.socket.send(frames);
  }

  /** One handler for every send (no closure per message). */
  private readonly sendFailed = (e: Error): void => this.settings.logger.error(`send failed: ${e.message}`, e);
}

/** Starts a worker serving `options.service` with `options.handler`; `close()` stops it. */
export function serve(options: ServeOptions): Worker {
  return new Worker(options).start();
}
