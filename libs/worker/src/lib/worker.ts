import { type Context, type Span, SpanKind, SpanStatusCode, type Tracer, context } from '@opentelemetry/api';
import { BAD_TIMEOUT, CreditLender, type Loaned, TIMEOUT_HEADER, type WorkerRequest, metadataValue, scanMetadata } from '@tsr/protocol';
import { BrokerSet, type ConnectionEvent, EventFeed, curveBoxesDescription } from '@tsr/runtime';
import { Health, type Probe } from '@tsr/monitoring';
import { ATTR, MESSAGING_SYSTEM, contextFromMetadata, sdkRegistered, tracer } from '@tsr/telemetry';
import { BrokerLink, type BrokerLinkStatus, type LinkEvents } from './broker-link';

import { type ServeOptions, type WorkerSettings, workerSettings } from './options';
import { RequestTurn, abortReason, metadataText } from './request-info';

interface Request {
  link: BrokerLink;
  /** The broker's ticket: echoed with the answer. */
  ticket: Buffer;
  body: Buffer;
  loaned: Loaned;
  /** Its metadata frame, checked (none when it has none or broke the rules): parsed only if its handler reads `info.headers`. */
  metadata: Buffer | undefined;
  /** `performance.now()` at its deadline (arrival + `timeout-ms`), where it has one. */
  due: number | undefined;
}

/** A request in the handler now. */
interface Serving {
  request: Request;
  turn: RequestTurn;
  /** None where no SDK is registered (no span could record). */
  span: Span | undefined;
}

type Outcome = 'reply' | 'failure' | 'expired';

/** The failure a request whose deadline passed while it waited its turn is answered with (its handler is not called). */
const EXPIRED_MESSAGE = 'deadline passed before the handler started';

/** One broker as `status()` shows it: the connection, and the share of the credit it has now. */
export interface WorkerBrokerStatus extends BrokerLinkStatus {
  /** Requests this broker may have the worker hold now (its share of the credit). */
  window: number;
  /** Requests of this broker the worker holds now. */
  held: number;
  /** The broker moves credit (several brokers share the worker). */
  leases: boolean;
}

/** What `status()` reports. */
export interface WorkerStatus {
  id: string;
  service: string;
  /** Registered with at least one broker (see `registration()`). */
  registered: boolean;
  /** Holds at least one connection to a broker whose handshake is done. */
  connected: boolean;
  queued: number;
  busy: boolean;
  served: number;
  failed: number;
  /** Requests skipped because their deadline passed before their turn (answered with a failure, the handler not called). */
  expired: number;
  reconnects: number;
  /** Messages from brokers that broke TSR/1, ignored. */
  malformed: number;
  /** Connections to brokers dropped for breaking ZMTP (then dialled again). */
  protocolErrors: number;
  credit: number;
  /** Requests held now (queued or being served), all brokers together; never more than `credit`. */
  held: number;
  /** The most requests held at once since the start. */
  peakHeld: number;
  brokers: WorkerBrokerStatus[];
}

const isPromiseLike = <T>(value: unknown): value is PromiseLike<T> => typeof (value as PromiseLike<T> | undefined)?.then === 'function';

const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e)) || 'error';

/**
 * A worker for TSR/1 brokers, the ZeroMQ guide's Paranoid Pirate (see BrokerLink), for one broker
 * or several at once: it serves every broker it is given, one request at a time and in arrival
 * order, and never holds more requests than its credit across all of them (CreditLender moves it
 * to the brokers that have requests waiting). A handler that fails answers its request with an
 * error; the worker serves on.
 */
export class Worker {
  /** Requests answered with a reply. */
  served = 0;
  /** Requests answered with a failure (the handler threw). */
  failed = 0;
  /**
   * Requests whose deadline passed while they waited their turn: answered with a failure
   * (EXPIRED_MESSAGE), their handler not called. Neither served nor failed.
   */
  expired = 0;
  /** Reconnections after a broker fell silent (all brokers). */
  get reconnects(): number {
    return this.sumOfLinks((link) => link.reconnects);
  }
  /** Messages from brokers that broke TSR/1, ignored. */
  get malformed(): number {
    return this.sumOfLinks((link) => link.malformed);
  }
  /** Connections to brokers dropped for breaking ZMTP (then dialled again). */
  get protocolErrors(): number {
    return this.sumOfLinks((link) => link.protocolErrors);
  }
  private readonly health = new Health();
  private readonly feed = new EventFeed<ConnectionEvent>();
  /** Settles once every broker was told goodbye (or given up on), after `close`. */
  private stopped: Promise<void> = Promise.resolve();
  readonly identity: string;
  readonly service: string;
  /** The brokers as given: `tcp://host:port`, several joined by `, `. */
  readonly endpoint: string;
  private readonly settings: WorkerSettings;
  private readonly tracer: Tracer = tracer();
  /** The name of its spans: `process <service>`. */
  private readonly spanName: string;
  /** The request in the handler now (its signal aborts at close, or when its connection is lost). */
  private serving: Serving | undefined;
  private readonly brokers: BrokerSet;
  private readonly links = new Map<string, BrokerLink>();
  private readonly lender: CreditLender<BrokerLink>;
  private readonly queue: Request[] = [];
  private busy = false;
  /** `close()` was called: no request starts any more (the one in flight may still answer). */
  private closing = false;
  /** The worker is done: answers are dropped. */
  private closed = false;
  /** Called when the handler in flight settles while the worker closes. */
  private settledWhileClosing: (() => void) | undefined;
  private ticker: NodeJS.Timeout | undefined;
  /** Links that answered during this pass over the queue: their batches go when it ends. */
  private readonly answering = new Set<BrokerLink>();

