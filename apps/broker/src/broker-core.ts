import type { ErrorReason } from '@tsr/tsr';
import { Fifo } from './fifo';
import { decodeTicket, encodeTicket } from './ticket';

/**
 * The seed's fault-tolerant broker as a pure state machine: no sockets, no timers.
 * Time comes in as `now` (milliseconds, any monotonic origin); messages go out through `BrokerOutput`.
 * Workers are keyed by their routing id as a latin1 string (a lossless byte-to-string mapping).
 *
 * Its promises (docs/protocol.md states them for users):
 * - membership is a handshake: only a ready admits a worker; a failed, silent or departed worker
 *   is forgotten entirely (no heartbeats either), so a live one notices and announces itself again;
 * - a reply reaches a client only if it carries the ticket of a dispatch this instance made to
 *   that very worker and still waits for; everything else is counted and dropped;
 * - every request ends answered or refused with a reason: queue full (count or bytes), the
 *   client's share full, too large, expired (TTL) or poison (it failed `maxFailures` workers).
 */
export interface BrokerOutput {
  /** A request for `worker`; `client` is not sent (the ticket stands for it), only traced. */
  toWorker(worker: string, ticket: Buffer, body: Buffer, client: Buffer): void;
  /** A worker's answer; `arrivedAt` is when its request came in (the adapter measures latency with it). */
  toClient(client: Buffer, body: Buffer, arrivedAt: number): void;
  /** The request is not, or no longer, going to be served: tell the client why, now. */
  refuse(client: Buffer, reason: Refusal): void;
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
  /** Requests that may wait for a worker; past that a client is refused `overloaded` at once. */
  maxPending: number;
  /** Bytes of requests held, waiting or in service; past that a client is refused `overloaded`. */
  maxQueueBytes: number;
  /** Bytes one client (routing id) may hold, so one client cannot fill the queue. */
  maxClientBytes: number;
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
}

const SEED_WORKER: WorkerTraits = { heartbeats: false, credit: 1 };

interface Request {
  client: Buffer;
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

interface Worker extends WorkerTraits {
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
  credit: number;
  /** Requests sent to it and not answered yet. */
  outstanding: number;
  /** When it was last heard from (ready, reply or heartbeat), on the core's clock. */
  lastHeard: number;
}

export class BrokerCore {
  /** Live workers, ready or busy: only a ready puts one here. */
  private readonly workers = new Map<string, Worker>();
  /**
   * Workers with free credit. A Set keeps insertion order: the first is the least recently used,
   * and a worker with credit left after a dispatch goes to the end (round robin).
   */
  private readonly ready = new Set<string>();
  /**
   * Workers holding requests, with the deadline of their next reply. Progress re-inserts a
   * worker and every deadline is now + the same timeout, so the Map's insertion order is
   * deadline order: the first entry expires first.
   */
  private readonly busy = new Map<string, number>();
  /** Heartbeating workers and when each was last heard from, in last-heard order (as `busy`). */
  private readonly heard = new Map<string, number>();
  private readonly pending = new Fifo<Request>();
  /** Dispatches awaiting a reply, by ticket sequence. */
  private readonly dispatches = new Map<number, Dispatch>();
  /** Failed seed workers and the dispatch they failed on: that reply is their next ready. */
  private readonly failedSeeds = new Map<string, number>();
  /** Bytes held per client, for the fair share; a client holding nothing has no entry. */
  private readonly clientBytes = new Map<string, number>();
  private queueBytes = 0;
  private sequence = 0;
  readonly stats: BrokerStats = {
    requests: 0,
    replies: 0,
    dispatched: 0,
    redispatched: 0,
    workerFailures: 0,
    workersLost: 0,
    rejected: { overloaded: 0, 'client-share': 0, 'too-large': 0, expired: 0, poison: 0 },
    dropped: { late: 0, stale: 0, foreign: 0 },
    refusedWorkers: 0,
  };

  constructor(
    private readonly out: BrokerOutput,
    private readonly options: BrokerCoreOptions,
  ) {}

