import { randomBytes } from 'node:crypto';
import type { Span } from '@opentelemetry/api';
import {
  BATCH_PROBE_SERVICE,
  type BatchRecord,
  DEFAULT_SERVICE,
  DISCOVERY_SERVICE,
  EMPTY,
  type Headers,
  type ServiceInfo,
  batchable,
  clientBatchRequestFrames,
  clientRequestFrames,
  isAnswerTo,
  isServiceName,
  packBatches,
  parseBatchOffer,
  parseClientAnswer,
  plainErrorText,
} from '@tsr/protocol';
import {
  type BrokerAddresses,
  CLIENT_SEND_HIGH_WATER_BYTES,
  BrokerSet,
  type BrokerSetOptions,
  Coalescer,
  type ConnectionEvent,
  type CurvePeerKeys,
  type DealerPort,
  EventFeed,
  dialErrorText,
  openDealerPort,
  uniqueIdentity,
} from '@tsr/runtime';
import { ATTR } from '@tsr/telemetry';
import { NoAnswerError, PlainBrokerError, RequestError, brokerError } from './errors';
import { NO_HEADERS, type UserHeaders, metadataFrame, traceLines, userHeaders } from './metadata';
import { SlotTable } from './slot-table';
import { type Outcome, attemptSpan, endSpan, endTimedOut, requestSpan } from './spans';

export interface RetryOptions {
  /** ms to wait for an answer to each attempt; 0 waits forever (no retries). Default 10,000. */
  timeout?: number;
  /** Attempts after the first when one gets no answer in time. Default 3. */
  retries?: number;
}

/** A request's own options: its retries, its headers, and a signal that abandons it. */
export interface RequestOptions extends RetryOptions {
  /**
   * Aborting it ends the request at once, rejected with the signal's reason (an `AbortError`, as
   * `fetch`'s); an answer that comes later is dropped as stray.
   */
  signal?: AbortSignal;
  /**
   * Metadata the request carries to the worker's handler: lowercase names (`a-z 0-9 . _ -`, at most
   * 64 bytes), printable ASCII values, at most 32 headers and 4 KiB with the client's own. The names
   * `timeout-ms`, `traceparent` and `tracestate` are the client's (the request's deadline and
   * trace). Not in plain mode: a seed broker knows no metadata.
   */
  headers?: Headers;
}

export interface ClientOptions extends RetryOptions, BrokerSetOptions {
  /**
   * The broker's frontend: `tcp://host:port`, `host:port` or `{ host, port }`; or several brokers,
   * a list of them or `host:port,host:port`. A name is looked up again every `resolveIntervalMs`,
   * each of its addresses a broker (Swarm's `tasks.<service>`, a Kubernetes headless Service).
   * Each new connection goes to the next broker, so a retry after a timeout goes to another.
   */
  broker: BrokerAddresses;
  /** The routing id of the client's first connection (`<identity>#n` after a reconnect); default `C <hostname>-<pid>-<n>`. */
  identity?: string;
  /**
   * Plain mode, for seed brokers (and forwarders) that know no TSR/1 envelope: requests go as the
   * seed's client sends them, to the one default service, one at a time, and an answer is taken
   * for a request only if it starts with the request's text and a space (the seed's echo).
   */
  plain?: boolean;
  /**
   * CURVE (encryption, and authentication where the broker lists its clients): the broker's public
   * key and this client's key pair, Z85. Default: none, plain TCP as the seed.
   */
  curve?: CurvePeerKeys;
  /**
   * Called when the client's connection to the broker is made (`true`: the handshake done) and when
   * it is lost or replaced (`false`; a retry opens a fresh connection). `client.connected` says the same.
   */
  onConnection?: (connected: boolean) => void;
}

