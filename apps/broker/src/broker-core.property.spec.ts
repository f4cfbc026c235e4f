import fc from 'fast-check';
import { DEFAULT_SERVICE, DISCOVERY_SERVICE, type ServiceInfo, TICKET_BYTES } from '@tsr/protocol';
import { type BrokerCoreOptions, type BrokerStats, defaultCoreOptions } from './broker-core-shapes';
import { AuditedBrokerCore } from './__fixtures__/audited-core';

/**
 * Model-based tests of the broker core: fast-check generates interleavings of client requests
 * (plain, and envelope requests to named services), readies (seed and TSR/1, with credit, for a
 * service), heartbeats, goodbyes, replies (honest, failed handlers, late, duplicated, from the
 * wrong worker, from libzmq-generated ghost ids, with garbage tickets), discovery requests, the
 * passing of time and broker restarts (a fresh core while the old workers keep answering with
 * old tickets). After every step the core's own audit must hold (queues per service in arrival
 * order, bytes per client and per service within bounds, no request past its TTL or its
 * service's grace), every request must go to a worker of its own service, and every answer a
 * client gets must answer a request that client sent to this very instance, with its id, once,
 * from a worker it was sent to. The graces are checked against a model of their own, from what
 * the clients and workers saw (not from the core's deadlines): `no-service` never before the
 * grace has run from the request's arrival, from the last moment its service was seen with a
 * worker, and from the instance's start (each restart starts its own); and never later than the
 * first expiry after all three. Some requests carry a deadline of their own (a client's remaining
 * time): one is never dispatched, nor its answer forwarded, at or past it; it is never dropped
 * before it; and none waits past it after an expiry. At the end one honest worker per service
 * drains the broker: every request the current instance accepted must have been answered, refused
 * or dropped at its deadline, or at its turn while its client's connection was gone (clients
 * come and go: a request of a gone client is never dispatched). A failure prints a seed; FC_SEED=<seed> replays it.
 */

const WORKERS = ['W0', 'W1', 'W2', 'W3', 'W4'];
const GHOST = '\u0000\u006b\u008b\u0045\u0067'; // a generated routing id (leading zero byte, RFC 37)
const CLIENTS = ['C0', 'C1', 'C2'];
/** More services than the broker may track at once. */
const SERVICES = ['default', 'svc-a', 'svc-b', 'svc-c'];

const options: Omit<BrokerCoreOptions, 'instance'> = {
  ...defaultCoreOptions,
  answerTimeoutMs: 1000,
  livenessMs: 1500,
  maxPending: 4,
  maxQueueBytes: 1500,
  maxClientBytes: 600,
  maxServiceBytes: 1000,
  maxServices: 3,
  serviceGraceMs: 800,
  startupGraceMs: 1200,
  maxRequestBytes: 250,
  requestTtlMs: 5000,
  maxFailures: 2,
  maxWorkers: 4,
  failedMemory: 3,
};

type Command =
  | { kind: 'request'; client: number; size: number; service: number; envelope: boolean; timeout: number | undefined }
  | { kind: 'discover'; client: number }
  | { kind: 'ready'; worker: number; heartbeats: boolean; credit: number; service: number }
  | { kind: 'ghost-ready' }
  | { kind: 'heartbeat'; worker: number }
  | { kind: 'credit'; worker: number; window: number }
  | { kind: 'goodbye'; worker: number }
  | { kind: 'reply'; worker: number; pick: number; as: 'itself' | 'next-worker' | 'ghost'; failed: boolean }
  | { kind: 'garbage-reply'; worker: number; bytes: Uint8Array }
  | { kind: 'tick'; ms: number }
  | { kind: 'late-reply'; worker: number; pick: number }
  | { kind: 'client-connection'; client: number; connected: boolean }
  | { kind: 'restart' };

