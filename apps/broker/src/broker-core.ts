import { DEFAULT_SERVICE, DISCOVERY_SERVICE, type ErrorReason, type ServiceInfo, ERROR_REASONS, decodeTicket, encodeTicket } from '@tsr/protocol';
import { ClientShares, SWEEP_AT } from './client-shares';
import { Fifo } from './fifo';
import { LinkedOrder } from './linked-order';

/**
 * The seed's fault-tolerant broker as a pure state machine: no sockets, no timers.
 * Time comes in as `now` (milliseconds, any monotonic origin); messages go out through `BrokerOutput`.
 * Workers are keyed by their routing id as a latin1 string (a lossless byte-to-string mapping).
 *
 * Workers serve one named service each; requests wait in their service's queue, first in first
 * out, and go only to that service's workers, so no service can starve another.
 *
 * Its promises (docs/protocol.md states them for users):
 * - membership is a handshake: only a ready admits a worker; a failed, silent or departed worker
 *   is forgotten entirely (no heartbeats either), so a live one notices and announces itself again;
 * - a reply reaches a client only if it carries the ticket of a dispatch this instance made to
 *   that very worker and still waits for; everything else is counted and dropped;
 * - every request ends answered or refused with a reason: queue full (count or bytes), the
 *   client's or service's share full, too large, expired (TTL), poison (it failed `maxFailures`
 *   workers), no worker for its service after a grace period, or its handler failed.
 */
export interface BrokerOutput {
  /** A request for `worker`; `client` is not sent (the ticket stands for it), only traced. */
  toWorker(worker: string, ticket: Buffer, body: Buffer, client: Buffer): void;
  /**
   * An answer for `client`: to an envelope request when `id` is set (its tag, handed back), else
   * plain. `arrivedAt` is when its request came in (the adapter measures latency with it).
   */
  toClient(client: Buffer, id: Buffer | undefined, body: Buffer, arrivedAt: number): void;
  /**
   * The request is not, or no longer, going to be served: tell the client why, now. `detail` is
   * given where only the core knows it (the service name, the handler's message).
   */
  refuse(client: Buffer, id: Buffer | undefined, reason: Refusal, detail?: string | number): void;
  /** A worker was declared failed and forgotten; `held` requests it had went on (for the log). */
  workerFailed(worker: string, why: Failure, held: number): void;
}

/** Why a worker is declared failed: it missed an answer deadline, fell silent, or came back empty-handed. */
export type Failure = 'deadline' | 'silent' | 'restarted';

export type Refusal = ErrorReason;

export interface BrokerCoreOptions {
  /**
   * A worker holding requests that makes no progress (no reply) for this long is declared failed
   * and its requests go elsewhere (seed: 2000 ms after the dispatch of its one request).
   */
  answerTimeoutMs: number;
  /** A heartbeating worker not heard from this long is dropped (its requests go elsewhere). */
  livenessMs: number;
  /** Requests that may wait for a worker, per service; past that a client is refused `overloaded` at once. */
  maxPending: number;
  /** Bytes of requests held, waiting or in service; past that a client is refused `overloaded`. */
  maxQueueBytes: number;
  /** Bytes one client (routing id) may hold, so one client cannot fill the queue. */
  maxClientBytes: number;
  /** Bytes one service's requests may hold, so a service whose workers are gone cannot fill the queue. */
  maxServiceBytes: number;
  /** Services tracked at once (a service with no worker and no request is forgotten). */
  maxServices: number;
  /** A request for a service with no worker is refused `no-service` after this long (workers may be starting). */
  serviceGraceMs: number;
  /**
   * No request is refused `no-service` before `startedAt + startupGraceMs`: after a broker
   * (re)start its workers need their liveness window, and a reconnection, to find it again.
   */
  startupGraceMs: number;
  /** When this instance started, on the core's clock. */
  startedAt: number;
  /** Largest request body accepted; larger ones are refused `too-large`. */
  maxRequestBytes: number;
  /** A request not served within this long of its arrival is refused `expired`. */
  requestTtlMs: number;
  /** A request whose service failed this many workers is refused `poison` rather than sent on. */
  maxFailures: number;
  /** Workers admitted at once; further readies are refused (bookkeeping stays bounded). */
  maxWorkers: number;
  /** Failed seed workers remembered so that their late reply can resume them; oldest forgotten first. */
  failedMemory: number;
  /** This broker instance's id, in every ticket (random per process; fixed in tests). */
  instance: Buffer;
}

