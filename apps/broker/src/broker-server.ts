import {
  BATCH_PROBE_SERVICE,
  type ErrorReason,
  type Frames,
  type CheckedMetadata,
  LEASE_OFFER,
  METADATA_OFFER,
  NO_METADATA,
  WANT,
  creditBody,
  type ServiceBatch,
  batchOffer,
  envelopeReplyFrames,
  newInstanceId,
  parseServiceRequest,
  parseWorkerMessage,
} from '@tsr/protocol';
import { unsampledParent } from '@tsr/telemetry';
import { CurveGuard, type CurveServerSettings, type Tracer, bindEndpoint } from '@tsr/runtime';
import { FastHistogram, Health } from '@tsr/monitoring';
import { SEND_HIGH_WATER_BYTES, ownCopy } from '@tsr/zmtp';
import { BrokerCore } from './broker-core';
import { type BrokerCoreOptions, FAILURE_TEXT, type Request, isGeneratedId } from './broker-core-shapes';
import { BrokerOutbox } from './broker-outbox';
import { forwardedMetadata, keptMetadata } from './forwarded-metadata';
import { RequestSpans } from './request-spans';
import { type RouterPort, openRouterPort } from './router-port';

export interface BrokerServerOptions extends Omit<BrokerCoreOptions, 'instance'> {
  frontendPort: number;
  backendPort: number;
  bindHost: string;
  /** Interval of the heartbeats sent to workers that speak them. */
  heartbeatMs: number;
  /** Largest message a worker may send; the backend drops the connection of one that sends more. */
  maxReplyBytes: number;
  /** TCP connections each socket keeps at once. */
  maxConnections: number;
  /** ms between ZMTP PINGs on every connection (0: none). */
  zmtpHeartbeatMs: number;
  /** CURVE on both sockets (off: undefined, the seed's plain TCP). */
  curve?: CurveServerSettings;
  /** Spans for every request (OpenTelemetry): true when main.ts's `startTelemetry` registered an SDK; off: none made. */
  openTelemetry?: boolean;
  /**
   * The SDK's sampler is parent-based (`parentbased_*`, startTelemetry's `parentBased`): then a
   * request whose `traceparent` says "not sampled" gets no spans at all (none would record), and
   * its trace headers go to the worker as they came.
   */
  parentBasedSampler?: boolean;
}

/** What the server keeps with a request in the core: its metadata, and its spans when tracing. */
interface RequestTag {
  metadata: CheckedMetadata;
  spans: RequestSpans | undefined;
}

/**
 * Requests up to this many times the request limit are read and refused `too-large`; larger ones
 * drop the client's connection from the frame header, before they are read, so no frame of any size can
 * make the broker allocate without bound.
 */
export const FRONTEND_HARD_LIMIT_FACTOR = 2;

/**
 * Bytes waiting to be written to one client past which its replies are dropped: its share of the
 * queue and one reply more. A client reading its replies, with no more in flight than the broker
 * lets it hold (--max-client-bytes), loses none of them however large; one that stops reading
 * costs that much memory at most (libzmq's ROUTER counts 1000 messages, of any size).
 */
export const clientHighWaterBytes = (o: { maxClientBytes: number; maxReplyBytes: number }): number =>
  Math.max(SEND_HIGH_WATER_BYTES, o.maxClientBytes + o.maxReplyBytes);

type Side = 'frontend' | 'backend';

/**
 * The socket side of the broker: two ROUTERs and one timer around the pure `BrokerCore`.
 * It parses frames, feeds the core, and hands what the core emits to the outbox, which writes it.
 */