interface Pending {
  /** Its name in `pending` while it is there (slot -1 before). */
  slot: number;
  generation: number;
  id: Buffer;
  service: string;
  body: Buffer;
  timeout: number;
  retries: number;
  /** ms it may take in all, `timeout × (retries + 1)` from `request()`; 0: none (it waits forever). */
  budget: number;
  /** When the budget runs out (`performance.now()`). */
  deadline: number;
  /** When the attempt in flight times out (`performance.now()`). */
  attemptEnds: number;
  /**
   * When the client stops waiting for an answer to the send in flight, which its `timeout-ms`
   * tells the broker: when its attempt times out (the connection is then left, and an answer on it
   * lost), or, moved to a newer connection, a timeout after that (see expire); never past the budget.
   */
  waitEnds: number;
  /** The caller's headers, written out once. */
  headers: UserHeaders;
  /** The request's span; none for the client's own question about batches, which sends no metadata. */
  span: Span | undefined;
  /** The span of the attempt in flight (the request's span when that records nothing), and its trace header lines. */
  attemptSpan: Span | undefined;
  traceText: string;
  /** Whether the attempt's span went out on a connection: sent again on another, the request starts a new one. */
  spanSent: boolean;
  attempts: number;
  timer?: NodeJS.Timeout;
  /** The brokers its attempts went to, each once: named when it gets no answer. */
  tried: string[];
  /** The connection (its number) its last attempt was sent on; -1: none (the brokers were not known yet). */
  connection: number;
  resolve(answer: Buffer): void;
  reject(error: unknown): void;
  /** Stops listening to the request's abort signal, once it is settled. */
  release?(): void;
}

/** A request id: the client's random prefix, then the slot and generation (4 bytes each). */
const ID_PREFIX_BYTES = 4;
const ID_BYTES = ID_PREFIX_BYTES + 8;

function count(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max)
    throw new RangeError(`${name} must be an integer ${min}-${max}, got ${value}`);
  return value;
}

/**
 * A client of a TSR/1 broker: `request(service, body)` sends a request in the TSR/1 envelope and
 * resolves with the reply. Answers are matched to requests by the envelope's id, so requests may
 * be in flight at once on one client, and a duplicate or late answer is never taken for another
 * request's. The ZeroMQ guide's Lazy Pirate: an attempt that gets no answer in time is sent again
 * on a fresh connection (a fresh routing id: nothing stale survives), to the next broker where
 * there are several, up to `retries` times; then the request fails with a {@link NoAnswerError}.
 * An error answer fails it at once with a {@link BrokerError} ({@link NoServiceError},
 * {@link HandlerError}, {@link RefusedError}).
 */
export class Client {
  /** Attempts sent again after a timeout. */
  retried = 0;
  /** Answers dropped because no request waited for them (late, duplicated, or not answers). */
  stray = 0;
  /** Connections to the broker dropped for breaking ZMTP (the attempts on them are sent again). */
  protocolErrors = 0;
  /** Why the last dial found no broker, until a connection is made: said when a request gives up. */
  private dialError: string | undefined;
  private isConnected = false;
  private readonly onConnection: ((connected: boolean) => void) | undefined;
  private readonly feed = new EventFeed<ConnectionEvent>();
  private readonly brokers: BrokerSet;
  /** The request path waits for the first look-up of the brokers: it sends what is in flight once they are known. */
  private awaitingBrokers = false;
  private lastEndpoint: string;
  readonly identity: string;
  readonly plain: boolean;
  private readonly timeout: number;
  private readonly retries: number;
  private readonly curve: CurvePeerKeys | undefined;
  private socket: DealerPort | undefined;
  private sockets = 0;
  /** The host and port of the current connection's broker, as the attempts' spans name them. */
  private serverAddress = '';
  private serverPort = 0;
  private readonly pending = new SlotTable<Pending>();
  /** Plain mode: requests waiting for the one in flight to end. */
  private readonly waiting: Pending[] = [];
  /**
   * Requests given to the current connection before its handshake: sent once it is done, so that
   * each carries the time left when it goes out (not when it was given), and one that ended
   * meanwhile (timed out, aborted) is not sent at all.
   */
  private readonly unsent = new Set<Pending>();
  /**
   * Request ids: random per client, then the request's slot and generation in `pending`, so no
   * two requests of any client share one, and an answer finds its request without a hash table.
   */
  private readonly idPrefix = randomBytes(ID_PREFIX_BYTES);
  private closed = false;
  /** Set when the broker said, on this connection, that it takes batches: the largest batch frame. */
  private batchMax: number | undefined;
  /** Ends the question about batches asked on this connection: it is of no use on another. */
  private probe: AbortController | undefined;
  /** Requests sent during this turn of the event loop, by service, sent as one batch at its end. */
  private readonly outbox = new Coalescer<string, BatchRecord>(
    (service, records) => this.sendBatch(service, records),
    (error) => this.fail(this.socket, error),
  );