  constructor(options: ServeOptions) {
    this.settings = workerSettings(options);
    this.identity = this.settings.identity;
    this.service = this.settings.service;
    this.brokers = new BrokerSet(this.settings.broker, (endpoints) => this.brokersChanged(endpoints), this.settings.brokerSet);
    this.endpoint = this.brokers.configured.join(', ');
    this.spanName = `process ${this.service}`;
    // A broker repeats that it waits with every heartbeat: believed for two. Where the credit is
    // smaller than the brokers that wait, it goes round every 100 ms (a move costs a round trip).
    const { heartbeat } = this.settings;
    this.lender = new CreditLender(this.settings.credit, (link, window) => link.credit(window), {
      demandTtlMs: 2 * heartbeat,
      rotateAfterMs: Math.min(100, heartbeat),
    });
  }

  /** Connects and announces itself to each broker; sockets connect in the background and retry until their broker is there. */
  start(): this {
    this.health.start();
    this.brokers.start();
    const { credit } = this.settings;
    this.settings.logger.info(
      `${this.identity} connecting to ${this.endpoint}, service ${this.service}${credit > 1 ? `, credit ${credit}` : ''}` +
        (this.settings.curve ? `, CURVE boxes by ${curveBoxesDescription()}` : ''),
    );
    this.ticker = setInterval(() => {
      for (const link of this.links.values()) link.tick();
      this.lender.tick();
    }, this.settings.heartbeat);
    return this;
  }

  /**
   * Stops, draining: no request starts any more; the handler in flight has its signal aborted and
   * `drainMs` to settle. A reply it makes by then goes to its broker; a failure caused by that abort
   * does not (the broker gives the request to another worker), any other failure does. Then brokers
   * that speak TSR/1 are told goodbye, so they re-dispatch at once what this worker still held; the
   * promise resolves once that is delivered (at most 200 ms more).
   */
  close(): Promise<void> {
    if (this.closing) return this.stopped;
    this.closing = true;
    this.health.stop();
    this.brokers.close();
    this.serving?.turn.abort(abortReason('the worker is closing'));
    this.stopped = this.handlerSettled(this.settings.drainMs).then(() => {
      this.closed = true;
      clearInterval(this.ticker); // heartbeats went on while the handler finished
      this.feed.end();
      return Promise.all([...this.links.values()].map((link) => link.close())).then(() => undefined);
    });
    return this.stopped;
  }