export class BrokerServer {
  readonly frontend: RouterPort;
  readonly backend: RouterPort;
  readonly core: BrokerCore;
  /** This broker instance's random id (in every ticket): tells brokers, and one broker's restarts, apart. */
  readonly instance = newInstanceId();
  /** CURVE's key checks and refusal counts, when CURVE is on. */
  readonly curve: CurveGuard | undefined;
  /** Messages that break TSR/1 (or the seed's envelope), dropped; the connection stays. */
  readonly malformed = { frontend: 0, backend: 0 };
  /**
   * Connections dropped for breaking ZMTP (greeting, handshake, framing, the size and frame
   * bounds); a CURVE handshake that fails is the guard's refusal, counted there.
   */
  readonly protocolErrors = { frontend: 0, backend: 0 };
  /** Connections closed on arrival because --max-connections were open. */
  readonly overLimit = { frontend: 0, backend: 0 };
  /** Liveness: both receive loops alive, the event loop not stalled. */
  readonly health = new Health();
  /** Time from a request's arrival to its answer (waiting + service), in seconds. */
  readonly latency = new FastHistogram(
    'tsr_broker_request_duration_seconds',
    "Time from a request's arrival at the broker to its reply leaving it (waiting + service)",
  );
  /** Readiness: both sockets bound. */
  bound = false;
  /** The endpoint each socket is bound to. */
  private readonly endpoints: Record<Side, string> = { frontend: '', backend: '' };
  private readonly tracing: boolean;
  /** Offered to every TSR/1 worker: the largest batch frame it may send is what the backend accepts. */
  private readonly batchOffer: Buffer;
  /** Answered to `tsr.batch`: a client's batch frames may hold what one request may. */
  private readonly clientBatchOffer: Buffer;
  /** The detail of each refusal whose detail is a setting (the others' comes from the core). */
  private readonly limits: Partial<Record<ErrorReason, number>>;
  private timer: NodeJS.Timeout | undefined;
  private heartbeats: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private lastRefusalReport = -Infinity;
  private readonly outbox: BrokerOutbox;
  constructor(
    private readonly options: BrokerServerOptions,
    private readonly trace: Tracer,
    /** A receive loop died: the broker can no longer keep its promises (the program exits 1). */
    private readonly onFatal: (error: Error) => void,
  ) {
    this.tracing = trace.tracing;
    this.batchOffer = batchOffer(options.maxReplyBytes);
    this.clientBatchOffer = batchOffer(options.maxRequestBytes);
    this.curve = options.curve && new CurveGuard(options.curve, trace);
    this.frontend = this.open('frontend');
    this.backend = this.open('backend');
    this.outbox = new BrokerOutbox(this.frontend, this.backend, onFatal);
    this.limits = { 'too-large': options.maxRequestBytes, expired: options.requestTtlMs, poison: options.maxFailures };
    this.core = new BrokerCore(
      {
        toWorker: (worker, ticket, body, client, request) => {
          if (this.tracing) this.trace.step('new_task', 'worker client ticket request', [worker, client, ticket.toString('hex'), body]);
          if (this.outbox.mustHold(worker, request.tag !== undefined))
            this.outbox.hold(worker, () => this.sendRequest(worker, ticket, body, request));
          else this.sendRequest(worker, ticket, body, request);
        },
        toClient: (client, id, body, arrivedAt, request) => {
          this.latency.observe((performance.now() - arrivedAt) / 1000);
          if (this.tracing) this.trace.step('reply', 'client reply', [client, body]);
          spansOf(request)?.ended('reply');
          this.outbox.reply(client, id, body);
        },
        workerFailed: (worker, why, held) => {
          this.outbox.forgetWorker(worker);
          this.trace.warn(`worker ${JSON.stringify(worker)} ${FAILURE_TEXT[why]}: forgotten, ${held} request(s) moved on`);
        },
        moved: (request, why) => spansOf(request)?.moved(why),
        clientPresent: (clientKey) => this.frontend.hasPeer(clientKey),
        abandoned: (request) => {
          if (this.tracing) this.trace.step('abandoned', 'client', [request.client]);
          spansOf(request)?.ended('client-gone', "its client's connection was gone when its turn came");
        },
        deadlinePassed: (request, where) => {
          if (this.tracing) this.trace.step('deadline_passed', 'client where', [request.client, where]);
          spansOf(request)?.ended(
            'deadline',
            where === 'queue' ? 'its deadline passed before a worker took it' : 'its answer came after its deadline',
          );
        },
        creditAck: (worker, window) => this.outbox.control(worker, creditBody(window)),
        want: (worker) => this.outbox.control(worker, WANT),
        refuse: (client, id, reason, detail = this.limits[reason], request) => {
          if (this.tracing) this.trace.step('refused', 'client reason detail', [client, reason, detail]);
          spansOf(request)?.ended(reason, `refused: ${reason}${detail === undefined ? '' : ` ${detail}`}`);
          this.outbox.refuse(client, id, reason, detail);
        },
      },
      { ...options, instance: this.instance },
    );
  }

