import {
  BATCH_ACCEPT,
  type BatchRecord,
  GOODBYE,
  HEARTBEAT,
  LEASE_OFFER,
  MAX_FAILURE_MESSAGE,
  METADATA_OFFER,
  WANT,
  WORKER_RECONNECT_MAX_MS,
  type WorkerRequest,
  batchable,
  creditBody,
  errorBody,
  failureMessage,
  packBatches,
  parseBatchOffer,
  parseCredit,
  parseWorkerRequest,
  readyBody,
  workerBatchFrames,
  workerControlFrames,
  workerFailureFrames,
  workerReplyFrames,
} from '@tsr/protocol';
import { type ConnectionEvent, type DealerPort, dialErrorText, openDealerPort } from '@tsr/runtime';
import type { Probe } from '@tsr/monitoring';
import type { WorkerSettings } from './options';

/** What a link tells its worker. */
export interface LinkEvents {
  /** A connection is made: the window its ready lends this broker. */
  opened(link: BrokerLink): number;
  /** The connection is gone (lost, or replaced): what came on it is abandoned. */
  closed(link: BrokerLink): void;
  /** Requests taken from one message (one or a batch), to serve in order; `metadata` as it came (unparsed). */
  requests(link: BrokerLink, requests: readonly WorkerRequest[]): void;
  leasing(link: BrokerLink): void;
  acknowledged(link: BrokerLink, window: number): void;
  wanted(link: BrokerLink): void;
  /** Whether the worker has several brokers (then what is said names this one). */
  several(): boolean;
  /** The receive loop failed: the worker can no longer serve. */
  fatal(error: Error): void;
  /** A connection was made, lost, or refused (for `events()`). */
  said(event: ConnectionEvent): void;
}

/** One broker as a worker sees it, for status output. */
export interface BrokerLinkStatus {
  endpoint: string;
  connected: boolean;
  registered: boolean;
  served: number;
  reconnects: number;
  malformed: number;
  protocolErrors: number;
}

/**
 * The worker's conversation with one broker, the ZeroMQ guide's Paranoid Pirate: a ready on
 * each new connection, heartbeats once the broker has shown it speaks TSR/1, a fresh socket when
 * it falls silent, batches, leases and metadata when it offers them, answers in the shape it understands.
 * It uses a DEALER that writes the REQ envelope itself (the same frames on the wire as the seed's
 * REQ worker), so against a seed broker, which never heartbeats, it behaves as the seed's.
 */
export class BrokerLink {
  served = 0;
  reconnects = 0;
  /** Messages from the broker that broke TSR/1, ignored. */
  malformed = 0;
  /** Connections to the broker dropped for breaking ZMTP (then dialled again). */
  protocolErrors = 0;
  /** Set by the broker's first heartbeat on this connection: from then on, silence means trouble. */
  beats = false;
  private connected = false;
  private closing = false;
  /** Why the last dial found no broker, until a connection is made. */
  private dialError: string | undefined;
  private lastHeard = 0;
  private socket!: DealerPort;
  /** Set by the broker's offer of batches on this connection: the largest batch frame it accepts. */
  private batchMax: number | undefined;
  /** Set once the broker's offer of metadata on this connection is accepted. */
  private metadata = false;
  /** Answers of the current pass over the queue, sent as one batch when the pass ends. */
  private answers: BatchRecord[] = [];

  constructor(
    readonly endpoint: string,
    private readonly settings: WorkerSettings,
    private readonly events: LinkEvents,
  ) {
    this.open();
  }

  /** Heartbeat, or a fresh socket when the broker has been silent past the liveness window. */
  tick(): void {
    if (!this.beats) return;
    if (!this.silence().tooLong) {
      this.send(workerControlFrames(HEARTBEAT));
      return;
    }
    this.warn(`broker silent for ${this.settings.liveness} heartbeats: reconnecting${this.where()}`);
    this.reopen();
  }

  /** The answer to a request of this connection. */
  reply(ticket: Buffer, body: Buffer): void {
    this.served++;
    if (!this.batched({ ticket, body, failed: false })) this.send(workerReplyFrames(ticket, body));
  }

