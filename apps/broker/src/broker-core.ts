import { DEFAULT_SERVICE, DISCOVERY_SERVICE, type ServiceInfo, ERROR_REASONS, decodeTicket, encodeTicket } from '@tsr/protocol';
import {
  type BrokerCoreOptions,
  type BrokerLoad,
  type BrokerOutput,
  type BrokerStats,
  type DeadlineDrop,
  type Departure,
  type Dispatch,
  type Refusal,
  type Request,
  type RequestMeta,
  SEED_WORKER,
  type Service,
  type Worker,
  type WorkerSnapshot,
  type WorkerTraits,
  isGeneratedId,
} from './broker-core-shapes';
import { ClientShares } from './client-shares';
import { DeadlineHeap } from './deadline-heap';
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
 *   workers), no worker for its service after a grace period, or its handler failed; or, for a
 *   request with a deadline of its own, dropped unanswered once that deadline passes (its client
 *   has stopped waiting): never dispatched past it, and its answer not forwarded past it; or, when
 *   its turn comes and its client's connection is gone, dropped (its answer could reach no one).
 */
export class BrokerCore {
  /** Live workers, ready or busy: only a ready puts one here. */
  protected readonly workers = new Map<string, Worker>();
  /** Services with a worker or a request; the others are forgotten. */
  protected readonly services = new Map<string, Service>();
  /** Services with requests waiting: the TTL and grace sweeps look only at these. */
  protected readonly waiting = new LinkedOrder<Service, true>();
  /** Waiting requests with a deadline of their own, the first to end first. */
  protected readonly deadlines = new DeadlineHeap<Request>();
  /**
   * Workers holding requests, with the deadline of their next reply. Progress moves a worker to
   * the back and every deadline is now + the same timeout, so the order is deadline order: the
   * first expires first.
   */
  protected readonly busy = new LinkedOrder<string, number>();
  /** Heartbeating workers and when each was last heard from, in last-heard order (as `busy`). */
  protected readonly heard = new LinkedOrder<string, number>();
  /** Live workers by admission number: a reply's ticket names the worker whose tasks hold its dispatch. */
  protected readonly admitted = new Map<number, Worker>();
  private lastAdmission = 0;
  /** Dispatches awaiting a reply, all workers together. */
  protected inService = 0;
  /** Failed seed workers and the dispatch they failed on: that reply is their next ready. */
  protected readonly failedSeeds = new Map<string, number>();
  /** Bytes held per client, for the fair share. */
  protected readonly clientBytes = new ClientShares();
  protected queueBytes = 0;
  protected pendingTotal = 0;
  protected readyTotal = 0;
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
    credits: 0,
    wants: 0,
    deadlinePassed: { queue: 0, answer: 0 },
    abandoned: 0,
  };

  constructor(
    private readonly out: BrokerOutput,
    protected readonly options: BrokerCoreOptions,
  ) {}

  /**
   * A client request for `service` (`id`: its envelope tag, undefined for a plain request): to
   * the least recently used worker of that service with credit, else to the end of its queue.
   * `meta`: its own deadline, if it has one, and the adapter's tag.
   */
  clientRequest(client: Buffer, body: Buffer, now: number, service = DEFAULT_SERVICE, id?: Buffer, meta?: RequestMeta): void {
    this.stats.requests++;
    if (service === DISCOVERY_SERVICE) return this.discover(client, id, body, now);
    const deadline = meta?.deadline ?? Infinity;
    if (body.length > this.options.maxRequestBytes) return this.refuse(client, id, 'too-large');
    const clientKey = client.toString('latin1');
    const bytes = body.length + client.length;
    if (this.queueBytes + bytes > this.options.maxQueueBytes) return this.refuse(client, id, 'overloaded');
    if (this.clientBytes.get(clientKey) + bytes > this.options.maxClientBytes) return this.refuse(client, id, 'client-share');
    const svc = this.services.get(service) ?? this.openService(service, now);
    if (!svc) return this.refuse(client, id, 'overloaded');
    const worker = svc.ready.first();
    if (svc.bytes + bytes > this.options.maxServiceBytes || (worker === undefined && svc.queued >= this.options.maxPending)) {
      this.closeIfIdle(svc);
      return this.refuse(client, id, 'overloaded');
    }
    const request: Request = {
      client,
      id,
      service: svc,
      clientKey,
      body,
      bytes,
      arrivedAt: now,
      serial: this.stats.requests,
      failures: 0,
      deadline,
      heapAt: -1,
      dropped: false,
      dispatches: 0,
      tag: meta?.tag,
    };
    if (now >= deadline) {
      // its client has given up already (it sent no time left): nothing is held for it
      this.closeIfIdle(svc);
      return this.deadlinePassed(request, 'queue');
    }
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
    if (
      known &&
      known.tasks.length === 0 &&
      !known.suspended &&
      known.heartbeats === traits.heartbeats &&
      known.credit === traits.credit &&
      known.service.name === serviceName
    ) {
      if (traits.heartbeats) this.touch(worker, now);
      return; // already ready
    }
    if (known) this.leave(worker, known.tasks.length > 0 ? 'restarted' : 'gone', now);
    this.failedSeeds.delete(worker); // it is back: no late reply needs to resume it
    const service =
      this.workers.size < this.options.maxWorkers ? (this.services.get(serviceName) ?? this.openService(serviceName, now)) : undefined;
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

  /**
   * Leases (several brokers): the worker lends us `window` requests from now on. A larger window is
   * used at once; a smaller one takes effect for the next dispatch (what it holds beyond it stays
   * its to answer). Acknowledged after the dispatches it allowed, so the worker knows what came
   * under which window; a worker this broker does not know is ignored (it announces itself again).
   */
  workerCredit(worker: string, window: number, now: number): void {
    const state = this.workers.get(worker);
    if (state === undefined) return;
    if (this.heard.has(worker)) this.touch(worker, now);
    this.stats.credits++;
    state.leases = true;
    state.service.lessees.add(worker);
    state.credit = window;
    if (state.tasks.length >= window) this.unmarkReady(state.service, worker);
    this.refill(worker, state, now);
    this.out.creditAck(worker, window);
    state.service.unwanted.add(worker);
    if (state.service.queued > 0) this.want(state.service);
  }

  /**
   * The worker's connection is gone: closed, or (`replaced`) handed over to a new connection under
   * its id. A worker that speaks TSR/1 announces itself on each connection it makes. Closed, it is
   * forgotten now, and what it held goes to other workers at once (a failure when it held any: it
   * may have crashed on it). Replaced, nothing more is sent it until the ready of its new
   * connection (what came before would come under the old window); what it holds stays its own to
   * answer, under its deadline. A seed worker stays as it is: a REQ socket that reconnects can only
   * wait for a request.
   */
  workerDisconnected(worker: string, now: number, replaced = false): void {
    const state = this.workers.get(worker);
    if (!state?.heartbeats) return;
    if (!replaced) return this.leave(worker, state.tasks.length > 0 ? 'disconnected' : 'gone', now);
    state.suspended = true;
    this.unmarkReady(state.service, worker);
  }

  /** Workers to send a heartbeat to: live ones that announced they speak them. */
  heartbeatingWorkers(): IterableIterator<string> {
    return this.heard.keys();
  }

  /**
   * Workers to remind, with each heartbeat, that requests of their service wait here (`TSR/1 WANT`):
   * those that move credit, of every service with a queue (all of them at their window: one with
   * window left would have taken the request). A worker believes a demand only for a while, so one
   * that stops coming means the queue is gone. O(such workers).
   */
  *demand(): Generator<string> {
    for (const service of this.waiting.keys())
      for (const worker of service.lessees) {
        if ((this.workers.get(worker) as Worker).suspended) continue;
        this.stats.wants++;
        yield worker;
      }
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
        const service =
          this.workers.has(worker) || this.workers.size >= this.options.maxWorkers
            ? undefined
            : (this.services.get(DEFAULT_SERVICE) ?? this.openService(DEFAULT_SERVICE, now));
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
    if (now >= request.deadline) this.deadlinePassed(request, 'answer');
    else if (failed) this.refuse(request.client, request.id, 'handler', body.toString('utf8'), request);
    else {
      this.stats.replies++;
      this.out.toClient(request.client, request.id, body, request.arrivedAt, request);
    }
    if (state.tasks.length > 0)
      this.busy.set(worker, now + this.options.answerTimeoutMs); // progress
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
    for (let worker; (worker = this.busy.first()) !== undefined && (this.busy.get(worker) as number) <= now; )
      this.leave(worker, 'deadline', now);
    for (let r; (r = this.deadlines.peek()) !== undefined && r.deadline <= now; ) this.dropWaiting(r);
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
    let next = Math.min(this.busy.firstValue() ?? Infinity, this.deadlines.peek()?.deadline ?? Infinity);
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
        return { name: s.name, workers: s.workers, ready: s.workers - held, busy: held, waiting: s.queued };
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

  /** The broker's own answer to `tsr.services`: what discovery knows, as JSON (body: one name, or empty for all). */
  private discover(client: Buffer, id: Buffer | undefined, body: Buffer, now: number): void {
    this.stats.discoveries++;
    const only = body.length > 0 ? body.toString('latin1') : undefined;
    this.out.toClient(client, id, Buffer.from(JSON.stringify(this.serviceSnapshot(only))), now);
  }

  /** A new service, or undefined when `maxServices` are tracked already. */
  private openService(name: string, now: number): Service | undefined {
    if (this.services.size >= this.options.maxServices) return undefined;
    const service: Service = {
      name,
      ready: new LinkedOrder(),
      pending: new Fifo(),
      queued: 0,
      workers: 0,
      bytes: 0,
      emptySince: now,
      unwanted: new Set(),
      lessees: new Set(),
    };
    this.services.set(name, service);
    return service;
  }

  /** Forgets a service with no worker and no request: unknown names cannot pile up. */
  private closeIfIdle(service: Service): void {
    if (service.workers !== 0 || service.queued !== 0) return;
    this.services.delete(service.name);
    this.waiting.forget(service);
  }

  /**
   * When the front request of a waiting queue must end: its TTL, or while its service has no
   * worker, its grace (counted from its arrival or the service's last worker leaving, whichever
   * is later, and never before the broker's startup grace is over).
   */
  protected frontEnds(service: Service, front: Request): number {
    const ttl = front.arrivedAt + this.options.requestTtlMs;
    if (service.workers > 0) return ttl;
    const grace = Math.max(
      Math.max(front.arrivedAt, service.emptySince) + this.options.serviceGraceMs,
      this.options.startedAt + this.options.startupGraceMs,
    );
    return Math.min(ttl, grace);
  }

  /** A free worker takes waiting requests up to its credit; with credit left it is ready. */
  private join(worker: string, traits: Omit<WorkerTraits, 'service'>, service: Service, now: number): void {
    const state: Worker = {
      heartbeats: traits.heartbeats,
      credit: traits.credit,
      leases: traits.credit === 0,
      suspended: false,
      service,
      admission: this.admit(),
      tasks: [],
      repliedAt: now,
    };
    this.workers.set(worker, state);
    this.admitted.set(state.admission, state);
    service.workers++;
    this.refill(worker, state, now);
    if (!state.leases) return;
    service.lessees.add(worker);
    service.unwanted.add(worker);
    if (service.queued > 0) this.want(service);
  }

  /**
   * Its queue has requests and no worker of the service has window left: each worker that moves
   * credit is told once (until it changes its window), so that one serving other brokers lends
   * this one more. Every worker is at its window here: one with window left would have taken the
   * request. O(workers told): a worker already told is not looked at again.
   */
  private want(service: Service): void {
    for (const worker of service.unwanted) {
      this.stats.wants++;
      this.out.want(worker);
    }
    service.unwanted.clear();
  }

  private refill(worker: string, state: Worker, now: number): void {
    if (state.suspended) return;
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
    service.unwanted.delete(worker);
    service.lessees.delete(worker);
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
      this.out.moved?.(request, why);
      if (now >= request.deadline) {
        this.release(request);
        this.deadlinePassed(request, 'queue');
      } else if (request.failures >= this.options.maxFailures) this.end(request, 'poison');
      else if (this.isExpired(request, now)) this.end(request, 'expired');
      else this.requeue(request);
    }
    for (let w, r; (w = service.ready.first()) !== undefined && (r = this.dequeue(service)); ) this.dispatch(w, r, now);
    if (service.queued > 0) this.want(service);
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
    this.queued(request);
  }

  private enqueue(request: Request): void {
    request.service.pending.push(request);
    this.queued(request);
    this.want(request.service);
  }

  private queued(request: Request): void {
    const { service } = request;
    this.pendingTotal++;
    service.queued++;
    if (request.deadline !== Infinity) this.deadlines.push(request);
    if (!this.waiting.has(service)) this.waiting.set(service, true);
  }

  /** The front request of a service's queue, out of it; the front is live again after it. */
  private dequeue(service: Service): Request | undefined {
    const request = service.pending.shift();
    if (request === undefined) return undefined;
    this.deadlines.remove(request);
    this.unqueued(service);
    return request;
  }

  /** One live request fewer in the queue: the dropped ones that reach the front go, and an empty queue is no longer waiting. */
  private unqueued(service: Service): void {
    this.pendingTotal--;
    if (--service.queued === 0) {
      service.pending.clear();
      this.waiting.delete(service);
    } else while (service.pending.peek()?.dropped) service.pending.shift();
  }

  /** A waiting request's deadline passed: it leaves the queue unanswered (marked, where live ones are ahead of it). */
  private dropWaiting(request: Request): void {
    this.deadlines.remove(request);
    request.dropped = true;
    this.release(request);
    this.deadlinePassed(request, 'queue');
    const { service } = request;
    this.unqueued(service);
    this.closeIfIdle(service);
  }

  private deadlinePassed(request: Request, where: DeadlineDrop): void {
    this.stats.deadlinePassed[where]++;
    this.out.deadlinePassed?.(request, where);
  }

  private markReady(service: Service, worker: string): void {
    if (service.ready.has(worker)) return;
    service.ready.set(worker, true);
    this.readyTotal++;
  }

  private unmarkReady(service: Service, worker: string): void {
    if (service.ready.delete(worker)) this.readyTotal--;
  }

  /** Sends a request to a worker with credit; one past its deadline is dropped, one past its TTL refused. */
  private dispatch(worker: string, request: Request, now: number): void {
    if (now >= request.deadline) {
      this.release(request);
      return this.deadlinePassed(request, 'queue');
    }
    if (this.isExpired(request, now)) return this.end(request, 'expired');
    if (this.out.clientPresent && !this.out.clientPresent(request.clientKey)) {
      this.release(request);
      this.stats.abandoned++;
      return this.out.abandoned?.(request);
    }
    request.dispatches++;
    const state = this.workers.get(worker) as Worker;
    const dispatch: Dispatch = { sequence: ++this.sequence, worker, request };
    state.tasks.push(dispatch);
    this.inService++;
    if (state.tasks.length === 1) this.busy.set(worker, now + this.options.answerTimeoutMs);
    // Round robin: a worker with credit left goes behind the others.
    this.unmarkReady(state.service, worker);
    if (state.tasks.length < state.credit) this.markReady(state.service, worker);
    this.stats.dispatched++;
    this.out.toWorker(
      worker,
      encodeTicket(this.options.instance, state.admission, dispatch.sequence),
      request.body,
      request.client,
      request,
    );
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
    this.refuse(request.client, request.id, reason, reason === 'no-service' ? request.service.name : undefined, request);
  }

  private refuse(client: Buffer, id: Buffer | undefined, reason: Refusal, detail?: string, request?: Request): void {
    this.stats.rejected[reason]++;
    this.out.refuse(client, id, reason, detail, request);
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