  constructor(options: ClientOptions) {
    this.brokers = new BrokerSet(options.broker, () => this.brokersKnown(), options);
    this.lastEndpoint = this.brokers.configured[0];
    this.identity = options.identity ?? uniqueIdentity('C');
    this.plain = options.plain ?? false;
    this.timeout = count('timeout', options.timeout ?? 10_000, 0, 2 ** 31 - 1);
    this.retries = count('retries', options.retries ?? 3, 0, 1_000_000);
    this.curve = options.curve;
    this.onConnection = options.onConnection;
  }

  /** The broker of the current or last connection, `tcp://host:port` (before the first: the first configured). */
  get endpoint(): string {
    return this.lastEndpoint;
  }

  /** The brokers known now, `tcp://host:port` each, in the order connections go round them (empty until the first request has them looked up). */
  get endpoints(): readonly string[] {
    return this.brokers.endpoints;
  }

  /** Whether the client holds a connection to the broker whose handshake is done. */
  get connected(): boolean {
    return this.isConnected;
  }

  /**
   * Its connections as they change, from now on: `connected`, `disconnected`, and `refused` with
   * the reason (no such host, connection refused…) and the broker's address, said again only when
   * the reason changes. `for await (const e of client.events())`; the loop ends at `close()`.
   */
  events(): AsyncIterableIterator<ConnectionEvent> {
    return this.feed.iterate();
  }

  /**
   * Sends `body` to `service` and resolves with the reply (a `Uint8Array` or `Buffer` as it is, a
   * string as UTF-8). Each send carries, except in plain mode: how long the client still waits for
   * its answer, the time left of its attempt within the request's budget of `timeout × (retries +
   * 1)` ms from now (header `timeout-ms`); the caller's `headers`; and the trace of the active
   * context (a span `request <service>`, one `send <service>` per attempt).
   */
  request(service: string, body: Uint8Array | string, options: RequestOptions = {}): Promise<Buffer> {
    if (!isServiceName(service))
      return Promise.reject(new TypeError(`service name ${JSON.stringify(service)} must be 1-64 letters, digits or . _ : -`));
    if (this.plain && service !== DEFAULT_SERVICE) {
      return Promise.reject(new TypeError(`plain mode reaches a seed broker's one pool of workers: it cannot call "${service}"`));
    }
    if (this.closed) return Promise.reject(new RequestError('client closed'));
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const timeout = count('timeout', options.timeout ?? this.timeout, 0, 2 ** 31 - 1);
    const retries = count('retries', options.retries ?? this.retries, 0, 1_000_000);
    const budget = timeout * (retries + 1);
    let headers = NO_HEADERS;
    if (options.headers !== undefined) {
      if (this.plain) return Promise.reject(new TypeError('plain mode sends no headers: a seed broker would take them for the request'));
      try {
        headers = userHeaders(options.headers, budget);
      } catch (error) {
        return Promise.reject(error);
      }
    }
    // a Uint8Array is sent as it is (a view of its bytes, not a copy), a string as UTF-8
    const bytes =
      typeof body === 'string'
        ? Buffer.from(body)
        : Buffer.isBuffer(body)
          ? body
          : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    return this.submit(service, bytes, timeout, retries, headers, requestSpan(service, bytes.length, budget), signal);
  }