  /**
   * The handler failed: a broker that speaks TSR/1 gets a failure frame; a seed broker, which would
   * take it for the reply, gets the error as the reply's body (`TSR/1 ERR handler …`), as our
   * broker answers a plain client.
   */
  failure(ticket: Buffer, message: string): void {
    this.served++;
    if (!this.beats) this.send(workerReplyFrames(ticket, errorBody('handler', message.slice(0, MAX_FAILURE_MESSAGE))));
    else if (!this.batched({ ticket, body: failureMessage(message), failed: true })) this.send(workerFailureFrames(ticket, message));
  }

  /** Sends the answers of this pass over the queue, as batches. */
  flush(): void {
    if (this.answers.length === 0 || this.batchMax === undefined) return;
    for (const frame of packBatches(this.answers, this.batchMax)) this.send(workerBatchFrames(frame));
    this.answers = [];
  }

  /** Asks the broker to hold this worker to `window` requests from now on. */
  credit(window: number): void {
    this.send(workerControlFrames(creditBody(window)));
  }

  /**
   * Stops. A broker that speaks TSR/1 is told, so it re-dispatches what this worker held at once
   * rather than at a deadline; resolves once that is delivered (at most 200 ms).
   */
  close(): Promise<void> {
    this.flush();
    this.closing = true;
    if (this.beats) this.send(workerControlFrames(GOODBYE));
    return this.socket.close(this.beats ? 200 : 0);
  }

  /** Registered with a broker that answers heartbeats (TSR/1) and was heard from within the liveness window. */
  registration(): Probe {
    if (this.dialError) return { ok: false, why: `not registered: cannot reach the broker at ${this.endpoint}: ${this.dialError}` };
    if (!this.beats) return { ok: false, why: `not registered: no heartbeat from the broker on this connection${this.where()}` };
    const { ms, tooLong } = this.silence();
    if (tooLong) return { ok: false, why: `broker silent for ${Math.round(ms)} ms${this.where()}` };
    return { ok: true, why: `registered, broker heard ${Math.round(ms)} ms ago${this.where()}` };
  }

  status(): BrokerLinkStatus {
    const { endpoint, connected, served, reconnects, malformed, protocolErrors } = this;
    return { endpoint, connected, registered: this.registration().ok, served, reconnects, malformed, protocolErrors };
  }

  /** A problem the link recovers from: a warning, or an error for a logger without warnings. */
  private warn(message: string, cause?: unknown): void {
    const { logger } = this.settings;
    if (logger.warn) logger.warn(message, cause);
    else logger.error(message, cause);
  }

  /** Names the broker in what is said, when there may be several. */
  private where(): string {
    return this.events.several() ? ` (${this.endpoint})` : '';
  }

  /**
   * A fresh socket (the guide's Paranoid Pirate way: nothing stale survives). It reconnects to an
   * absent broker with exponential backoff (100 ms doubling up to WORKER_RECONNECT_MAX_MS); each
   * connection it makes is announced with a ready lending what the worker has free then.
   */
  private open(): void {
    const socket: DealerPort = openDealerPort(this.endpoint, {
      name: 'broker',
      routingId: this.settings.identity,
      reconnectIntervalMs: 100,
      reconnectMaxIntervalMs: WORKER_RECONNECT_MAX_MS,
      curve: this.settings.curve,
      onMessage: (frames) => {
        if (socket === this.socket) this.onMessage(frames);
      },
      onFatal: (error) => this.events.fatal(error),
      onSendError: this.sendFailed,
      onKeyRefused: () => this.keyRefused(socket),
      onDialFailed: (error) => this.dialFailed(error),
      onConnection: (connected) => {
        if (socket === this.socket && !this.closing) this.connection(connected);
      },
      onProtocolError: (why) => {
        this.protocolErrors++;
        this.warn(`dropped the connection to the broker: ${why}${this.where()}`);
      },
    });
    this.socket = socket;
  }

  private reopen(): void {
    this.reconnects++;
    const old = this.socket;
    this.connection(false);
    this.open(); // first: callbacks of the old socket are ignored from here on
    void old.close();
  }

  private connection(connected: boolean): void {
    if (connected === this.connected) return;
    this.connected = connected;
    this.beats = false;
    this.batchMax = undefined;
    this.metadata = false;
    this.answers = [];
    this.events.said({ type: connected ? 'connected' : 'disconnected', address: this.endpoint });
    this.settings.logger.debug?.(connected ? `connected to ${this.endpoint}` : `connection to ${this.endpoint} lost`);
    if (!connected) return this.events.closed(this);
    this.dialError = undefined;
    this.lastHeard = performance.now();
    this.send(workerControlFrames(readyBody(this.events.opened(this), this.settings.service)));
  }