  async start(): Promise<void> {
    await this.curve?.start((name, admitted) => this[name as Side].dropPeers(admitted));
    this.endpoints.frontend = await bindEndpoint(this.frontend, this.options.frontendPort, this.options.bindHost);
    this.endpoints.backend = await bindEndpoint(this.backend, this.options.backendPort, this.options.bindHost);
    this.trace.info(
      `frontend ${this.endpoints.frontend}, backend ${this.endpoints.backend}, answer timeout ${this.options.answerTimeoutMs} ms`,
    );
    this.bound = true;
    this.health.start();
    this.heartbeats = setInterval(() => this.sendHeartbeats(), this.options.heartbeatMs);
  }

  /**
   * A socket of the broker: the frontend refuses frames far over the request limit (the peer is
   * disconnected); the backend lets a worker that reconnects under its id take over from its own
   * stale connection. Messages are handled from the moment it is bound. With CURVE, a connection
   * that fails its handshake is a refusal, counted and logged with its address.
   */
  private open(side: Side): RouterPort {
    const curve = this.curve;
    return openRouterPort({
      name: side,
      maxMessageBytes: side === 'frontend' ? this.options.maxRequestBytes * FRONTEND_HARD_LIMIT_FACTOR : this.options.maxReplyBytes,
      sendHighWaterBytes: side === 'frontend' ? clientHighWaterBytes(this.options) : SEND_HIGH_WATER_BYTES,
      handover: side === 'backend',
      maxConnections: this.options.maxConnections,
      heartbeatMs: this.options.zmtpHeartbeatMs,
      onConnectionLimit: (address, limit) => this.connectionLimitReached(side, address, limit),
      onMessage: side === 'frontend' ? (frames) => this.onFrontend(frames) : (frames) => this.onBackend(frames),
      onFatal: this.health.watch(side, this.onFatal),
      onProtocolError: (why, address, inHandshake) => {
        if (curve && inHandshake) return curve.handshakeFailed(side, why, address);
        this.protocolErrors[side]++;
        if (this.tracing) this.trace.step('protocol_error', 'side peer reason', [side, address, why]);
      },
      curve: curve?.serverRole(side),
      onPeerGone: side === 'backend' ? (worker, replaced) => this.workerConnectionGone(worker, replaced) : undefined,
      // A worker's reply is passed on within the turn it came in, then given back (BrokerOutbox);
      // a request is kept until it is answered, so the frontend's frames stay the collector's.
      recycleLargeFrames: side === 'backend',
    });
  }

  /** A worker's connection closed or was replaced: our workers announce themselves on the next one (see BrokerCore.workerDisconnected). */
  private workerConnectionGone(routingId: Buffer, replaced: boolean): void {
    const worker = routingId.toString('latin1');
    this.core.workerDisconnected(worker, performance.now(), replaced);
    if (!this.core.isWorker(worker)) this.outbox.forgetWorker(worker);
    this.armTimer();
  }

  /** A connection closed on arrival: logged at the first, then once every 1,000, so a flood cannot flood the log. */
  private connectionLimitReached(side: Side, address: string, limit: number): void {
    const n = ++this.overLimit[side];
    if (n % 1000 === 1)
      this.trace.warn(
        `${side}: closed a connection from ${address}: ${limit} connections are open (--max-connections); closed so far: ${n}`,
      );
  }

  /** What the broker counted, by label (`rejected overloaded`, `dropped late`, …). */
  counters(): Record<string, number> {
    const s = this.core.stats;
    return {
      requests: s.requests,
      replies: s.replies,
      dispatched: s.dispatched,
      redispatched: s.redispatched,
      'worker failures': s.workerFailures,
      'workers lost': s.workersLost,
      'refused workers': s.refusedWorkers,
      'credit moves': s.credits,
      'credit wants': s.wants,
      ...Object.fromEntries(Object.entries(s.rejected).map(([reason, n]) => [`rejected ${reason}`, n])),
      ...Object.fromEntries(Object.entries(s.dropped).map(([why, n]) => [`dropped ${why}`, n])),
      'deadline passed waiting': s.deadlinePassed.queue,
      'deadline passed answered': s.deadlinePassed.answer,
      abandoned: s.abandoned,
      'malformed frontend': this.malformed.frontend,
      'malformed backend': this.malformed.backend,
      'protocol errors': this.protocolErrors.frontend + this.protocolErrors.backend,
      'connections over the limit': this.overLimit.frontend + this.overLimit.backend,
    };
  }