export const defaultCoreOptions: Omit<BrokerCoreOptions, 'instance'> = {
  answerTimeoutMs: 2000,
  livenessMs: 3000,
  maxPending: 100_000,
  maxQueueBytes: 128 * 1024 * 1024,
  maxClientBytes: 32 * 1024 * 1024,
  maxServiceBytes: 64 * 1024 * 1024,
  maxServices: 1000,
  serviceGraceMs: 3000,
  startupGraceMs: 0,
  startedAt: 0,
  maxRequestBytes: 1024 * 1024,
  requestTtlMs: 30_000,
  maxFailures: 3,
  maxWorkers: 10_000,
  failedMemory: 10_000,
};

/**
 * A routing id libzmq generated (a leading zero byte): an anonymous peer, or an old connection's
 * leftovers after a reconnect under the same id (ROUTER handover). Never a worker we can route to.
 */
export const isGeneratedId = (worker: string): boolean => worker.charCodeAt(0) === 0;

/** What a worker announces in its ready. */
export interface WorkerTraits {
  /** Sends and expects heartbeats (TSR/1). */
  heartbeats: boolean;
  /** Requests it may hold at once, served in order; 1 for a seed worker. */
  credit: number;
  /** The service it serves (absent: the default service). */
  service?: string;
}

const SEED_WORKER: WorkerTraits = { heartbeats: false, credit: 1, service: DEFAULT_SERVICE };

/** One service: its workers with credit left and its waiting requests. */
interface Service {
  name: string;
  /**
   * Its workers with free credit, least recently used first: a worker with credit left after a
   * dispatch goes to the end (round robin).
   */
  ready: LinkedOrder<string, true>;
  /** Requests waiting for one of its workers, in arrival order. */
  pending: Fifo<Request>;
  /** Workers registered for it. */
  workers: number;
  /** Bytes its requests hold, waiting or in service. */
  bytes: number;
  /** Since when it has had no worker (meaningful while `workers` is 0): the no-service grace counts from it. */
  emptySince: number;
}

interface Request {
  client: Buffer;
  /** The client's tag of an envelope request, handed back with the answer; undefined: a plain request. */
  id: Buffer | undefined;
  service: Service;
  /** The client's routing id as a string: its key for the fair share. */
  clientKey: string;
  body: Buffer;
  /** What holding it costs: body and routing id. */
  bytes: number;
  arrivedAt: number;
  /** Arrival order: the waiting queue is kept in it. */
  serial: number;
  /** Workers that failed while serving it. */
  failures: number;
}

interface Dispatch {
  sequence: number;
  worker: string;
  request: Request;
}

interface Worker extends Omit<WorkerTraits, 'service'> {
  service: Service;
  /** Its number among the workers admitted (below 2^32, unique among live ones): tickets carry it. */
  admission: number;
  /** Dispatches sent to it and not answered, oldest first (it serves them in order). */
  tasks: Dispatch[];
  /** When it last sent its ready or a reply (heartbeats are kept in `heard`). */
  repliedAt: number;
}

/** Why a worker leaves: a failure counts against the request it was serving; `gone` (goodbye) does not. */
type Departure = Failure | 'gone';

export interface BrokerStats {
  /** Client requests received, accepted or not. */
  requests: number;
  /** Replies forwarded to clients. */
  replies: number;
  /** Discovery requests, answered by the broker itself. */
  discoveries: number;
  dispatched: number;
  redispatched: number;
  /** Workers declared failed: missed a deadline, fell silent, or restarted while holding requests. */
  workerFailures: number;
  /** Of those, heartbeating workers that fell silent. */
  workersLost: number;
  /** Requests answered with an error, by reason. */
  rejected: Record<Refusal, number>;
  /**
   * Replies never forwarded: `late`, a ticket of this instance no longer awaited (its worker
   * failed, or it was answered, expired or refused); `stale`, a ticket of no dispatch of this
   * instance (a previous broker, or garbage); `foreign`, an awaited ticket from another worker.
   */
  dropped: { late: number; stale: number; foreign: number };
  /** Readies refused: a routing id generated by libzmq, or the worker limit reached. */
  refusedWorkers: number;
}