  private silence(): { ms: number; tooLong: boolean } {
    const ms = performance.now() - this.lastHeard;
    return { ms, tooLong: ms > this.settings.heartbeat * this.settings.liveness };
  }

  private onMessage(frames: Buffer[]): void {
    this.lastHeard = performance.now();
    const request = parseWorkerRequest(frames);
    if (!('kind' in request)) {
      if (request.ticket.length === 0) this.onControl(request.body);
      else this.take([request]);
    } else if (request.kind === 'batch') this.take(request.records);
    else {
      this.malformed++;
      this.warn(`ignored message from broker: ${request.reason}${this.where()}`);
    }
  }

  /** A request's metadata broke the rules: counted and logged, and the request served as one without. */
  malformedMetadata(why: string): void {
    this.malformed++;
    this.warn(`ignored the metadata of a request from the broker: ${why}${this.where()}`);
  }

  private take(requests: readonly WorkerRequest[]): void {
    const { logger } = this.settings;
    if (logger.tracing) for (const { ticket, body } of requests) logger.step?.('procesaPeticion', 'client request', [ticket, body]);
    this.events.requests(this, requests);
  }

  /** A heartbeat (the first one says the broker speaks TSR/1), an offer (batches, leases, metadata), a window acknowledged, a demand. */
  private onControl(body: Buffer): void {
    if (body.equals(HEARTBEAT)) {
      if (this.beats) return;
      this.beats = true;
      this.settings.logger.info(`registered: the broker speaks TSR/1${this.where()}`);
      return;
    }
    if (!this.beats) return;
    if (body.equals(WANT)) return this.events.wanted(this);
    if (body.equals(LEASE_OFFER)) return this.events.leasing(this);
    if (body.equals(METADATA_OFFER)) return this.acceptMetadata();
    const window = parseCredit(body);
    if (window !== undefined) return this.events.acknowledged(this, window);
    const max = parseBatchOffer(body);
    if (max === undefined) return;
    this.batchMax = max;
    this.send(workerControlFrames(BATCH_ACCEPT));
  }

  /** The broker offers requests with their headers: accepted once per connection (the same words answer). */
  private acceptMetadata(): void {
    if (this.metadata) return;
    this.metadata = true;
    this.send(workerControlFrames(METADATA_OFFER));
  }

  /** Whether the answer waits for the end of this pass (the broker offered batches, and it fits one). */
  private batched(record: BatchRecord): boolean {
    if (this.batchMax === undefined || !batchable(record, this.batchMax)) return false;
    this.answers.push(record);
    return true;
  }

  /**
   * A dial found no broker: said once per kind of failure (the socket retries every few seconds),
   * and again once a connection was made and a later dial fails.
   */
  private dialFailed(error: NodeJS.ErrnoException): void {
    const why = dialErrorText(error);
    if (why === this.dialError) return;
    this.dialError = why;
    this.events.said({ type: 'refused', address: this.endpoint, reason: why });
    this.warn(`cannot reach the broker at ${this.endpoint}: ${why}; trying again`, error);
  }

  /** A refused key is not retried on that socket: try again on a new one a liveness window later (the key may be listed by then). */
  private keyRefused(socket: DealerPort): void {
    const ms = this.settings.heartbeat * this.settings.liveness;
    const reason = `the broker refused this worker's CURVE key (${this.settings.curve?.publicKey}: not in its allow-list)`;
    this.events.said({ type: 'refused', address: this.endpoint, reason });
    this.settings.logger.error(`${reason}; trying again in ${ms} ms${this.where()}`);
    setTimeout(() => {
      if (socket === this.socket && !this.closing) this.reopen();
    }, ms).unref();
  }

  /** Never blocks: a send the socket cannot take is logged (see `sendFailed`). */
  private send(frames: Buffer[]): void {
    this.socket.send(frames);
  }

  /** One handler for every send (no closure per message). */
  private readonly sendFailed = (e: Error): void => this.settings.logger.error(`send failed: ${e.message}`, e);
}