  /** The counters as one line, printed when the broker stops: `label N` pairs separated by `, ` (the chaos suite reads them back by label). */
  summary(): string {
    return Object.entries(this.counters())
      .map(([label, n]) => `${label} ${n}`)
      .join(', ');
  }

  close(): void {
    this.bound = false;
    this.health.stop();
    clearTimeout(this.timer);
    clearInterval(this.heartbeats);
    this.frontend.close();
    this.backend.close();
    this.curve?.close();
  }

  /** A client message; then the one timer is armed for whatever deadline it changed. */
  private onFrontend(frames: Frames): void {
    const msg = parseServiceRequest(frames);
    if ('kind' in msg) {
      if (msg.kind === 'malformed') return this.reject('frontend', msg.reason);
      if (msg.kind === 'batch') this.onClientBatch(msg);
      else this.core.badRequest(msg.client, msg.id, msg.reason);
    } else if (msg.service === BATCH_PROBE_SERVICE && msg.id) {
      this.frontend.send(envelopeReplyFrames(msg.client, msg.id, this.clientBatchOffer));
    } else {
      if (this.tracing) this.trace.step('frontend_message', 'client service request', [msg.client, msg.service, msg.body]);
      this.admit(msg.client, msg.body, performance.now(), msg.service, msg.id, msg.metadata);
    }
    this.armTimer();
  }

  /** Hands a request to the core, with its deadline (`timeout-ms` from now) and, where it has metadata or is traced, its tag. */
  private admit(
    client: Buffer,
    body: Buffer,
    now: number,
    service: string,
    id: Buffer | undefined,
    checked: CheckedMetadata | undefined,
  ): void {
    const { openTelemetry, parentBasedSampler } = this.options;
    if (checked === undefined && !openTelemetry) return this.core.clientRequest(client, body, now, service, id);
    const metadata = checked ?? NO_METADATA;
    const timeout = metadata.timeout >= 0 ? metadata.timeout : undefined; // found when the frame was checked
    const traced = openTelemetry === true && !(parentBasedSampler === true && unsampledParent(metadata.text));
    const spans = traced ? new RequestSpans(service, metadata.text, id, body.length, timeout) : undefined;
    const tag: RequestTag = { metadata: keptMetadata(metadata), spans };
    this.core.clientRequest(client, body, now, service, id, { deadline: timeout === undefined ? undefined : now + timeout, tag });
  }

  /** A dispatch on the wire, with its metadata where the worker takes it. */
  private sendRequest(worker: string, ticket: Buffer, body: Buffer, request: Readonly<Request>): void {
    this.outbox.request(worker, ticket, body, this.metadataFor(worker, request));
  }

  /**
   * The metadata a dispatch carries to a worker that takes it: the request's own, its remaining
   * time now, and the dispatch span's trace context when tracing. Nothing for a worker that did not
   * accept metadata (a seed worker never does), and nothing for a request that has none.
   */
  private metadataFor(worker: string, request: Readonly<Request>): Buffer | undefined {
    const tag = request.tag as RequestTag | undefined;
    if (tag === undefined) return undefined;
    const span = tag.spans?.dispatched(worker, request.dispatches);
    if (!this.outbox.takesMetadata(worker)) return undefined;
    return forwardedMetadata(tag.metadata, request.deadline - performance.now(), span);
  }

  /**
   * Each request of a client's batch, as if it came alone; its answer will go back in a batch. Its
   * id and body are copied out of the batch's frame: a view would keep the whole frame alive while
   * the request waits, memory the queue's byte limits never see.
   */
  private onClientBatch({ client, service, records, problem }: ServiceBatch): void {
    const now = performance.now();
    for (const record of records) {
      const id = ownCopy(record.ticket);
      const body = ownCopy(record.body);
      this.outbox.answerInBatch(id);
      if (problem) this.core.badRequest(client, id, problem);
      else {
        if (this.tracing) this.trace.step('frontend_message', 'client service request', [client, service, body]);
        this.admit(client, body, now, service, id, record.checked);
      }
    }
  }