const index = (n: number) => fc.integer({ min: 0, max: n - 1 });
const command: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('request' as const),
      client: index(CLIENTS.length),
      size: fc.integer({ min: 0, max: 300 }),
      service: index(SERVICES.length),
      envelope: fc.boolean(),
      // short ones as well: a dispatch's answer must come late now and then
      timeout: fc.option(fc.oneof(fc.integer({ min: 0, max: 1500 }), fc.integer({ min: 0, max: 6000 })), { nil: undefined, freq: 2 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('discover' as const), client: index(CLIENTS.length) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('ready' as const),
      worker: index(WORKERS.length),
      heartbeats: fc.boolean(),
      credit: fc.integer({ min: 0, max: 3 }),
      service: index(SERVICES.length),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'ghost-ready' as const }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('credit' as const), worker: index(WORKERS.length), window: fc.integer({ min: 0, max: 3 }) }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('heartbeat' as const), worker: index(WORKERS.length) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('goodbye' as const), worker: index(WORKERS.length) }) },
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('reply' as const),
      worker: index(WORKERS.length),
      pick: fc.nat(),
      as: fc.constantFrom('itself' as const, 'itself' as const, 'itself' as const, 'next-worker' as const, 'ghost' as const),
      failed: fc.integer({ min: 0, max: 4 }).map((n) => n === 0),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('garbage-reply' as const),
      worker: index(WORKERS.length),
      bytes: fc.uint8Array({ minLength: 0, maxLength: TICKET_BYTES + 2 }),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 2500 }) }) },
  // Time moves to the deadline of a request a worker holds, then the worker answers it: what a
  // random tick and reply reach only a few times in 300 runs.
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('late-reply' as const), worker: index(WORKERS.length), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'restart' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('client-connection' as const), client: index(CLIENTS.length), connected: fc.boolean() }),
  },
);

/** What a worker was sent, by any instance: it may answer any of it, any number of times. */
interface Received {
  ticket: Buffer;
  body: string;
  instance: number;
  answered: boolean;
}

/** One broker instance and what the clients expect of it. */
class Instance {
  readonly core: AuditedBrokerCore;
  /** Requests sent to this instance, per client, not yet answered or refused. */
  readonly outstanding = new Map<string, Set<string>>(CLIENTS.map((c) => [c, new Set()]));
  /** Workers this instance sent each request to. */
  readonly sentTo = new Map<string, Set<string>>();
  readonly accepted = new Map<string, number>(CLIENTS.map((c) => [c, 0]));
  readonly ended = new Map<string, number>(CLIENTS.map((c) => [c, 0]));
  /** The service of each request, and the service each worker last announced to this instance. */
  readonly serviceOf = new Map<string, string>();
  readonly workerService = new Map<string, string>();
  /** The grace model: when each request arrived; per service, the last step that ended with a worker of it, and the first that ended without one after that. */
  private readonly arrival = new Map<string, number>();
  private readonly lastSeen = new Map<string, number>();
  private readonly lostBy = new Map<string, number>();

