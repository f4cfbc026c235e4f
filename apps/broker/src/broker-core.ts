import { Fifo } from './fifo';

/**
 * The seed's fault-tolerant broker as a pure state machine: no sockets, no timers.
 * Time comes in as `now` (milliseconds, any monotonic origin); messages go out through `BrokerOutput`.
 * Workers are keyed by their routing id as a latin1 string (a lossless byte-to-string mapping).
 */
export interface BrokerOutput {
  toWorker(worker: string, client: Buffer, body: Buffer): void;
  toClient(client: Buffer, body: Buffer): void;
  /** The pending queue is full: tell the client now rather than let it wait. */
  overloaded(client: Buffer): void;
}

export interface BrokerCoreOptions {
  /**
   * A worker holding requests that makes no progress (no reply) for this long is declared failed
   * and its requests go elsewhere (seed: 2000 ms after the dispatch of its one request).
   */
  answerTimeoutMs: number;
  /** A heartbeating worker not heard from this long is dropped (its requests go elsewhere). */
  livenessMs: number;
  /** Requests that may wait for a worker; past that a client gets `OVERLOADED` at once. */
  maxPending: number;
  /** How many failed worker ids are remembered to drop their late replies; the oldest are forgotten. */
  failedMemory: number;
}

export const defaultCoreOptions: BrokerCoreOptions = { answerTimeoutMs: 2000, livenessMs: 3000, maxPending: 100_000, failedMemory: 10_000 };

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
  body: Buffer;
}

interface Worker extends WorkerTraits {
  /** Requests sent to it and not answered, oldest first (it serves them in order). */
  tasks: Request[];
}

/** A worker declared failed: how many late replies to drop before it may rejoin, and as what. */
interface Failed extends WorkerTraits {
  late: number;
}

export interface BrokerStats {
  requests: number;
  replies: number;
  dispatched: number;
  redispatched: number;
  workerFailures: number;
  lateReplies: number;
  /** Heartbeating workers dropped because they fell silent. */
  workersLost: number;
  /** Requests turned away because the pending queue was full. */
  rejected: number;
}

export class BrokerCore {
  /** Live workers, ready or busy. */
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
  private readonly pending = new Fifo<Request>();
  /** Workers declared failed, oldest first: their late replies are dropped, never forwarded. */
  private readonly failed = new Map<string, Failed>();
  /** Heartbeating workers and when each was last heard from, in last-heard order (as `busy`). */
  private readonly heard = new Map<string, number>();
  readonly stats: BrokerStats = { requests: 0, replies: 0, dispatched: 0, redispatched: 0, workerFailures: 0, lateReplies: 0, workersLost: 0, rejected: 0 };

  constructor(
    private readonly out: BrokerOutput,
    private readonly options: BrokerCoreOptions = defaultCoreOptions,
  ) {}

  /** A client request: to the least recently used worker with credit, else to the end of the queue. */
  clientRequest(client: Buffer, body: Buffer, now: number): void {
    this.stats.requests++;
    const worker = this.firstReady();
    if (worker !== undefined) this.dispatch(worker, { client, body }, now);
    else if (this.pending.length < this.options.maxPending) this.pending.push({ client, body });
    else {
      this.stats.rejected++;
      this.out.overloaded(client);
    }
  }

  /**
   * A worker announces itself. If it held requests it has restarted under the same id: they are
   * lost with it and go to other workers now rather than at the deadline.
   */
  workerReady(worker: string, now: number, traits: WorkerTraits = SEED_WORKER): void {
    this.failed.delete(worker);
    if (traits.heartbeats) this.touch(worker, now);
    const known = this.workers.get(worker);
    if (known && known.tasks.length === 0 && known.credit === traits.credit) return; // already ready
    if (known) this.forget(worker, false, now);
    this.join(worker, traits, now);
  }

  /**
   * A heartbeat keeps a known worker alive. One from a worker this broker does not know (it
   * announced itself to a previous instance) is ignored: hearing no heartbeats back, that
   * worker reconnects and announces itself again.
   */
  workerHeartbeat(worker: string, now: number): void {
    if (this.heard.has(worker)) this.touch(worker, now);
  }

  /** A worker says it is stopping: forget it, and its requests go to other workers now. */
  workerGone(worker: string, now: number): void {
    this.heard.delete(worker);
    this.failed.delete(worker);
    if (this.workers.has(worker)) this.forget(worker, false, now);
  }

  /** Workers to send a heartbeat to: those that announced they speak them. */
  heartbeatingWorkers(): IterableIterator<string> {
    return this.heard.keys();
  }