  /** A worker message; then the one timer is armed for whatever deadline it changed. */
  private onBackend(frames: Frames): void {
    const msg = parseWorkerMessage(frames);
    if (msg.kind === 'malformed') return this.reject('backend', msg.reason);
    const worker = msg.worker.toString('latin1');
    if (this.tracing) this.trace.step('backend_message', 'worker kind', [worker, msg.kind]);
    if (msg.kind === 'ready') {
      this.outbox.forgetWorker(worker); // a ready starts a new connection: nothing of the old one's batches carries over
      if (msg.heartbeats) this.outbox.negotiate(worker, performance.now());
      this.core.workerReady(worker, performance.now(), msg);
      if (!this.core.isWorker(worker)) this.reportRefusedWorker(worker);
      else {
        this.outbox.workerAdmitted(worker, msg.worker);
        if (msg.heartbeats) {
          this.outbox.control(worker); // a heartbeat: tells the worker at once that we speak TSR/1
          // Metadata before batches: a worker that takes metadata says so before it accepts batches.
          this.outbox.control(worker, METADATA_OFFER); // requests may carry their deadline and trace to it
          this.outbox.control(worker, this.batchOffer);
          this.outbox.control(worker, LEASE_OFFER); // a worker of several brokers may move its credit (docs/protocol.md)
        }
      }
    } else if (msg.kind === 'heartbeat') {
      this.core.workerHeartbeat(worker, performance.now());
    } else if (msg.kind === 'goodbye') {
      this.core.workerGone(worker, performance.now());
      this.outbox.forgetWorker(worker);
    } else if (msg.kind === 'credit') {
      this.core.workerCredit(worker, msg.credit, performance.now());
    } else if (msg.kind === 'batch-accept') {
      if (this.core.isWorker(worker)) this.outbox.acceptBatches(worker);
      this.outbox.settle(worker);
    } else if (msg.kind === 'metadata-accept') {
      if (this.core.isWorker(worker)) this.outbox.acceptMetadata(worker);
      this.outbox.settle(worker);
    } else if (msg.kind === 'replies') {
      const now = performance.now();
      for (const { ticket, body, failed } of msg.records) this.core.workerReply(worker, ticket, body, now, failed);
    } else {
      this.core.workerReply(worker, msg.ticket, msg.body, performance.now(), msg.failed);
    }
    this.armTimer();
  }

  /** Says why a worker is never sent work; at most once every 5 s, whatever a peer floods. */
  private reportRefusedWorker(worker: string): void {
    const now = performance.now();
    if (now - this.lastRefusalReport < 5000) return;
    this.lastRefusalReport = now;
    const why = isGeneratedId(worker)
      ? "it has no routing id of its own (a worker must set one, as the seed's do)"
      : `${this.options.maxWorkers} workers are already in (--max-workers)`;
    this.trace.warn(
      `refused the ready of worker 0x${Buffer.from(worker, 'latin1').toString('hex')}: ${why}; refused so far: ${this.core.stats.refusedWorkers}`,
    );
  }

  private sendHeartbeats(): void {
    // A worker that answered no offer within a heartbeat interval takes none: what it was sent goes.
    this.outbox.settleOlder(performance.now() - this.options.heartbeatMs);
    for (const worker of this.core.heartbeatingWorkers()) this.outbox.control(worker);
    for (const worker of this.core.demand()) this.outbox.control(worker, WANT);
    this.outbox.sweep((worker) => this.core.isWorker(worker));
  }

  /** Keeps the one timer armed for the earliest deadline. */
  private armTimer(): void {
    const next = this.core.nextDeadline();
    if (next === undefined || next >= this.timerAt) return;
    clearTimeout(this.timer);
    this.timerAt = next;
    this.timer = setTimeout(
      () => {
        this.timerAt = Infinity;
        try {
          this.core.expire(performance.now());
          this.armTimer();
        } catch (e) {
          this.onFatal(new Error(`deadline timer failed: ${(e as Error).message}`));
        }
      },
      Math.max(0, next - performance.now()) + 1,
    );
  }

  private reject(side: Side, reason: string): void {
    this.malformed[side]++;
    if (this.tracing) this.trace.step('malformed', 'side reason', [side, reason]);
  }
}

const spansOf = (request: Readonly<Request> | undefined): RequestSpans | undefined => (request?.tag as RequestTag | undefined)?.spans;
