import { DEFAULT_SERVICE, type ErrorReason } from '@tsr/protocol';
import type { Fifo } from './fifo';
import type { LinkedOrder } from './linked-order';

// The broker core's shapes and defaults: what it is given, what it tells, what it holds.

export interface BrokerOutput {
  /**
   * A request for `worker`; `client` is not sent (the ticket stands for it), only traced. `request`
   * is the core's record of it (its metadata's tag, its deadline, its dispatches so far), read-only.
   */
  toWorker(worker: string, ticket: Buffer, body: Buffer, client: Buffer, request: Readonly<Request>): void;
  /**
   * An answer for `client`: to an envelope request when `id` is set (its tag, handed back), else
   * plain. `arrivedAt` is when its request came in (the adapter measures latency with it);
   * `request` is undefined for the broker's own answers (discovery).
   */
  toClient(client: Buffer, id: Buffer | undefined, body: Buffer, arrivedAt: number, request?: Readonly<Request>): void;
  /**
   * The request is not, or no longer, going to be served: tell the client why, now. `detail` is
   * given where only the core knows it (the service name, the handler's message); `request` is
   * undefined for one refused on arrival.
   */
  refuse(client: Buffer, id: Buffer | undefined, reason: Refusal, detail?: string | number, request?: Readonly<Request>): void;
  /**
   * A request ended unanswered because its own deadline passed (its client stopped waiting):
   * dropped while it waited or on arrival (`queue`), or its worker's answer came too late (`answer`).
   */
  deadlinePassed?(request: Readonly<Request>, where: DeadlineDrop): void;
  /**
   * Whether the client of that routing id (latin1) is still connected: a request whose client is
   * gone when its turn comes is not dispatched (its answer could reach no one). Absent: always.
   */
  clientPresent?(clientKey: string): boolean;
  /** A request was dropped at its turn because its client's connection was gone. */
  abandoned?(request: Readonly<Request>): void;
  /** A request's worker left holding it (`why`): the request goes on (waits again, or ends as the next output says). */
  moved?(request: Readonly<Request>, why: Departure): void;
  /** A worker was declared failed and forgotten; `held` requests it had went on (for the log). */
  workerFailed(worker: string, why: Failure, held: number): void;
  /**
   * Leases (several brokers): the window `worker` lends us is now `window`, acknowledged. Sent after
   * every request dispatched before it, so the worker knows what came under the old window.
   */
  creditAck(worker: string, window: number): void;
  /** Leases: `worker`'s service has requests waiting and none of its window is left; it may lend more. */
  want(worker: string): void;
}

/** Why a worker is declared failed: it missed an answer deadline, fell silent, came back empty-handed, or lost its connection holding requests. */
export type Failure = 'deadline' | 'silent' | 'restarted' | 'disconnected';

export type Refusal = ErrorReason;

/** Where a request met its own deadline: waiting (or on arrival), or in service (its answer came too late). */
export type DeadlineDrop = 'queue' | 'answer';

/** What a request may carry beside its body: its own deadline, and the adapter's tag (its metadata, its spans). */
export interface RequestMeta {
  /** When its client stops waiting, on the core's clock; past it, the request is dropped unanswered. */
  deadline?: number;
  tag?: unknown;
}

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
  /**
   * A request not served within this long of its arrival is refused `expired` (whatever its own
   * deadline: a client's deadline shortens a request's wait, never lengthens it past this).
   */
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
 * A generated routing id (a leading zero byte, RFC 37): a peer that named none, given a new one
 * at every connection. Never admitted as a worker: one that reconnected would come back a stranger.
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

export const SEED_WORKER: WorkerTraits = { heartbeats: false, credit: 1, service: DEFAULT_SERVICE };

/** One service: its workers with credit left and its waiting requests. */
export interface Service {
  name: string;
  /**
   * Its workers with free credit, least recently used first: a worker with credit left after a
   * dispatch goes to the end (round robin).
   */
  ready: LinkedOrder<string, true>;
  /**
   * Requests waiting for one of its workers, in arrival order. Those dropped at their deadline
   * while others waited before them stay in place, marked `dropped`, until they reach the front,
   * which is always a live one (the queue is emptied when no live one is left).
   */
  pending: Fifo<Request>;
  /** Requests of `pending` that still wait (the dropped ones left out). */
  queued: number;
  /** Workers registered for it. */
  workers: number;
  /** Bytes its requests hold, waiting or in service. */
  bytes: number;
  /** Since when it has had no worker (meaningful while `workers` is 0): the no-service grace counts from it. */
  emptySince: number;
  /** Its workers that move credit and were not told since their last change that it wants more (see BrokerCore.want). */
  unwanted: Set<string>;
  /** Its workers that move credit (reminded of its queue with each heartbeat). */
  lessees: Set<string>;
}

export interface Request {
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
  /** Its client's deadline on the core's clock (Infinity: none, the TTL alone applies). */
  deadline: number;
  /** Its place in the core's heap of deadlines while it waits (-1: not there). */
  heapAt: number;
  /** Dropped from the queue at its deadline; still in `pending` behind a live one (see Service). */
  dropped: boolean;
  /** Times it was sent to a worker (2 and up: after a worker failed on it). */
  dispatches: number;
  /** The adapter's: given with the request, handed back with every output about it. */
  tag: unknown;
}

export interface Dispatch {
  sequence: number;
  worker: string;
  request: Request;
}

export interface Worker extends Omit<WorkerTraits, 'service'> {
  service: Service;
  /**
   * Moves its credit between brokers (a ready with credit 0, or a `TSR/1 CREDIT`): `credit` is then
   * the window it lends us now, and it may shrink below what it holds (nothing more goes to it until
   * it has answered enough).
   */
  leases: boolean;
  /** Its connection was handed over to a new one whose ready has not come yet: nothing is sent it meanwhile. */
  suspended: boolean;
  /** Its number among the workers admitted (below 2^32, unique among live ones): tickets carry it. */
  admission: number;
  /** Dispatches sent to it and not answered, oldest first (it serves them in order). */
  tasks: Dispatch[];
  /** When it last sent its ready or a reply (heartbeats are kept in `heard`). */
  repliedAt: number;
}

/** Why a worker leaves: a failure counts against the request it was serving; `gone` (goodbye) does not. */
export type Departure = Failure | 'gone';

/** What happened to a failed worker, in words (the log, and the spans of the requests it held). */
export const FAILURE_TEXT: Record<Failure, string> = {
  deadline: 'missed its answer deadline',
  silent: 'fell silent',
  restarted: 'came back without its requests',
  disconnected: 'lost its connection',
};

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
  /** Readies refused: a generated routing id, or the worker limit reached. */
  refusedWorkers: number;
  /** Windows workers moved (`TSR/1 CREDIT`), and demands for more sent to them (`TSR/1 WANT`). */
  credits: number;
  wants: number;
  /** Requests ended unanswered at their own deadline: dropped waiting (or on arrival), or their answer dropped as too late. */
  deadlinePassed: Record<DeadlineDrop, number>;
  /**
   * Requests dropped at their turn because their client's connection was gone (a Lazy Pirate
   * client that retried on a new connection, a client that quit): an answer could reach no one.
   */
  abandoned: number;
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