  private submit(
    service: string,
    body: Buffer,
    timeout: number,
    retries: number,
    headers: UserHeaders,
    span: Span | undefined,
    signal: AbortSignal | undefined,
  ): Promise<Buffer> {
    const id = Buffer.alloc(ID_BYTES);
    this.idPrefix.copy(id);
    const budget = timeout * (retries + 1);
    return new Promise<Buffer>((resolve, reject) => {
      const request: Pending = {
        slot: -1,
        generation: 0,
        id,
        service,
        body,
        timeout,
        retries,
        budget,
        deadline: budget > 0 ? performance.now() + budget : 0,
        attemptEnds: 0,
        waitEnds: 0,
        headers,
        span,
        attemptSpan: undefined,
        traceText: '',
        spanSent: false,
        attempts: 0,
        tried: [],
        connection: -1,
        resolve,
        reject,
      };
      if (signal) {
        const abandon = () => this.end(request, signal.reason, 'aborted');
        signal.addEventListener('abort', abandon, { once: true });
        request.release = () => signal.removeEventListener('abort', abandon);
      }
      if (this.plain && this.pending.size > 0) this.waiting.push(request);
      else this.start(request);
    });
  }

  /** Discovery: the services the broker knows (or only `name`), with their workers and queues. */
  async services(name?: string): Promise<ServiceInfo[]> {
    if (this.plain) throw new TypeError('discovery needs a TSR/1 broker: not in plain mode');
    const answer = await this.request(DISCOVERY_SERVICE, name ?? '');
    return JSON.parse(answer.toString('utf8')) as ServiceInfo[];
  }

  /** Ends every request in flight and waiting with an error and closes the connection; resolves once it is closed. */
  close(): Promise<void> {
    this.closed = true;
    this.brokers.close();
    for (const request of [...this.waiting, ...this.pending.values()]) this.end(request, new RequestError('client closed'), 'closed');
    this.feed.end(); // first: the connection closed now is not news to anyone
    return this.closeSocket();
  }

  /** Ends a request with `error` (an abort signal's reason is any value), whether it is in flight or still waits its turn (plain mode). */
  private end(request: Pending, error: unknown, outcome: Outcome): void {
    const queued = this.waiting.indexOf(request);
    if (queued < 0) return this.settle(request, error, outcome);
    this.waiting.splice(queued, 1);
    request.release?.();
    if (request.span) endSpan(request.span, outcome, error);
    request.reject(error);
  }

  private start(request: Pending): void {
    request.slot = this.pending.add(request);
    request.generation = this.pending.generation(request.slot);
    request.id.writeUInt32BE(request.slot, ID_PREFIX_BYTES);
    request.id.writeUInt32BE(request.generation, ID_PREFIX_BYTES + 4);
    if (request.span?.isRecording()) request.span.setAttribute(ATTR.messageId, request.id.toString('hex'));
    this.attempt(request);
  }

  private attempt(request: Pending): void {
    request.attempts++;
    this.startAttempt(request, request.attempts);
    request.waitEnds = Math.min(request.deadline, performance.now() + request.timeout);
    this.transmit(request);
    this.arm(request);
  }

  /**
   * Sends a request in flight again on the new connection, its attempt going on: when that attempt
   * times out, the request waits there a whole timeout more, if it has a retry left (expire).
   */
  private move(request: Pending): void {
    const more = request.attempts <= request.retries ? request.timeout : 0;
    request.waitEnds = Math.min(request.deadline, request.attemptEnds + more);
    this.transmit(request);
  }

  /** A span for attempt `attempt` (the previous one ended), and the trace headers its sends carry. */
  private startAttempt(request: Pending, attempt: number): void {
    if (!request.span) return;
    const span = attemptSpan(request.span, request.service, request.id, attempt);
    request.attemptSpan = span;
    request.traceText = traceLines(span, request.headers, request.budget);
    request.spanSent = false;
  }