  constructor(
    readonly id: number,
    inboxes: Map<string, Received[]>,
    private readonly clock: () => number,
    /** Clients whose connection is gone now (a request of theirs is dropped at its turn, never dispatched). */
    gone: ReadonlySet<string>,
    readonly startedAt = clock(),
  ) {
    this.core = new AuditedBrokerCore(
      {
        toWorker: (worker, ticket, body, client) => {
          const text = body.toString('latin1');
          if (gone.has(client.toString())) throw new Error(`${text} was dispatched while its client is gone`);
          if (clock() >= (this.deadlineOf.get(text) ?? Infinity)) throw new Error(`${text} was dispatched at or past its deadline`);
          if (worker === GHOST) throw new Error('a request was sent to a generated routing id');
          if (this.workerService.get(worker) !== this.serviceOf.get(text))
            throw new Error(`${worker} of ${this.workerService.get(worker)} was sent ${text} of ${this.serviceOf.get(text)}`);
          inboxes.get(worker)?.push({ ticket, body: text, instance: id, answered: false });
          this.sentTo.get(text)?.add(worker) ?? this.sentTo.set(text, new Set([worker]));
        },
        toClient: (client, tag, body) => {
          const text = body.toString('latin1');
          if (tag?.toString().startsWith('discover')) return checkDiscovery(text);
          const cut = text.lastIndexOf(' ');
          const [request, worker] = [text.slice(0, cut), text.slice(cut + 1)];
          const mine = this.outstanding.get(client.toString());
          if (clock() >= (this.deadlineOf.get(request) ?? Infinity)) throw new Error(`${request} was answered at or past its deadline`);
          if (!mine?.has(request))
            throw new Error(`client ${client} got ${JSON.stringify(text)}, an answer to no request it awaits from instance ${id}`);
          if (!this.sentTo.get(request)?.has(worker))
            throw new Error(`${JSON.stringify(text)} comes from ${worker}, which was never sent ${request}`);
          if (tag?.toString() !== this.tagOf(request)?.toString()) throw new Error(`the answer to ${request} carries the id ${tag}`);
          mine.delete(request);
          this.ended.set(client.toString(), (this.ended.get(client.toString()) as number) + 1);
        },
        workerFailed: (worker) => {
          if (worker === GHOST) throw new Error('a generated routing id was a worker');
        },
        creditAck: () => undefined,
        want: (worker) => {
          // Only a worker that moves credit, of a service with requests waiting, is asked for more.
          const service = this.workerService.get(worker);
          if (!this.core.serviceSnapshot(service)[0]?.waiting) throw new Error(`${worker} was asked for credit its service does not need`);
          if (!this.core.workerSnapshot().find((w) => w.id === worker && w.outstanding >= w.credit))
            throw new Error(`${worker} was asked for credit while it has window left`);
        },
        clientPresent: (client) => !gone.has(client),
        abandoned: (request) => {
          const name = request.client.toString();
          const text = request.body.toString('latin1');
          if (!gone.has(name)) throw new Error(`${text} was abandoned while its client ${name} is connected`);
          if (!this.outstanding.get(name)?.delete(text)) throw new Error(`${text} was abandoned twice, or is no request of ${name}`);
          this.ended.set(name, (this.ended.get(name) as number) + 1);
        },
        deadlinePassed: (request) => {
          const text = request.body.toString('latin1');
          const name = request.client.toString();
          if (clock() < (this.deadlineOf.get(text) ?? Infinity)) throw new Error(`${text} was dropped before its deadline`);
          if (!this.outstanding.get(name)?.delete(text)) throw new Error(`${text} was dropped twice, or is no request of ${name}`);
          this.ended.set(name, (this.ended.get(name) as number) + 1);
        },
        refuse: (client, tag, reason, detail) => {
          const name = client.toString();
          if (reason === 'no-service') this.checkNotEarly(tag?.toString().slice(1), String(detail));
          if (tag && !this.outstanding.get(name)?.delete(tag.toString().slice(1)))
            throw new Error(`client ${name} was refused ${tag}, which it does not await`);
          this.ended.set(name, (this.ended.get(name) as number) + 1);
          if ((this.ended.get(name) as number) > (this.accepted.get(name) as number))
            throw new Error(`client ${name} was refused more requests than it sent`);
        },
      },
      { ...options, instance: Buffer.from(`inst${String(id).padStart(4, '0')}`), startedAt: this.startedAt },
    );
  }

  /** An envelope request (`envelope`, or any to a named service) carries `#<body>` as its id. */
  request(client: string, body: string, service: string, envelope: boolean, now: number, timeout?: number): void {
    this.accepted.set(client, (this.accepted.get(client) as number) + 1);
    if (timeout !== undefined) this.deadlineOf.set(body, now + timeout);
    (this.outstanding.get(client) as Set<string>).add(body);
    this.serviceOf.set(body, service);
    this.arrival.set(body, now);
    const id = envelope || service !== DEFAULT_SERVICE ? Buffer.from(`#${body}`) : undefined;
    if (id) this.envelopes.add(body);
    const meta = timeout === undefined ? undefined : { deadline: now + timeout };
    this.core.clientRequest(Buffer.from(client), Buffer.from(body, 'latin1'), now, service, id, meta);
  }

  /** After each step: which services have a worker now (the core's count; when it changed is the model's). */
  observeWorkers(now: number): void {
    const workers = this.workerCounts();
    for (const service of SERVICES) {
      if ((workers.get(service) ?? 0) > 0) {
        this.lastSeen.set(service, now);
        this.lostBy.delete(service);
      } else if (this.lastSeen.has(service) && !this.lostBy.has(service)) this.lostBy.set(service, now);
    }
  }

  /** A `no-service` refusal (of `body`, where the request had an id) must not come before every grace is over. */
  private checkNotEarly(body: string | undefined, service: string): void {
    const now = this.clock();
    const since = (what: string, from: number | undefined, grace: number) => {
      if (from !== undefined && now < from + grace)
        throw new Error(`no-service for ${service} at ${now}, ${now - from} ms after ${what} (grace ${grace} ms)`);
    };
    since('the instance started', this.startedAt, options.startupGraceMs);
    since(`a worker of ${service} was last seen`, this.lastSeen.get(service), options.serviceGraceMs);
    if (body === undefined) return;
    if (this.serviceOf.get(body) !== service)
      throw new Error(`no-service names ${service} for ${body}, a request for ${this.serviceOf.get(body)}`);
    since(`${body} arrived`, this.arrival.get(body), options.serviceGraceMs);
  }

