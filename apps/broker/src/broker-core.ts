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
  /** A worker that has not replied this long after a dispatch is declared failed (seed: 2000). */
  answerTimeoutMs: number;
  /** A heartbeating worker not heard from this long is dropped (its task, if any, goes elsewhere). */
  livenessMs: number;
  /** Requests that may wait for a worker; past that a client gets `OVERLOADED` at once. */
  maxPending: number;
  /** How many failed worker ids are remembered to drop their late replies; the oldest are forgotten. */
  failedMemory: number;
}

export const defaultCoreOptions: BrokerCoreOptions = { answerTimeoutMs: 2000, livenessMs: 3000, maxPending: 100_000, failedMemory: 10_000 };

interface Request {
  client: Buffer;
  body: Buffer;
}

interface Task extends Request {
  deadline: number;
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
  /** Ready workers; a Set keeps insertion order, so the first is the least recently used. */
  private readonly ready = new Set<string>();
  /**
   * Busy workers and their task. Every deadline is dispatch time + the same timeout and a
   * re-dispatch re-inserts, so the Map's insertion order is deadline order: the first entry expires first.
   */
  private readonly working = new Map<string, Task>();
  private readonly pending = new Fifo<Request>();
  /** Workers declared failed, oldest first: their late replies are dropped, never forwarded. */
  private readonly failed = new Set<string>();
  /**
   * Heartbeating workers and when each was last heard from. Every contact re-inserts the worker,
   * so the Map's order is last-heard order: the first entry is the first to fall silent.
   */
  private readonly heard = new Map<string, number>();
  readonly stats: BrokerStats = { requests: 0, replies: 0, dispatched: 0, redispatched: 0, workerFailures: 0, lateReplies: 0, workersLost: 0, rejected: 0 };

  constructor(
    private readonly out: BrokerOutput,
    private readonly options: BrokerCoreOptions = defaultCoreOptions,
  ) {}

  /** A client request: to the least recently used ready worker, else to the end of the queue. */
  clientRequest(client: Buffer, body: Buffer, now: number): void {
    this.stats.requests++;
    const worker = this.takeReadyWorker();
    if (worker !== undefined) this.dispatch(worker, client, body, now);
    else if (this.pending.length < this.options.maxPending) this.pending.push({ client, body });
    else {
      this.stats.rejected++;
      this.out.overloaded(client);
    }
  }

  /**
   * A worker announces itself. If it was busy it has restarted under the same id: its task is lost
   * with it and goes to another worker now rather than at the deadline.
   */
  workerReady(worker: string, now: number, heartbeats = false): void {
    const lost = this.working.get(worker);
    if (lost) this.failTask(worker, lost, now, false);
    this.failed.delete(worker);
    if (heartbeats) this.touch(worker, now);
    if (!this.ready.has(worker)) this.workerFree(worker, now);
  }

  /**
   * A heartbeat keeps a known worker alive. One from a worker this broker does not know (it
   * announced itself to a previous instance) is ignored: hearing no heartbeats back, that
   * worker reconnects and announces itself again.
   */
  workerHeartbeat(worker: string, now: number): void {
    if (this.heard.has(worker)) this.touch(worker, now);
  }

  /** A worker says it is stopping: forget it, and its request (if any) goes to another worker now. */
  workerGone(worker: string, now: number): void {
    this.heard.delete(worker);
    this.ready.delete(worker);
    const task = this.working.get(worker);
    if (task) this.failTask(worker, task, now, false);
  }

  /** Workers to send a heartbeat to: those that announced they speak them. */
  heartbeatingWorkers(): IterableIterator<string> {
    return this.heard.keys();
  }

  /**
   * A worker answers. In time: the reply goes to its client. From a worker declared failed: dropped
   * (the request was sent elsewhere), but the worker has shown it is alive and free, so it rejoins.
   * From a worker this broker never dispatched to (e.g. one that served a previous broker instance),
   * or for a client other than the one of its current task (an answer that crossed a reconnect):
   * forwarded as the seed does, since its client may still wait for it; a REQ client drops an
   * answer it no longer expects, so no client ever sees two.
   */
  workerReply(worker: string, client: Buffer, body: Buffer, now: number): void {
    if (this.heard.has(worker)) this.touch(worker, now);
    if (this.failed.delete(worker)) {
      this.stats.lateReplies++;
    } else {
      this.stats.replies++;
      this.out.toClient(client, body);
      const task = this.working.get(worker);
      if (task && !task.client.equals(client)) return; // its current task goes on
      this.working.delete(worker);
    }
    if (!this.ready.has(worker)) this.workerFree(worker, now);
  }

  /**
   * Declares failed every busy worker whose deadline has passed and every heartbeating worker
   * silent for longer than the liveness window; their requests go to other workers.
   */
  expire(now: number): void {
    for (const [worker, last] of this.heard) {
      if (last + this.options.livenessMs > now) break; // last-heard order: the rest are fresher
      this.heard.delete(worker);
      this.stats.workersLost++;
      this.ready.delete(worker);
      const task = this.working.get(worker);
      if (task) this.failTask(worker, task, now, true);
    }
    for (const [worker, task] of this.working) {
      if (task.deadline > now) break; // deadline order: the rest are later
      this.failTask(worker, task, now, true);
    }
  }

  /** When `expire` next has work to do, for the adapter's single timer. */
  nextDeadline(): number | undefined {
    let next: number | undefined;
    for (const task of this.working.values()) {
      next = task.deadline;
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
    return this.working.size;
  }
  get pendingCount(): number {
    return this.pending.length;
  }
  isFailed(worker: string): boolean {
    return this.failed.has(worker);
  }
  /** Ids the core holds anywhere: bounded by live workers plus `failedMemory`. */
  get trackedIds(): number {
    return this.ready.size + this.working.size + this.failed.size + this.heard.size;
  }

  private touch(worker: string, now: number): void {
    this.heard.delete(worker);
    this.heard.set(worker, now);
  }

  private failTask(worker: string, task: Task, now: number, timedOut: boolean): void {
    this.working.delete(worker);
    if (timedOut) {
      this.stats.workerFailures++;
      this.rememberFailed(worker);
    }
    this.stats.redispatched++;
    // The request has waited longest of all: it goes first.
    const next = this.takeReadyWorker();
    if (next === undefined) this.pending.pushFront({ client: task.client, body: task.body });
    else this.dispatch(next, task.client, task.body, now);
  }

  /** A free worker takes the oldest pending request or joins the end of the ready queue. */
  private workerFree(worker: string, now: number): void {
    const request = this.pending.shift();
    if (request) this.dispatch(worker, request.client, request.body, now);
    else this.ready.add(worker);
  }

  private takeReadyWorker(): string | undefined {
    for (const worker of this.ready) {
      this.ready.delete(worker);
      return worker;
    }
    return undefined;
  }

  private dispatch(worker: string, client: Buffer, body: Buffer, now: number): void {
    this.working.set(worker, { client, body, deadline: now + this.options.answerTimeoutMs });
    this.stats.dispatched++;
    this.out.toWorker(worker, client, body);
  }

  private rememberFailed(worker: string): void {
    this.failed.add(worker);
    if (this.failed.size > this.options.failedMemory) {
      for (const oldest of this.failed) {
        this.failed.delete(oldest);
        break;
      }
    }
  }
}