  /**
   * The attempt's span is sent on the current connection: named after its broker; or, sent on an
   * earlier connection before, it is left behind ('moved') for a new one, of the attempt its wait
   * there counts as (see expire).
   */
  private sendSpan(request: Pending): void {
    if (request.spanSent) {
      if (request.attemptSpan && request.attemptSpan !== request.span) endSpan(request.attemptSpan, 'moved');
      this.startAttempt(request, request.attempts + 1);
    }
    request.spanSent = true;
    const span = request.attemptSpan;
    if (span?.isRecording()) span.setAttributes({ [ATTR.serverAddress]: this.serverAddress, [ATTR.serverPort]: this.serverPort });
  }

  /** Ends the attempt's span with no answer in time. */
  private attemptTimedOut(request: Pending): void {
    const span = request.attemptSpan;
    if (!span) return;
    if (span !== request.span) endTimedOut(span, request.timeout);
    request.attemptSpan = undefined;
  }

  private arm(request: Pending): void {
    request.connection = this.socket ? this.sockets : -1;
    request.attemptEnds = performance.now() + request.timeout;
    if (request.timeout > 0) request.timer = setTimeout(() => this.expire(request), request.timeout);
  }

  /** A failed send (its queue full) is like a lost message: the timeout sends it again. */
  private transmit(request: Pending): void {
    const socket = this.open(); // first: a new connection starts without batches
    if (!socket) return; // sent once the brokers are known (brokersKnown); the timeout runs from now all the same
    this.triedHere(request);
    if (!this.isConnected) {
      this.unsent.add(request); // sent once connected (connectionChanged); the timeout runs from now all the same
      return;
    }
    this.send(request, socket);
  }

  private send(request: Pending, socket: DealerPort): void {
    if (this.plain) {
      if (request.span) this.sendSpan(request);
      return socket.send([EMPTY, request.body]);
    }
    let metadata: Buffer | undefined;
    if (request.span) {
      this.sendSpan(request);
      metadata = metadataFrame(request.budget > 0 ? request.waitEnds - performance.now() : undefined, request.traceText, request.headers);
    }
    const record: BatchRecord = { ticket: request.id, body: request.body, failed: false, metadata };
    if (this.batchMax !== undefined && batchable(record, this.batchMax)) return this.outbox.add(request.service, record);
    socket.send(clientRequestFrames(request.service, request.id, request.body, metadata));
  }

  /**
   * No answer in time: give up after the retries, or reconnect (to the next broker) and send again.
   * The other requests in flight move to the new connection too (their answers would reach the old
   * one), keeping their deadlines; when one of them runs out, that move was its retry: it waits a
   * whole timeout on that connection rather than leave it before the broker could answer (back to
   * the broker that gave none, where there are two), so a dead broker costs each request one retry.
   */
  private expire(request: Pending): void {
    if (request.attempts > request.retries) {
      this.attemptTimedOut(request);
      this.settle(
        request,
        new NoAnswerError(
          `no answer from ${(request.tried.length > 0 ? request.tried : this.brokers.configured).join(', ')} after ${request.attempts} attempt(s) of ${request.timeout} ms${this.dialError ? `: ${this.dialError}` : ''}`,
        ),
      );
      return;
    }
    this.retried++;
    if (this.socket && request.connection !== this.sockets) {
      request.attempts++;
      this.triedHere(request);
      return this.arm(request);
    }
    this.attemptTimedOut(request);
    void this.closeSocket();
    for (const other of this.pending.values()) if (other !== request) this.move(other);
    this.attempt(request);
  }

  /** Notes the broker of the current connection among those the request went to (each once). */
  private triedHere(request: Pending): void {
    if (!request.tried.includes(this.lastEndpoint)) request.tried.push(this.lastEndpoint);
  }