/** A snapshot of what the core holds, for status output and tests. */
export interface BrokerLoad {
  services: number;
  workers: number;
  ready: number;
  busy: number;
  pending: number;
  inService: number;
  queueBytes: number;
  clients: number;
  failedRemembered: number;
  heartbeating: number;
}

/** One live worker as `/status` shows it. */
export interface WorkerSnapshot {
  id: string;
  /** `TSR/1`: speaks heartbeats (our workers); `seed`: a plain REQ worker. */
  kind: 'seed' | 'TSR/1';
  service: string;
  credit: number;
  /** Requests sent to it and not answered yet. */
  outstanding: number;
  /** When it was last heard from (ready, reply or heartbeat), on the core's clock. */
  lastHeard: number;
}

export class BrokerCore {
  /** Live workers, ready or busy: only a ready puts one here. */
  private readonly workers = new Map<string, Worker>();
  /** Services with a worker or a request; the others are forgotten. */
  private readonly services = new Map<string, Service>();
  /** Services with requests waiting: the TTL and grace sweeps look only at these. */
  private readonly waiting = new LinkedOrder<Service, true>();
  /**
   * Workers holding requests, with the deadline of their next reply. Progress moves a worker to
   * the back and every deadline is now + the same timeout, so the order is deadline order: the
   * first expires first.
   */
  private readonly busy = new LinkedOrder<string, number>();
  /** Heartbeating workers and when each was last heard from, in last-heard order (as `busy`). */
  private readonly heard = new LinkedOrder<string, number>();
  /** Live workers by admission number: a reply's ticket names the worker whose tasks hold its dispatch. */
  private readonly admitted = new Map<number, Worker>();
  private lastAdmission = 0;
  /** Dispatches awaiting a reply, all workers together. */
  private inService = 0;
  /** Failed seed workers and the dispatch they failed on: that reply is their next ready. */
  private readonly failedSeeds = new Map<string, number>();
  /** Bytes held per client, for the fair share. */
  private readonly clientBytes = new ClientShares();
  private queueBytes = 0;
  private pendingTotal = 0;
  private readyTotal = 0;
  private sequence = 0;
  readonly stats: BrokerStats = {
    requests: 0,
    replies: 0,
    discoveries: 0,
    dispatched: 0,
    redispatched: 0,
    workerFailures: 0,
    workersLost: 0,
    rejected: Object.fromEntries(ERROR_REASONS.map((reason) => [reason, 0])) as Record<Refusal, number>,
    dropped: { late: 0, stale: 0, foreign: 0 },
    refusedWorkers: 0,
  };

  constructor(
    private readonly out: BrokerOutput,
    private readonly options: BrokerCoreOptions,
  ) {}

  /**
   * A client request for `service` (`id`: its envelope tag, undefined for a plain request): to
   * the least recently used worker of that service with credit, else to the end of its queue.
   */
  clientRequest(client: Buffer, body: Buffer, now: number, service = DEFAULT_SERVICE, id?: Buffer): void {
    this.stats.requests++;
    if (service === DISCOVERY_SERVICE) return this.discover(client, id, body, now);
    if (body.length > this.options.maxRequestBytes) return this.refuse(client, id, 'too-large');
    const clientKey = client.toString('latin1');
    const bytes = body.length + client.length;
    if (this.queueBytes + bytes > this.options.maxQueueBytes) return this.refuse(client, id, 'overloaded');
    if (this.clientBytes.get(clientKey) + bytes > this.options.maxClientBytes) return this.refuse(client, id, 'client-share');
    const svc = this.services.get(service) ?? this.openService(service, now);
    if (!svc) return this.refuse(client, id, 'overloaded');
    const worker = svc.ready.first();
    if (svc.bytes + bytes > this.options.maxServiceBytes || (worker === undefined && svc.pending.length >= this.options.maxPending)) {
      this.closeIfIdle(svc);
      return this.refuse(client, id, 'overloaded');
    }
    const request: Request = { client, id, service: svc, clientKey, body, bytes, arrivedAt: now, serial: this.stats.requests, failures: 0 };
    this.hold(request);
    if (worker !== undefined) this.dispatch(worker, request, now);
    else this.enqueue(request);
  }