  /**
   * A worker answers. In time: the reply goes to its client. From a worker declared failed:
   * dropped (its requests were sent elsewhere); once all its late replies are in, the worker has
   * shown it is alive and free, so it rejoins. From a worker this broker never dispatched to
   * (e.g. one that served a previous broker instance), or for a client none of its requests came
   * from (an answer that crossed a reconnect): forwarded as the seed does, since that client may
   * still wait for it. Such an answer may duplicate one the client already has: our client
   * accepts only an answer to the request it sent (`isAnswerTo`), so none sees two.
   */
  workerReply(worker: string, client: Buffer, body: Buffer, now: number): void {
    if (this.heard.has(worker)) this.touch(worker, now);
    const failed = this.failed.get(worker);
    if (failed) {
      this.stats.lateReplies++;
      if (--failed.late === 0) {
        this.failed.delete(worker);
        this.join(worker, failed, now);
      }
      return;
    }
    this.stats.replies++;
    this.out.toClient(client, body);
    const known = this.workers.get(worker);
    if (!known) return this.join(worker, SEED_WORKER, now);
    const index = known.tasks.findIndex((t) => t.client.equals(client));
    if (index < 0) return; // an answer from before a reconnect: its current requests go on
    known.tasks.splice(index, 1);
    this.busy.delete(worker);
    if (known.tasks.length > 0) this.busy.set(worker, now + this.options.answerTimeoutMs); // progress
    this.refill(worker, known, now);
  }

  /**
   * Declares failed every busy worker past its deadline and drops every heartbeating worker
   * silent for longer than the liveness window; their requests go to other workers.
   */
  expire(now: number): void {
    for (const [worker, last] of this.heard) {
      if (last + this.options.livenessMs > now) break; // last-heard order: the rest are fresher
      this.heard.delete(worker);
      if (!this.workers.has(worker)) continue; // failed already, or gone
      this.stats.workersLost++;
      this.forget(worker, true, now);
    }
    for (const [worker, deadline] of this.busy) {
      if (deadline > now) break; // deadline order: the rest are later
      this.forget(worker, true, now);
    }
  }

  /** When `expire` next has work to do, for the adapter's single timer. */
  nextDeadline(): number | undefined {
    let next: number | undefined;
    for (const deadline of this.busy.values()) {
      next = deadline;
      break;
    }
    for (const last of this.heard.values()) {
      next = Math.min(next ?? Infinity, last + this.options.livenessMs);
      break;
    }
    return next;
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
  isFailed(worker: string): boolean {
    return this.failed.has(worker);
  }
  /** Ids the core holds anywhere: bounded by live workers plus `failedMemory`. */
  get trackedIds(): number {
    return this.workers.size + this.failed.size + this.heard.size;
  }

  /** A free worker takes waiting requests up to its credit; with credit left it is ready. */
  private join(worker: string, traits: WorkerTraits, now: number): void {
    const state: Worker = { heartbeats: traits.heartbeats, credit: traits.credit, tasks: [] };
    this.workers.set(worker, state);
    this.refill(worker, state, now);
  }

  private refill(worker: string, state: Worker, now: number): void {
    for (let request; state.tasks.length < state.credit && (request = this.pending.shift()); ) this.dispatch(worker, request, now);
    if (state.tasks.length < state.credit) this.ready.add(worker);
  }

  /**
   * Removes a worker and sends its requests elsewhere, ahead of every waiting request. When it
   * `failed` (deadline or silence) its late replies are to be dropped and it is counted.
   */
  private forget(worker: string, failed: boolean, now: number): void {
    const state = this.workers.get(worker) as Worker;
    this.workers.delete(worker);
    this.ready.delete(worker);
    this.busy.delete(worker);
    const { tasks } = state;
    if (failed) {
      this.stats.workerFailures++;
      this.rememberFailed(worker, { heartbeats: state.heartbeats, credit: state.credit, late: tasks.length });
    }
    this.stats.redispatched += tasks.length;
    for (let i = tasks.length - 1; i >= 0; i--) this.pending.pushFront(tasks[i]);
    for (let w; this.pending.length > 0 && (w = this.firstReady()) !== undefined; ) this.dispatch(w, this.pending.shift() as Request, now);
  }

  private firstReady(): string | undefined {
    for (const worker of this.ready) return worker;
    return undefined;
  }

  private dispatch(worker: string, request: Request, now: number): void {
    const state = this.workers.get(worker) as Worker;
    state.tasks.push(request);
    if (state.tasks.length === 1) this.busy.set(worker, now + this.options.answerTimeoutMs);
    // Round robin: a worker with credit left goes behind the others.
    this.ready.delete(worker);
    if (state.tasks.length < state.credit) this.ready.add(worker);
    this.stats.dispatched++;
    this.out.toWorker(worker, request.client, request.body);
  }

  private touch(worker: string, now: number): void {
    this.heard.delete(worker);
    this.heard.set(worker, now);
  }

  private rememberFailed(worker: string, failed: Failed): void {
    if (failed.late === 0) return; // nothing late can come: a silent idle worker is just gone
    this.failed.set(worker, failed);
    if (this.failed.size > this.options.failedMemory) {
      for (const oldest of this.failed.keys()) {
        this.failed.delete(oldest);
        break;
      }
    }
  }
}