  /**
   * Resolves the request with an answer, or rejects it with anything else (an error, an abort's
   * reason); `how`, for its spans: by default a reply, a timeout (NoAnswerError) or an error.
   */
  private settle(request: Pending, outcome: unknown, how?: Outcome): void {
    clearTimeout(request.timer);
    if (!this.pending.delete(request.slot, request.generation)) return;
    this.unsent.delete(request);
    request.release?.();
    if (request.span) {
      const kind = how ?? (Buffer.isBuffer(outcome) ? 'reply' : outcome instanceof NoAnswerError ? 'timeout' : 'error');
      if (request.attemptSpan && request.attemptSpan !== request.span) endSpan(request.attemptSpan, kind, outcome);
      endSpan(request.span, kind, outcome);
      request.attemptSpan = undefined;
    }
    if (Buffer.isBuffer(outcome)) request.resolve(outcome);
    else request.reject(outcome);
    const next = this.waiting.shift();
    if (next) this.start(next);
  }

  private sendBatch(service: string, records: BatchRecord[]): void {
    const socket = this.socket;
    if (!socket || this.batchMax === undefined) return;
    const name = Buffer.from(service, 'latin1');
    for (const frame of packBatches(records, this.batchMax)) socket.send(clientBatchRequestFrames(name, frame));
  }

  /**
   * Asks the broker on a new connection whether it takes batches. Until it says so, requests go one
   * per message; a broker that does not know the question answers no-service after its grace, and
   * batches are never sent to it.
   */
  private probeBatches(socket: DealerPort): void {
    this.probe = new AbortController();
    this.submit(BATCH_PROBE_SERVICE, EMPTY, this.timeout, 0, NO_HEADERS, undefined, this.probe.signal).then(
      (answer) => {
        if (socket === this.socket) this.batchMax = parseBatchOffer(answer);
      },
      () => undefined,
    );
  }

  private onAnswer(frames: Buffer[]): void {
    const answer = parseClientAnswer(frames);
    if (this.plain) {
      const [request] = this.pending.values();
      if (answer.kind !== 'plain' || !request) {
        this.stray++;
        return;
      }
      const error = plainErrorText(answer.body);
      if (error !== undefined) this.settle(request, brokerError(error));
      // A duplicate answer to an earlier request (a worker that answered twice across a failure) is not this one's.
      else if (isAnswerTo(request.body, answer.body)) this.settle(request, answer.body);
      else this.stray++;
      return;
    }
    if (answer.kind === 'plain') {
      const error = new PlainBrokerError(
        `the broker at ${this.endpoint} answered outside the TSR/1 envelope: a seed broker? use plain mode (client --plain)`,
      );
      for (const request of this.pending.values()) this.settle(request, error);
      return;
    }
    if (answer.kind === 'batch') {
      for (const { ticket, body, failed } of answer.records) this.answer(ticket, failed ? brokerError(body.toString('utf8')) : body);
    } else if (answer.kind === 'malformed') this.stray++;
    else this.answer(answer.id, answer.kind === 'reply' ? answer.body : brokerError(answer.text));
  }

  /** The answer to request `id`: a reply, or the error it was answered with. */
  private answer(id: Buffer, outcome: Buffer | Error): void {
    const mine = id.length === ID_BYTES && this.idPrefix.compare(id, 0, ID_PREFIX_BYTES) === 0;
    const request = mine ? this.pending.get(id.readUInt32BE(ID_PREFIX_BYTES), id.readUInt32BE(ID_PREFIX_BYTES + 4)) : undefined;
    if (request) this.settle(request, outcome);
    else this.stray++;
  }