  /** A request the adapter could parse but not accept (an invalid service name): refused, counted. */
  badRequest(client: Buffer, id: Buffer, why: string): void {
    this.stats.requests++;
    this.refuse(client, id, 'bad-request', why);
  }

  /**
   * A worker announces itself: the only way in. A known worker that still held requests has
   * restarted under the same id: they are lost with it and go to other workers now.
   */
  workerReady(worker: string, now: number, traits: WorkerTraits = SEED_WORKER): void {
    if (isGeneratedId(worker)) {
      this.stats.refusedWorkers++;
      return;
    }
    const known = this.workers.get(worker);
    const serviceName = traits.service ?? DEFAULT_SERVICE;
    if (known && known.tasks.length === 0 && known.heartbeats === traits.heartbeats && known.credit === traits.credit && known.service.name === serviceName) {
      if (traits.heartbeats) this.touch(worker, now);
      return; // already ready
    }
    if (known) this.leave(worker, known.tasks.length > 0 ? 'restarted' : 'gone', now);
    this.failedSeeds.delete(worker); // it is back: no late reply needs to resume it
    const service = this.workers.size < this.options.maxWorkers ? (this.services.get(serviceName) ?? this.openService(serviceName, now)) : undefined;
    if (!service) {
      this.stats.refusedWorkers++;
      return;
    }
    if (traits.heartbeats) this.touch(worker, now);
    this.join(worker, traits, service, now);
  }

  /**
   * A heartbeat keeps a known worker alive. One from a worker this broker does not know
   * (announced to a previous instance, or evicted) is ignored: hearing no heartbeats back, that
   * worker reconnects and announces itself again.
   */
  workerHeartbeat(worker: string, now: number): void {
    if (this.heard.has(worker)) this.touch(worker, now);
  }

  /** A worker says it is stopping: forget it, and its requests go to other workers now. */
  workerGone(worker: string, now: number): void {
    this.failedSeeds.delete(worker);
    if (this.workers.has(worker)) this.leave(worker, 'gone', now);
  }

  /** Workers to send a heartbeat to: live ones that announced they speak them. */
  heartbeatingWorkers(): IterableIterator<string> {
    return this.heard.keys();
  }

  /**
   * A worker answers the dispatch named by `ticket` (`failed`: its handler failed, and `body`
   * says why). Forwarded only if this instance made that dispatch, to this worker, and still
   * awaits it; otherwise counted and dropped (see `BrokerStats.dropped`). A failed seed worker's
   * reply to the dispatch it failed on is its next ready: a REQ socket that has replied waits
   * for a request, and can send nothing else.
   */
  workerReply(worker: string, ticket: Buffer, body: Buffer, now: number, failed = false): void {
    if (this.heard.has(worker)) this.touch(worker, now);
    const numbers = decodeTicket(this.options.instance, ticket);
    if (numbers === undefined) {
      this.stats.dropped.stale++;
      return;
    }
    const { sequence } = numbers;
    // Workers serve in order: the dispatch is almost always the first of its worker's tasks.
    const owner = this.admitted.get(numbers.admission);
    const at = owner ? owner.tasks.findIndex((d) => d.sequence === sequence) : -1;
    if (owner === undefined || at < 0) {
      this.stats.dropped.late++;
      if (this.failedSeeds.get(worker) === sequence) {
        this.failedSeeds.delete(worker);
        const service = this.workers.has(worker) || this.workers.size >= this.options.maxWorkers ? undefined : (this.services.get(DEFAULT_SERVICE) ?? this.openService(DEFAULT_SERVICE, now));
        if (service) this.join(worker, SEED_WORKER, service, now);
      }
      return;
    }
    if (owner.tasks[at].worker !== worker) {
      this.stats.dropped.foreign++;
      return;
    }
    const state = owner;
    const [dispatch] = state.tasks.splice(at, 1);
    this.inService--;
    const { request } = dispatch;
    this.release(request);
    state.repliedAt = now;
    if (failed) this.refuse(request.client, request.id, 'handler', body.toString('utf8'));
    else {
      this.stats.replies++;
      this.out.toClient(request.client, request.id, body, request.arrivedAt);
    }
    if (state.tasks.length > 0) this.busy.set(worker, now + this.options.answerTimeoutMs); // progress
    else this.busy.delete(worker);
    this.refill(worker, state, now);
  }