  /** After an expiry: no request with an id still waits for a service without workers once all its graces are over. */
  checkNotLate(now: number): void {
    const workers = this.workerCounts();
    for (const mine of this.outstanding.values()) {
      for (const body of mine) {
        const service = this.serviceOf.get(body) as string;
        if (!this.envelopes.has(body) || (workers.get(service) ?? 0) > 0) continue;
        const due = Math.max(
          (this.arrival.get(body) as number) + options.serviceGraceMs,
          (this.lostBy.get(service) ?? -Infinity) + options.serviceGraceMs,
          this.startedAt + options.startupGraceMs,
        );
        if (due <= now) throw new Error(`${body} for ${service} still waits at ${now} without a worker; its graces ended at ${due}`);
      }
    }
  }

  /** Workers per service, as the core counts them now. */
  private workerCounts(): Map<string, number> {
    return new Map(this.core.serviceSnapshot().map((s) => [s.name, s.workers]));
  }

  private readonly envelopes = new Set<string>();
  /** Each request's own deadline, where it has one. */
  readonly deadlineOf = new Map<string, number>();
  private tagOf(body: string): Buffer | undefined {
    return this.envelopes.has(body) ? Buffer.from(`#${body}`) : undefined;
  }
}

/** Runs the commands against a fresh broker, checking as it goes; returns each instance's counters. */
function run(commands: Command[]): BrokerStats[] {
  const inboxes = new Map<string, Received[]>([...WORKERS, ...SERVICES.map(drainer)].map((w) => [w, []]));
  let now = 0;
  let serial = 0;
  const clock = () => now;
  const gone = new Set<string>();
  let broker = new Instance(0, inboxes, clock, gone);
  const stats: BrokerStats[] = [];
  const answer = (from: string, received: Received, failed = false) => {
    received.answered = true;
    broker.core.workerReply(
      from,
      received.ticket,
      Buffer.from(failed ? 'handler threw' : `${received.body} ${from}`, 'latin1'),
      now,
      failed,
    );
  };

  const advance = (to: number) => {
    broker.core.expire((now = to));
    broker.observeWorkers(now); // a worker lost in this expiry starts its service's grace now
    broker.checkNotLate(now);
  };

  for (const c of commands) {
    switch (c.kind) {
      case 'request': {
        // Unique across instances, so an answer can only match the request it really answers.
        const body = `r${serial++}-`.padEnd(c.size, 'x');
        broker.request(CLIENTS[c.client], body, SERVICES[c.service], c.envelope, now, c.timeout);
        break;
      }
      case 'discover':
        broker.core.clientRequest(
          Buffer.from(CLIENTS[c.client]),
          Buffer.alloc(0),
          now,
          DISCOVERY_SERVICE,
          Buffer.from(`discover${serial++}`),
        );
        break;
      case 'ready': {
        // A seed worker's ready names no service: it serves the default one.
        const service = c.heartbeats ? SERVICES[c.service] : DEFAULT_SERVICE;
        broker.workerService.set(WORKERS[c.worker], service);
        broker.core.workerReady(WORKERS[c.worker], now, { heartbeats: c.heartbeats, credit: c.heartbeats ? c.credit : 1, service });
        break;
      }
      case 'ghost-ready':
        broker.core.workerReady(GHOST, now, { heartbeats: true, credit: 1 });
        break;
      case 'heartbeat':
        broker.core.workerHeartbeat(WORKERS[c.worker], now);
        break;
      case 'credit':
        broker.core.workerCredit(WORKERS[c.worker], c.window, now);
        break;
      case 'goodbye':
        broker.core.workerGone(WORKERS[c.worker], now);
        break;
      case 'reply': {
        const inbox = inboxes.get(WORKERS[c.worker]) as Received[];
        if (inbox.length === 0) break;
        const from = c.as === 'itself' ? WORKERS[c.worker] : c.as === 'ghost' ? GHOST : WORKERS[(c.worker + 1) % WORKERS.length];
        answer(from, inbox[c.pick % inbox.length], c.failed);
        break;
      }
      case 'garbage-reply':
        broker.core.workerReply(WORKERS[c.worker], Buffer.from(c.bytes), Buffer.from('garbage W?'), now);
        break;
      case 'tick':
        advance(now + c.ms);
        break;
      case 'late-reply': {
        const held = (inboxes.get(WORKERS[c.worker]) as Received[]).filter(
          (r) => !r.answered && r.instance === broker.id && broker.deadlineOf.has(r.body),
        );
        if (held.length === 0) break;
        // One due before its answer timeout passes, where there is one (after it, the request is late and moves on).
        const due = (r: Received) => broker.deadlineOf.get(r.body) as number;
        const soon = held.filter((r) => due(r) < now + options.answerTimeoutMs);
        const received = soon.length > 0 ? soon[c.pick % soon.length] : held[c.pick % held.length];
        advance(Math.max(now, due(received)));
        answer(WORKERS[c.worker], received);
        break;
      }
      case 'client-connection':
        if (c.connected) gone.delete(CLIENTS[c.client]);
        else gone.add(CLIENTS[c.client]);
        break;
      case 'restart':
        stats.push(broker.core.stats);
        broker = new Instance(broker.id + 1, inboxes, clock, gone); // old workers keep their old tickets
        break;
    }
    broker.core.audit(now);
    broker.observeWorkers(now);
  }

  // Drain: the old workers leave, one honest worker per service serves whatever this instance still holds.
  for (const w of WORKERS) broker.core.workerGone(w, now);
  for (const { name } of broker.core.serviceSnapshot()) {
    broker.workerService.set(drainer(name), name);
    broker.core.workerReady(drainer(name), now, { heartbeats: false, credit: 2, service: name });
  }
  for (let round = 0; round < 100 && broker.core.load().pending + broker.core.load().inService > 0; round++) {
    for (const service of SERVICES) {
      for (const received of inboxes.get(drainer(service)) as Received[])
        if (!received.answered && received.instance === broker.id) answer(drainer(service), received);
    }
    broker.core.expire((now += 100));
    broker.core.audit();
  }
  expect(broker.core.load()).toMatchObject({ pending: 0, inService: 0, queueBytes: 0, clients: 0 });
  for (const client of CLIENTS) {
    expect({ client, ended: broker.ended.get(client) }).toEqual({ client, ended: broker.accepted.get(client) });
  }
  return [...stats, broker.core.stats];
}