  /**
   * The connection, a new one to the next broker when there is none: round the set in its order,
   * from the one after the last broker (gone from the set or not), so that a retry after a timeout
   * goes to another broker and a dead broker costs a request one attempt. None while the brokers
   * are not known yet (the first look-up of a name).
   */
  private open(): DealerPort | undefined {
    if (this.socket) return this.socket;
    this.brokers.start(); // at the first request: a client never used looks nothing up
    const endpoints = this.brokers.endpoints;
    if (endpoints.length === 0) {
      this.awaitingBrokers = true;
      return undefined;
    }
    // The first connection goes to a broker at random, so that clients spread over the brokers;
    // each next one to the next broker of the (sorted) set.
    const endpoint =
      this.sockets === 0
        ? endpoints[Math.floor(Math.random() * endpoints.length)]
        : (endpoints.find((e) => e > this.lastEndpoint) ?? endpoints[0]);
    this.lastEndpoint = endpoint;
    const port = endpoint.lastIndexOf(':');
    this.serverAddress = endpoint.slice(endpoint.indexOf('//') + 2, port).replace(/^\[(.*)\]$/, '$1');
    this.serverPort = Number(endpoint.slice(port + 1));
    const routingId = this.sockets === 0 ? this.identity : `${this.identity}#${this.sockets}`;
    this.sockets++;
    const socket: DealerPort = openDealerPort(endpoint, {
      name: 'client',
      routingId,
      reconnectIntervalMs: 100,
      reconnectMaxIntervalMs: 0,
      sendHighWaterBytes: CLIENT_SEND_HIGH_WATER_BYTES,
      curve: this.curve,
      onMessage: (frames) => this.onAnswer(frames),
      onFatal: (error) => this.fail(socket, error),
      onSendError: () => undefined, // like a lost message: the timeout sends it again
      onProtocolError: () => this.protocolErrors++,
      onDialFailed: (error) => {
        if (socket === this.socket) this.dialFailed(endpoint, error);
      },
      onConnection: (connected) => {
        if (socket === this.socket) this.connectionChanged(connected);
      },
    });
    this.socket = socket;
    if (!this.plain) this.probeBatches(socket);
    return socket;
  }

  /** The connection's path threw (its message handler, or a batch's flush): every request in flight fails with the reason; the next request opens a new connection. */
  private fail(socket: DealerPort | undefined, error: Error): void {
    if (socket !== this.socket) return;
    void this.closeSocket();
    for (const request of this.pending.values()) this.settle(request, new RequestError(error.message));
  }

  /** The brokers are known (the first time), or changed: what waited for them to be known is sent. */
  private brokersKnown(): void {
    if (!this.awaitingBrokers || this.closed) return;
    this.awaitingBrokers = false;
    for (const request of [...this.pending.values()]) {
      this.transmit(request);
      request.connection = this.sockets; // its attempt's first send: a timeout leaves this connection
    }
  }

  /** A dial found no broker: kept for the error of a request that gives up, and said to `events()` when the reason is new. */
  private dialFailed(address: string, error: NodeJS.ErrnoException): void {
    const reason = dialErrorText(error);
    if (reason === this.dialError) return;
    this.dialError = reason;
    this.feed.emit({ type: 'refused', address, reason });
  }

  private connectionChanged(connected: boolean): void {
    if (connected === this.isConnected) return;
    this.isConnected = connected;
    this.feed.emit({ type: connected ? 'connected' : 'disconnected', address: this.lastEndpoint });
    if (connected) {
      this.dialError = undefined;
      const socket = this.socket as DealerPort;
      const unsent = [...this.unsent];
      this.unsent.clear();
      for (const request of unsent) this.send(request, socket);
    }
    this.onConnection?.(connected);
  }

  /** Closes the connection; what waited to go out on it is dropped (its requests are sent again, or failed, by the caller). */
  private closeSocket(): Promise<void> {
    this.connectionChanged(false);
    this.unsent.clear(); // the caller sends them again, or fails them
    const closed = this.socket?.close() ?? Promise.resolve();
    this.socket = undefined;
    this.batchMax = undefined;
    // The question is this connection's: not sent again on the next (a new one asks its own), whose
    // answer would come late, for no request.
    this.probe?.abort();
    this.probe = undefined;
    this.outbox.clear();
    return closed;
  }
}

/** A client of the broker, or brokers, at `broker` (see {@link ClientOptions}). */
export const connect = (options: ClientOptions): Client => new Client(options);