  /**
   * Declares failed every heartbeating worker silent for longer than the liveness window and
   * every busy worker past its deadline (their requests go to other workers), and refuses the
   * waiting requests that outlived their TTL, or their service's grace while it has no worker.
   */
  expire(now: number): void {
    // Last-heard order and deadline order: the first that is not due ends each sweep.
    for (let worker; (worker = this.heard.first()) !== undefined && (this.heard.get(worker) as number) + this.options.livenessMs <= now; ) {
      this.stats.workersLost++;
      this.leave(worker, 'silent', now);
    }
    for (let worker; (worker = this.busy.first()) !== undefined && (this.busy.get(worker) as number) <= now; ) this.leave(worker, 'deadline', now);
    for (const service of this.waiting.keys()) {
      // Each queue is in arrival order: the front expires first, and gets its grace first.
      for (let front; (front = service.pending.peek()) && this.frontEnds(service, front) <= now; ) {
        this.dequeue(service);
        this.end(front, this.isExpired(front, now) ? 'expired' : 'no-service');
      }
      this.closeIfIdle(service);
    }
  }

  /** When `expire` next has work to do, for the adapter's single timer (O(services with waiting requests)). */
  nextDeadline(): number | undefined {
    // Called after every message: first entries and a plain loop, no iterator to allocate.
    let next = this.busy.firstValue() ?? Infinity;
    const last = this.heard.firstValue();
    if (last !== undefined) next = Math.min(next, last + this.options.livenessMs);
    for (let service = this.waiting.first(); service !== undefined; service = this.waiting.after(service)) {
      next = Math.min(next, this.frontEnds(service, service.pending.peek() as Request));
    }
    return next === Infinity ? undefined : next;
  }

  get readyCount(): number {
    return this.readyTotal;
  }
  get busyCount(): number {
    return this.busy.size;
  }
  get pendingCount(): number {
    return this.pendingTotal;
  }
  isWorker(worker: string): boolean {
    return this.workers.has(worker);
  }

  load(): BrokerLoad {
    return {
      services: this.services.size,
      workers: this.workers.size,
      ready: this.readyTotal,
      busy: this.busy.size,
      pending: this.pendingTotal,
      inService: this.inService,
      queueBytes: this.queueBytes,
      clients: this.clientBytes.size,
      failedRemembered: this.failedSeeds.size,
      heartbeating: this.heard.size,
    };
  }