  /** A client request: to the least recently used worker with credit, else to the end of the queue. */
  clientRequest(client: Buffer, body: Buffer, now: number): void {
    this.stats.requests++;
    if (body.length > this.options.maxRequestBytes) return this.refuse(client, 'too-large');
    const clientKey = client.toString('latin1');
    const bytes = body.length + client.length;
    if (this.queueBytes + bytes > this.options.maxQueueBytes) return this.refuse(client, 'overloaded');
    if ((this.clientBytes.get(clientKey) ?? 0) + bytes > this.options.maxClientBytes) return this.refuse(client, 'client-share');
    const worker = this.firstReady();
    if (worker === undefined && this.pending.length >= this.options.maxPending) return this.refuse(client, 'overloaded');
    const request: Request = { client, clientKey, body, bytes, arrivedAt: now, serial: this.stats.requests, failures: 0 };
    this.hold(request);
    if (worker !== undefined) this.dispatch(worker, request, now);
    else this.pending.push(request);
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
    if (known && known.tasks.length === 0 && known.heartbeats === traits.heartbeats && known.credit === traits.credit) {
      if (traits.heartbeats) this.touch(worker, now);
      return; // already ready
    }
    if (known) this.leave(worker, known.tasks.length > 0 ? 'restarted' : 'gone', now);
    this.failedSeeds.delete(worker); // it is back: no late reply needs to resume it
    if (!known && this.workers.size >= this.options.maxWorkers) {
      this.stats.refusedWorkers++;
      return;
    }
    if (traits.heartbeats) this.touch(worker, now);
    this.join(worker, traits, now);
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
   * A worker answers the dispatch named by `ticket`. Forwarded only if this instance made that
   * dispatch, to this worker, and still awaits it; otherwise counted and dropped (see
   * `BrokerStats.dropped`). A failed seed worker's reply to the dispatch it failed on is its
   * next ready: a REQ socket that has replied waits for a request, and can send nothing else.
   */
  workerReply(worker: string, ticket: Buffer, body: Buffer, now: number): void {
    if (this.heard.has(worker)) this.touch(worker, now);
    const sequence = decodeTicket(this.options.instance, ticket);
    if (sequence === undefined) {
      this.stats.dropped.stale++;
      return;
    }
    const dispatch = this.dispatches.get(sequence);
    if (!dispatch) {
      this.stats.dropped.late++;
      if (this.failedSeeds.get(worker) === sequence) {
        this.failedSeeds.delete(worker);
        if (!this.workers.has(worker) && this.workers.size < this.options.maxWorkers) this.join(worker, SEED_WORKER, now);
      }
      return;
    }
    if (dispatch.worker !== worker) {
      this.stats.dropped.foreign++;
      return;
    }
    const state = this.workers.get(worker) as Worker;
    state.tasks.splice(state.tasks.indexOf(dispatch), 1);
    this.dispatches.delete(sequence);
    this.release(dispatch.request);
    this.stats.replies++;
    state.repliedAt = now;
    this.out.toClient(dispatch.request.client, body, dispatch.request.arrivedAt);
    this.busy.delete(worker);
    if (state.tasks.length > 0) this.busy.set(worker, now + this.options.answerTimeoutMs); // progress
    this.refill(worker, state, now);
  }

  /**
   * Declares failed every heartbeating worker silent for longer than the liveness window and
   * every busy worker past its deadline (their requests go to other workers), and refuses the
   * waiting requests that outlived their TTL.
   */
  expire(now: number): void {
    for (const [worker, last] of this.heard) {
      if (last + this.options.livenessMs > now) break; // last-heard order: the rest are fresher
      this.stats.workersLost++;
      this.leave(worker, 'silent', now);
    }
    for (const [worker, deadline] of this.busy) {
      if (deadline > now) break; // deadline order: the rest are later
      this.leave(worker, 'deadline', now);
    }
    for (let front; (front = this.pending.peek()) && this.isExpired(front, now); ) {
      this.pending.shift();
      this.end(front, 'expired');
    }
  }

  /** When `expire` next has work to do, for the adapter's single timer. */
  nextDeadline(): number | undefined {
    let next = Infinity;
    for (const deadline of this.busy.values()) {
      next = deadline;
      break;
    }
    for (const last of this.heard.values()) {
      next = Math.min(next, last + this.options.livenessMs);
      break;
    }
    const front = this.pending.peek();
    if (front) next = Math.min(next, front.arrivedAt + this.options.requestTtlMs);
    return next === Infinity ? undefined : next;
  }

  get readyCount(): number {
    return this.ready.size;
  }
  get busyCount(): number {
    return this.busy.size;
  }
  get pendingCount(): number {
    return this.pending.length;
  }
  isWorker(worker: string): boolean {
    return this.workers.has(worker);
  }

  load(): BrokerLoad {
    return {
      workers: this.workers.size,
      ready: this.ready.size,
      busy: this.busy.size,
      pending: this.pending.length,
      inService: this.dispatches.size,
      queueBytes: this.queueBytes,
      clients: this.clientBytes.size,
      failedRemembered: this.failedSeeds.size,
      heartbeating: this.heard.size,
    };
  }

  /** The live workers, in admission order: a read-only copy for status output (O(workers)). */
  workerSnapshot(): WorkerSnapshot[] {
    return [...this.workers].map(([id, w]) => ({
      id,
      kind: w.heartbeats ? 'TSR/1' : 'seed',
      credit: w.credit,
      outstanding: w.tasks.length,
      lastHeard: Math.max(w.repliedAt, this.heard.get(id) ?? -Infinity),
    }));
  }

  /**
   * Checks that the bookkeeping agrees with itself and with its bounds; throws on the first
   * broken rule; with `now`, also that no request waits past its TTL (true after `expire(now)`).
   * For tests (the property tests call it after every step): O(state).
   */
  audit(now?: number): void {
    const fail = (rule: string) => {
      throw new Error(`broker core invariant broken: ${rule}`);
    };
    const waiting = new Set<Request>();
    for (let i = 0; i < this.pending.length; i++) waiting.add(this.pending.at(i) as Request);
    if (waiting.size !== this.pending.length) fail('a request waits twice');
    for (let i = 1; i < this.pending.length; i++) {
      if ((this.pending.at(i - 1) as Request).serial > (this.pending.at(i) as Request).serial) fail('waiting requests are not in arrival order');
    }
    const oldest = this.pending.peek();
    if (now !== undefined && oldest && this.isExpired(oldest, now)) fail('a request waits past its TTL');
    let bytes = 0;
    const perClient = new Map<string, number>();
    const count = (r: Request) => {
      bytes += r.bytes;
      perClient.set(r.clientKey, (perClient.get(r.clientKey) ?? 0) + r.bytes);
    };
    waiting.forEach(count);
    let tasks = 0;
    for (const [id, w] of this.workers) {
      tasks += w.tasks.length;
      if (w.tasks.length > w.credit) fail(`worker ${JSON.stringify(id)} holds more than its credit`);
      if (this.ready.has(id) !== w.tasks.length < w.credit) fail(`worker ${JSON.stringify(id)} is ready iff it has credit left`);
      if (this.busy.has(id) !== w.tasks.length > 0) fail(`worker ${JSON.stringify(id)} is busy iff it holds requests`);
      if (this.heard.has(id) !== w.heartbeats) fail(`worker ${JSON.stringify(id)} is heartbeated iff it speaks heartbeats`);
      if (isGeneratedId(id)) fail('a generated routing id is a worker');
      for (const d of w.tasks) {
        if (this.dispatches.get(d.sequence) !== d || d.worker !== id) fail('a task is not its dispatch');
        if (waiting.has(d.request)) fail('a request is both waiting and dispatched');
        count(d.request);
      }
    }
    if (tasks !== this.dispatches.size) fail('a dispatch belongs to no worker');
    if (this.ready.size > this.workers.size || this.busy.size > this.workers.size || this.heard.size > this.workers.size) fail('a queue holds an unknown worker');
    if (this.pending.length > 0 && this.ready.size > 0) fail('a request waits while a worker is ready');
    if (bytes !== this.queueBytes) fail(`queue bytes ${this.queueBytes} but requests hold ${bytes}`);
    if (this.queueBytes > this.options.maxQueueBytes) fail('queue bytes over their bound');
    if (perClient.size !== this.clientBytes.size) fail('a client without requests is tracked');
    for (const [client, b] of perClient) {
      if (this.clientBytes.get(client) !== b) fail('client bytes disagree');
      if (b > this.options.maxClientBytes) fail('a client holds more than its share');
    }
    if (this.workers.size > this.options.maxWorkers) fail('more workers than allowed');
    if (this.failedSeeds.size > this.options.failedMemory) fail('failed seed workers over their bound');
    const s = this.stats;
    const rejected = Object.values(s.rejected).reduce((sum, n) => sum + n, 0);
    if (s.requests !== s.replies + rejected + this.pending.length + this.dispatches.size) fail('requests != replies + rejected + waiting + in service');
  }

  /** A free worker takes waiting requests up to its credit; with credit left it is ready. */
  private join(worker: string, traits: WorkerTraits, now: number): void {
    const state: Worker = { heartbeats: traits.heartbeats, credit: traits.credit, tasks: [], repliedAt: now };
    this.workers.set(worker, state);
    this.refill(worker, state, now);
  }

  private refill(worker: string, state: Worker, now: number): void {
    for (let request; state.tasks.length < state.credit && (request = this.pending.shift()); ) this.dispatch(worker, request, now);
    if (state.tasks.length < state.credit) this.ready.add(worker);
  }

  /**
   * Forgets a worker entirely and sends its requests elsewhere, ahead of every waiting request.
   * When it failed, the request it was serving (its first: it serves in order) counts a failure.
   */
  private leave(worker: string, why: Departure, now: number): void {
    const { tasks, heartbeats } = this.workers.get(worker) as Worker;
    this.workers.delete(worker);
    this.ready.delete(worker);
    this.busy.delete(worker);
    this.heard.delete(worker);
    for (const d of tasks) this.dispatches.delete(d.sequence);
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
    for (let w; this.pending.length > 0 && (w = this.firstReady()) !== undefined; ) this.dispatch(w, this.pending.shift() as Request, now);
  }

  /**
   * Puts a request back in arrival order. Every request ever dispatched arrived before every
   * request that never was, so it goes among the few put back before it, near the front, and
   * the queue stays in arrival order: the oldest wait first, and the TTL sweep from the front
   * misses none.
   */
  private requeue(request: Request): void {
    this.stats.redispatched++;
    let at = 0;
    for (let queued; (queued = this.pending.at(at)) && queued.serial < request.serial; ) at++;
    this.pending.insertAt(at, request);
  }

  private firstReady(): string | undefined {
    for (const worker of this.ready) return worker;
    return undefined;
  }

  /** Sends a request to a worker with credit, or refuses it if it has outlived its TTL. */
  private dispatch(worker: string, request: Request, now: number): void {
    if (this.isExpired(request, now)) return this.end(request, 'expired');
    const state = this.workers.get(worker) as Worker;
    const dispatch: Dispatch = { sequence: ++this.sequence, worker, request };
    this.dispatches.set(dispatch.sequence, dispatch);
    state.tasks.push(dispatch);
    if (state.tasks.length === 1) this.busy.set(worker, now + this.options.answerTimeoutMs);
    // Round robin: a worker with credit left goes behind the others.
    this.ready.delete(worker);
    if (state.tasks.length < state.credit) this.ready.add(worker);
    this.stats.dispatched++;
    this.out.toWorker(worker, encodeTicket(this.options.instance, dispatch.sequence), request.body, request.client);
  }

  private isExpired(request: Request, now: number): boolean {
    return now - request.arrivedAt >= this.options.requestTtlMs;
  }

  private hold(request: Request): void {
    this.queueBytes += request.bytes;
    this.clientBytes.set(request.clientKey, (this.clientBytes.get(request.clientKey) ?? 0) + request.bytes);
  }

  private release(request: Request): void {
    this.queueBytes -= request.bytes;
    const left = (this.clientBytes.get(request.clientKey) as number) - request.bytes;
    if (left === 0) this.clientBytes.delete(request.clientKey);
    else this.clientBytes.set(request.clientKey, left);
  }

  /** An accepted request ends without an answer: release it and tell its client why. */
  private end(request: Request, reason: Refusal): void {
    this.release(request);
    this.refuse(request.client, reason);
  }

  private refuse(client: Buffer, reason: Refusal): void {
    this.stats.rejected[reason]++;
    this.out.refuse(client, reason);
  }

  private touch(worker: string, now: number): void {
    this.heard.delete(worker);
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