  /** Resolves when the handler in flight settles (at once when none is), or after `ms`. */
  private handlerSettled(ms: number): Promise<void> {
    if (!this.busy || ms === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.settledWhileClosing = () => (clearTimeout(timer), resolve());
    });
  }

  /**
   * Its connections to the brokers as they change, from now on: `connected`, `disconnected`, and
   * `refused` with the reason (no such host, connection refused, its CURVE key refused) and the
   * broker's address, said again only when the reason changes. The loop ends at `close()`.
   */
  events(): AsyncIterableIterator<ConnectionEvent> {
    return this.feed.iterate();
  }

  /** Liveness: the receive loops alive, the event loop not stalled. */
  liveness(): Probe {
    return this.health.liveness();
  }

  /**
   * Readiness: registered with a broker that answers heartbeats (TSR/1) and was heard from within
   * the liveness window (with several brokers, at least one). Against a seed broker, which never
   * heartbeats, a worker is never ready.
   */
  registration(): Probe {
    const probes = [...this.links.values()].map((link) => link.registration());
    return probes.find((p) => p.ok) ?? probes[0] ?? { ok: false, why: 'not registered: no broker' };
  }

  status(): WorkerStatus {
    const brokers = [...this.links.values()].map((link) => ({ ...link.status(), ...this.lender.status(link) }));
    return {
      id: this.identity,
      service: this.service,
      registered: brokers.some((b) => b.registered),
      connected: brokers.some((b) => b.connected),
      queued: this.queue.length,
      busy: this.busy,
      served: this.served,
      failed: this.failed,
      expired: this.expired,
      reconnects: this.reconnects,
      malformed: this.malformed,
      protocolErrors: this.protocolErrors,
      credit: this.settings.credit,
      held: this.lender.held,
      peakHeld: this.lender.peak,
      brokers,
    };
  }

  private sumOfLinks(count: (link: BrokerLink) => number): number {
    let sum = 0;
    for (const link of this.links.values()) sum += count(link);
    return sum;
  }

  /** Links follow the set of brokers: one per endpoint; a broker no longer listed is told goodbye. */
  private brokersChanged(endpoints: readonly string[]): void {
    if (this.closing) return;
    for (const [endpoint, link] of this.links) {
      if (endpoints.includes(endpoint)) continue;
      this.links.delete(endpoint);
      this.abandon(link);
      this.lender.removed(link);
      void link.close();
    }
    for (const endpoint of endpoints)
      if (!this.links.has(endpoint)) this.links.set(endpoint, new BrokerLink(endpoint, this.settings, this.linkEvents));
  }

  private readonly linkEvents: LinkEvents = {
    opened: (link) => this.lender.opened(link),
    closed: (link) => this.abandon(link),
    requests: (link, requests) => this.take(link, requests),
    leasing: (link) => this.lender.leasing(link),
    acknowledged: (link, window) => this.lender.acknowledged(link, window),
    wanted: (link) => this.lender.wanted(link),
    several: () => this.links.size > 1,
    said: (event) => this.feed.emit(event),
    fatal: this.health.watch('broker', (error: Error) => {
      void this.close();
      this.settings.onFatal(error);
    }),
  };

  /**
   * Requests of one message, queued in order. Each one's deadline is counted from now: its
   * `timeout-ms` is what was left when the broker sent it. Metadata that breaks the rules is
   * counted, and its request served as one without.
   */
  private take(link: BrokerLink, requests: readonly WorkerRequest[]): void {
    let now: number | undefined;
    for (const { ticket, body, metadata } of requests) {
      let checked: Buffer | undefined;
      let due: number | undefined;
      if (metadata !== undefined && metadata.length > 0) {
        const scanned = scanMetadata(metadata);
        if (typeof scanned === 'string') link.malformedMetadata(scanned);
        else {
          checked = metadata;
          if (scanned.timeout >= 0) due = (now ??= performance.now()) + scanned.timeout;
          else if (scanned.timeout === BAD_TIMEOUT) {
            const value = metadataValue(metadataText(metadata), TIMEOUT_HEADER) ?? '';
            link.malformedMetadata(`${TIMEOUT_HEADER} ${JSON.stringify(value.slice(0, 20))} is no timeout`);
          }
        }
      }
      this.queue.push({ link, ticket, body, loaned: this.lender.took(link), metadata: checked, due });
    }
    this.serveNext();
  }

  /**
   * A connection is gone: its queued requests are dropped, unanswered (a broker that still knows
   * them re-dispatches them when it sees the next ready, so answering them too would give a client
   * two answers); one in the handler finishes (its signal aborted), and its answer is dropped.
   */
  private abandon(link: BrokerLink): void {
    // The loan closes first: finishing its requests may move credit, and none may go to this link's
    // broker now (what is asked of a lost connection would reach its next one, as that one's window).
    this.lender.closed(link);
    for (let i = this.queue.length - 1; i >= 0; i--) {
      const request = this.queue[i];
      if (request.link !== link) continue;
      this.queue.splice(i, 1);
      this.lender.finished(request.loaned);
    }
    if (this.serving?.request.link === link) this.serving.turn.abort(abortReason('the connection to the broker was lost'));
  }

  /**
   * Serves queued requests in order, one at a time. A handler that answers at once is answered at
   * once, so a burst of such requests is answered in one pass (no event-loop turn per request),
   * and to a broker that offered batches, in one message; one that returns a promise holds the
   * next requests until it settles. A request whose deadline passed while it waited is answered
   * with a failure without calling the handler (the broker drops it, and its credit is free).
   */
  private serveNext(): void {
    while (!this.busy && !this.closing) {
      const request = this.queue.shift();
      if (!request) break;
      const started = performance.now();
      // No span where none can record (no SDK): the handler's context is then made only if it asks.
      const parent = sdkRegistered() ? contextFromMetadata(metadataText(request.metadata)) : undefined;
      const span = parent && this.startSpan(request, parent, started);
      if (request.due !== undefined && started >= request.due) {
        this.expire(request, span);
        continue;
      }
      const turn = new RequestTurn(this.service, this.identity, request.metadata, request.due, started, parent, span);
      const serving: Serving = { request, turn, span };
      this.serving = serving;
      let answer: unknown;
      try {
        const { handler } = this.settings;
        // Inside the span's context where it records, so that instrumented calls of the handler nest under it.
        answer = span?.isRecording() ? context.with(turn.context, handler, undefined, request.body, turn) : handler(request.body, turn);
      } catch (e) {
        this.fail(serving, e, started);
        continue;
      } finally {
        turn.started();
      }
      if (!isPromiseLike(answer)) {
        this.answer(serving, answer, started);
        continue;
      }
      this.busy = true;
      const settle = (finish: () => void) => {
        finish(); // once closed, only the span ends: the answer is dropped
        this.busy = false;
        if (this.closing)
          this.settledWhileClosing?.(); // its answer goes out as the links close
        else this.serveNext();
      };
      answer.then(
        (value) => settle(() => this.answer(serving, value, started)),
        (e: unknown) => settle(() => this.fail(serving, e, started)),
      );
    }
    for (const link of this.answering) link.flush();
    this.answering.clear();
  }

  /** The span of a request's turn, its parent the client's or the broker's span the request names. */
  private startSpan(request: Request, parent: Context, started: number): Span {
    const span = this.tracer.startSpan(this.spanName, { kind: SpanKind.CONSUMER }, parent);
    if (!span.isRecording()) return span;
    span.setAttributes({
      [ATTR.system]: MESSAGING_SYSTEM,
      [ATTR.operationType]: 'process',
      [ATTR.destination]: this.service,
      [ATTR.clientId]: this.identity,
      [ATTR.bodySize]: request.body.length,
    });
    if (request.due !== undefined) span.setAttribute(ATTR.timeoutMs, Math.max(0, Math.floor(request.due - started)));
    return span;
  }

  private endSpan(span: Span | undefined, outcome: Outcome, message?: string): void {
    if (!span) return;
    if (span.isRecording()) {
      span.setAttribute(ATTR.outcome, outcome);
      if (message !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message });
    }
    span.end();
  }

  /** The handler is done with its request (whatever became of the answer). */
  private ended({ turn, span }: Serving, outcome: Outcome, message?: string): void {
    turn.end();
    if (this.serving?.turn === turn) this.serving = undefined;
    this.endSpan(span, outcome, message);
  }

  /** Its deadline passed while it waited: the broker is answered (it frees the credit), the client has stopped waiting. */
  private expire(request: Request, span: Span | undefined): void {
    this.expired++;
    this.endSpan(span, 'expired', EXPIRED_MESSAGE);
    this.deliver(request, (link) => link.failure(request.ticket, EXPIRED_MESSAGE));
  }

  private answer(serving: Serving, value: unknown, started: number): void {
    const body =
      typeof value === 'string'
        ? Buffer.from(value)
        : value instanceof Uint8Array
          ? Buffer.from(value.buffer, value.byteOffset, value.byteLength)
          : undefined;
    if (body === undefined) {
      this.fail(
        serving,
        new TypeError(`handler answered ${value === null ? 'null' : typeof value}, expected a Buffer or a string`),
        started,
      );
      return;
    }
    this.ended(serving, 'reply');
    if (this.closed) return; // after the drain: dropped
    const { request } = serving;
    this.served++;
    this.settings.onServed?.((performance.now() - started) / 1000, 'reply');
    this.deliver(request, (link) => link.reply(request.ticket, body));
  }

  /** The handler failed: the client gets an error answer with its message. */
  private fail(serving: Serving, e: unknown, started: number): void {
    const message = messageOf(e);
    this.ended(serving, 'failure', message);
    // failed because the worker is closing: the broker gives the request to another worker
    if (this.closed || (this.closing && serving.turn.abortedWith(e))) return;
    const { request } = serving;
    this.failed++;
    this.settings.logger.error(`handler failed: ${message}`, e);
    this.settings.onServed?.((performance.now() - started) / 1000, 'failure');
    this.deliver(request, (link) => link.failure(request.ticket, message));
  }

  /** Sends an answer back on the connection its request came on, if that is still the current one. */
  private deliver(request: Request, send: (link: BrokerLink) => void): void {
    if (this.lender.current(request.loaned)) {
      send(request.link);
      this.answering.add(request.link);
    }
    this.lender.finished(request.loaned);
  }
}

/** Starts a worker serving `options.service` with `options.handler`; `close()` stops it. */
export function serve(options: ServeOptions): Worker {
  return new Worker(options).start();
}