const drainer = (service: string) => `drain:${service}`;

/** A discovery answer: JSON, one entry per service, by name, with counts that add up. */
function checkDiscovery(text: string): void {
  const services = JSON.parse(text) as ServiceInfo[];
  const names = services.map((s) => s.name);
  if (names.join() !== [...names].sort().join()) throw new Error(`discovery is not sorted by name: ${text}`);
  for (const s of services)
    if (s.ready + s.busy !== s.workers || s.workers < 0 || s.waiting < 0) throw new Error(`discovery does not add up: ${text}`);
}

const seed = process.env['FC_SEED'] === undefined ? undefined : Number(process.env['FC_SEED']);

describe('BrokerCore under generated interleavings', () => {
  it('keeps its promises: answers only to requesters, bounded bookkeeping, every accepted request ends', () => {
    // What the runs reached, summed: a guard against a generator that misses what the property is about.
    const reached = {
      restarts: 0,
      replies: 0,
      discoveries: 0,
      late: 0,
      stale: 0,
      foreign: 0,
      refusedWorkers: 0,
      overloaded: 0,
      'client-share': 0,
      'too-large': 0,
      expired: 0,
      poison: 0,
      'no-service': 0,
      handler: 0,
      'deadline passed waiting': 0,
      'deadline passed in service': 0,
      abandoned: 0,
    };
    fc.assert(
      fc.property(fc.array(command, { minLength: 20, maxLength: 200, size: 'max' }), (commands) => {
        for (const s of run(commands)) {
          reached.restarts++;
          reached.replies += s.replies;
          reached.discoveries += s.discoveries;
          reached.refusedWorkers += s.refusedWorkers;
          reached['deadline passed waiting'] += s.deadlinePassed.queue;
          reached['deadline passed in service'] += s.deadlinePassed.answer;
          reached.abandoned += s.abandoned;
          for (const [k, v] of [...Object.entries(s.dropped), ...Object.entries(s.rejected)])
            if (k in reached) reached[k as keyof typeof reached] += v;
        }
      }),
      { numRuns: 300, seed },
    );
    for (const [what, count] of Object.entries(reached)) expect({ what, reached: count > 0 }).toEqual({ what, reached: true });
  });
});