  /**
   * Discovery: every service, or the one named, with its workers ready (holding nothing) and busy
   * and its waiting requests, by name (O(workers + services)).
   */
  serviceSnapshot(only?: string): ServiceInfo[] {
    const busy = new Map<Service, number>();
    for (const w of this.workers.values()) if (w.tasks.length > 0) busy.set(w.service, (busy.get(w.service) ?? 0) + 1);
    return [...this.services.values()]
      .filter((s) => only === undefined || s.name === only)
      .map((s) => {
        const held = busy.get(s) ?? 0;
        return { name: s.name, workers: s.workers, ready: s.workers - held, busy: held, waiting: s.pending.length };
      })
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** The live workers, in admission order: a read-only copy for status output (O(workers)). */
  workerSnapshot(): WorkerSnapshot[] {
    return [...this.workers].map(([id, w]) => ({
      id,
      kind: w.heartbeats ? 'TSR/1' : 'seed',
      service: w.service.name,
      credit: w.credit,
      outstanding: w.tasks.length,
      lastHeard: Math.max(w.repliedAt, this.heard.get(id) ?? -Infinity),
    }));
  }

  /**
   * Checks that the bookkeeping agrees with itself and with its bounds; throws on the first
   * broken rule; with `now`, also that no request waits past its TTL or its service's grace
   * (true after `expire(now)`). For tests (the property tests call it after every step): O(state).
   */
  audit(now?: number): void {
    const fail = (rule: string) => {
      throw new Error(`broker core invariant broken: ${rule}`);
    };
    const waiting = new Set<Request>();
    const serviceBytes = new Map<Service, number>();
    let bytes = 0;
    const perClient = new Map<string, number>();
    const count = (r: Request) => {
      bytes += r.bytes;
      perClient.set(r.clientKey, (perClient.get(r.clientKey) ?? 0) + r.bytes);
      serviceBytes.set(r.service, (serviceBytes.get(r.service) ?? 0) + r.bytes);
    };
    let pending = 0;
    let ready = 0;
    for (const [name, s] of this.services) {
      if (s.name !== name) fail('a service is filed under another name');
      if (s.workers === 0 && s.pending.length === 0) fail(`idle service ${name} is kept`);
      if (this.waiting.has(s) !== s.pending.length > 0) fail(`service ${name} is listed as waiting iff it has waiting requests`);
      if (s.pending.length > 0 && s.ready.size > 0) fail(`a request of ${name} waits while one of its workers is ready`);
      pending += s.pending.length;
      ready += s.ready.size;
      for (let i = 0; i < s.pending.length; i++) {
        const r = s.pending.at(i) as Request;
        if (r.service !== s) fail(`a request waits in the queue of another service than ${name}`);
        if (waiting.has(r)) fail('a request waits twice');
        if (i > 0 && (s.pending.at(i - 1) as Request).serial > r.serial) fail(`waiting requests of ${name} are not in arrival order`);
        waiting.add(r);
        count(r);
      }
      const front = s.pending.peek();
      if (now !== undefined && front && this.frontEnds(s, front) <= now) fail(`a request of ${name} waits past its TTL or its service's grace`);
      for (const w of s.ready.keys()) if (this.workers.get(w)?.service !== s) fail(`a ready worker of ${name} serves another service`);
    }
    if (pending !== this.pendingTotal || ready !== this.readyTotal) fail('running totals disagree');
    if (this.waiting.size > this.services.size) fail('a forgotten service is listed as waiting');
    if (this.services.size > this.options.maxServices) fail('more services than allowed');
    const workersPerService = new Map<Service, number>();
    let tasks = 0;
    for (const [id, w] of this.workers) {
      if (this.services.get(w.service.name) !== w.service) fail(`worker ${JSON.stringify(id)} serves a forgotten service`);
      workersPerService.set(w.service, (workersPerService.get(w.service) ?? 0) + 1);
      tasks += w.tasks.length;
      if (w.tasks.length > w.credit) fail(`worker ${JSON.stringify(id)} holds more than its credit`);
      if (w.service.ready.has(id) !== w.tasks.length < w.credit) fail(`worker ${JSON.stringify(id)} is ready iff it has credit left`);
      if (this.busy.has(id) !== w.tasks.length > 0) fail(`worker ${JSON.stringify(id)} is busy iff it holds requests`);
      if (this.heard.has(id) !== w.heartbeats) fail(`worker ${JSON.stringify(id)} is heartbeated iff it speaks heartbeats`);
      if (isGeneratedId(id)) fail('a generated routing id is a worker');
      for (const d of w.tasks) {
        if (d.worker !== id) fail('a task is not its dispatch');
        if (waiting.has(d.request)) fail('a request is both waiting and dispatched');
        if (d.request.service !== w.service) fail(`worker ${JSON.stringify(id)} holds a request of another service`);
        count(d.request);
      }
    }
    for (const s of this.services.values()) {
      if ((workersPerService.get(s) ?? 0) !== s.workers) fail(`service ${s.name} counts ${s.workers} workers`);
      if ((serviceBytes.get(s) ?? 0) !== s.bytes) fail(`service ${s.name} bytes disagree`);
      if (s.bytes > this.options.maxServiceBytes) fail(`service ${s.name} holds more than its share`);
    }
    if (tasks !== this.inService) fail('dispatches in service miscounted');
    if (this.admitted.size !== this.workers.size) fail('admission numbers disagree with the workers');
    const live = new Set(this.workers.values());
    for (const [n, w] of this.admitted) if (w.admission !== n || !live.has(w)) fail('an admission number names no live worker, or another');
    if (this.busy.size > this.workers.size || this.heard.size > this.workers.size) fail('a queue holds an unknown worker');
    if (bytes !== this.queueBytes) fail(`queue bytes ${this.queueBytes} but requests hold ${bytes}`);
    if (this.queueBytes > this.options.maxQueueBytes) fail('queue bytes over their bound');
    if (perClient.size !== this.clientBytes.size) fail('a client without requests is counted');
    if (this.clientBytes.entries - this.clientBytes.size > Math.max(SWEEP_AT - 1, this.clientBytes.size)) fail('idle clients are kept past their bound');
    for (const [client, b] of perClient) {
      if (this.clientBytes.get(client) !== b) fail('client bytes disagree');
      if (b > this.options.maxClientBytes) fail('a client holds more than its share');
    }
    if (this.workers.size > this.options.maxWorkers) fail('more workers than allowed');
    if (this.failedSeeds.size > this.options.failedMemory) fail('failed seed workers over their bound');
    const s = this.stats;
    const rejected = Object.values(s.rejected).reduce((sum, n) => sum + n, 0);
    if (s.requests !== s.replies + s.discoveries + rejected + this.pendingTotal + this.inService) {
      fail('requests != replies + discoveries + rejected + waiting + in service');
    }
  }

  /** The broker's own answer to `tsr.services`: what discovery knows, as JSON (body: one name, or empty for all). */
  private discover(client: Buffer, id: Buffer | undefined, body: Buffer, now: number): void {
    this.stats.discoveries++;
    const only = body.length > 0 ? body.toString('latin1') : undefined;
    this.out.toClient(client, id, Buffer.from(JSON.stringify(this.serviceSnapshot(only))), now);
  }

  /** A new service, or undefined when `maxServices` are tracked already. */
  private openService(name: string, now: number): Service | undefined {
    if (this.services.size >= this.options.maxServices) return undefined;
    const service: Service = { name, ready: new LinkedOrder(), pending: new Fifo(), workers: 0, bytes: 0, emptySince: now };
    this.services.set(name, service);
    return service;
  }

  /** Forgets a service with no worker and no request: unknown names cannot pile up. */
  private closeIfIdle(service: Service): void {
    if (service.workers !== 0 || service.pending.length !== 0) return;
    this.services.delete(service.name);
    this.waiting.forget(service);
  }

  /**
   * When the front request of a waiting queue must end: its TTL, or while its service has no
   * worker, its grace (counted from its arrival or the service's last worker leaving, whichever
   * is later, and never before the broker's startup grace is over).
   */
  private frontEnds(service: Service, front: Request): number {
    const ttl = front.arrivedAt + this.options.requestTtlMs;
    if (service.workers > 0) return ttl;
    const grace = Math.max(Math.max(front.arrivedAt, service.emptySince) + this.options.serviceGraceMs, this.options.startedAt + this.options.startupGraceMs);
    return Math.min(ttl, grace);
  }

  /** A free worker takes waiting requests up to its credit; with credit left it is ready. */
  private join(worker: string, traits: Omit<WorkerTraits, 'service'>, service: Service, now: number): void {
    const state: Worker = { heartbeats: traits.heartbeats, credit: traits.credit, service, admission: this.admit(), tasks: [], repliedAt: now };
    this.workers.set(worker, state);
    this.admitted.set(state.admission, state);
    service.workers++;
    this.refill(worker, state, now);
  }

  private refill(worker: string, state: Worker, now: number): void {
    const { service } = state;
    for (let request; state.tasks.length < state.credit && (request = this.dequeue(service)); ) this.dispatch(worker, request, now);
    if (state.tasks.length < state.credit) this.markReady(service, worker);
  }

  /**
   * Forgets a worker entirely and sends its requests elsewhere, ahead of every waiting request.
   * When it failed, the request it was serving (its first: it serves in order) counts a failure.
   */
  private leave(worker: string, why: Departure, now: number): void {
    const { tasks, heartbeats, service, admission } = this.workers.get(worker) as Worker;
    this.workers.delete(worker);
    this.admitted.delete(admission);
    this.unmarkReady(service, worker);
    service.ready.forget(worker);
    if (--service.workers === 0) service.emptySince = now;
    this.busy.forget(worker);
    this.heard.forget(worker);
    this.inService -= tasks.length;
    if (why !== 'gone') {
      this.stats.workerFailures++;
      if (tasks.length > 0) {
        tasks[0].request.failures++;
        if (!heartbeats && why === 'deadline') this.rememberFailedSeed(worker, tasks[0].sequence);
      }
      this.out.workerFailed(worker, why, tasks.length);
    }
    for (const { request } of tasks) {
      if (request.failures >= this.options.maxFailures) this.end(request, 'poison');
      else if (this.isExpired(request, now)) this.end(request, 'expired');
      else this.requeue(request);
    }
    for (let w; service.pending.length > 0 && (w = service.ready.first()) !== undefined; ) this.dispatch(w, this.dequeue(service) as Request, now);
    this.closeIfIdle(service);
  }

  /**
   * Puts a request back in arrival order. Every request ever dispatched arrived before every
   * request that never was, so it goes among the few put back before it, near the front, and
   * the queue stays in arrival order: the oldest wait first, and the TTL sweep from the front
   * misses none.
   */
  private requeue(request: Request): void {
    this.stats.redispatched++;
    const { pending } = request.service;
    let at = 0;
    for (let queued; (queued = pending.at(at)) && queued.serial < request.serial; ) at++;
    pending.insertAt(at, request);
    this.queued(request.service);
  }

  private enqueue(request: Request): void {
    request.service.pending.push(request);
    this.queued(request.service);
  }

  private queued(service: Service): void {
    this.pendingTotal++;
    if (!this.waiting.has(service)) this.waiting.set(service, true);
  }

  private dequeue(service: Service): Request | undefined {
    const request = service.pending.shift();
    if (request === undefined) return undefined;
    this.pendingTotal--;
    if (service.pending.length === 0) this.waiting.delete(service);
    return request;
  }

  private markReady(service: Service, worker: string): void {
    if (service.ready.has(worker)) return;
    service.ready.set(worker, true);
    this.readyTotal++;
  }

  private unmarkReady(service: Service, worker: string): void {
    if (service.ready.delete(worker)) this.readyTotal--;
  }

  /** Sends a request to a worker with credit, or refuses it if it has outlived its TTL. */
  private dispatch(worker: string, request: Request, now: number): void {
    if (this.isExpired(request, now)) return this.end(request, 'expired');
    const state = this.workers.get(worker) as Worker;
    const dispatch: Dispatch = { sequence: ++this.sequence, worker, request };
    state.tasks.push(dispatch);
    this.inService++;
    if (state.tasks.length === 1) this.busy.set(worker, now + this.options.answerTimeoutMs);
    // Round robin: a worker with credit left goes behind the others.
    this.unmarkReady(state.service, worker);
    if (state.tasks.length < state.credit) this.markReady(state.service, worker);
    this.stats.dispatched++;
    this.out.toWorker(worker, encodeTicket(this.options.instance, state.admission, dispatch.sequence), request.body, request.client);
  }

  private isExpired(request: Request, now: number): boolean {
    return now - request.arrivedAt >= this.options.requestTtlMs;
  }

  private hold(request: Request): void {
    this.queueBytes += request.bytes;
    request.service.bytes += request.bytes;
    this.clientBytes.hold(request.clientKey, request.bytes);
  }

  private release(request: Request): void {
    this.queueBytes -= request.bytes;
    request.service.bytes -= request.bytes;
    this.clientBytes.release(request.clientKey, request.bytes);
  }

  /** An accepted request ends without an answer: release it and tell its client why. */
  private end(request: Request, reason: Refusal): void {
    this.release(request);
    this.refuse(request.client, request.id, reason, reason === 'no-service' ? request.service.name : undefined);
  }

  private refuse(client: Buffer, id: Buffer | undefined, reason: Refusal, detail?: string): void {
    this.stats.rejected[reason]++;
    this.out.refuse(client, id, reason, detail);
  }

  /** The next admission number, skipping any a live worker still has after 2^32 admissions. */
  private admit(): number {
    do this.lastAdmission = (this.lastAdmission + 1) >>> 0;
    while (this.admitted.has(this.lastAdmission));
    return this.lastAdmission;
  }

  private touch(worker: string, now: number): void {
    this.heard.set(worker, now);
  }

  private rememberFailedSeed(worker: string, sequence: number): void {
    this.failedSeeds.set(worker, sequence);
    if (this.failedSeeds.size > this.options.failedMemory) {
      for (const oldest of this.failedSeeds.keys()) {
        this.failedSeeds.delete(oldest);
        break;
      }
    }
  }
}
