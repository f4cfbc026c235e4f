import fc from 'fast-check';
import { CreditLender, type Loaned } from '@tsr/protocol';
import { type BrokerCoreOptions, type BrokerOutput, defaultCoreOptions } from './broker-core-shapes';
import { AuditedBrokerCore } from './__fixtures__/audited-core';

/**
 * A model of several brokers serving at once: three broker cores, two or three workers (credit
 * 1–4, one service or two) that connect to every broker and share their credit among them with
 * leases (the worker's own CreditLender), and two or three clients that retry a request at the
 * next broker when an attempt times out (the guide's Lazy Pirate across brokers). Everything
 * travels on a simulated network of per-connection FIFO channels, both ways; fast-check picks
 * which message is delivered next, and interleaves client requests, workers answering, client
 * timeouts, broker kills and restarts (a new instance: old tickets are stale), workers losing a
 * connection and dialling again, and the passing of time.
 *
 * After every step: no worker holds more requests than its credit, all brokers together (counted
 * here, from what it received and has not finished: not the lender's own count, which must agree);
 * every live core passes its audit; every request a worker gets is of its service; a core answers
 * a client only for an id it was sent, with that request's body, never more often than it was
 * sent it; a client is never answered for an id it did not send or with another request's body.
 * At the end the network drains (every broker up, every worker connected, every message delivered
 * and every request served, clients retrying what was lost): once quiet, no broker may still have
 * requests waiting (a worker would sit idle while a broker queues), and every request a client
 * sent has ended at that client, answered or refused, exactly once.
 *
 * The worker abandons a lost connection as libs/worker does: the lender is told it is closed
 * first, then the requests it had queued are finished (as orphans). (Finishing them first let the
 * lender ask the lost connection's broker for a window; the DEALER kept that CREDIT and sent it
 * after the next ready, where the broker took it for the new connection's window.)
 *
 * What is not modelled: heartbeats (liveness is too long to expire; a worker the core forgot after
 * a missed deadline, which would hear no more heartbeats, dials again at a tick 3 s later),
 * batches, seed workers and goodbyes, handler failures, the limits on bytes and counts. The ROUTER
 * hands a worker's routing id over to its new connection at the handshake, before the ready is
 * read, and tells the core (`workerDisconnected`), which sends the worker nothing until that ready: a
 * request dispatched in that moment under the old connection's window would otherwise come on the
 * new one, on top of its ready's window. A lost connection the broker has not noticed yet (a host
 * gone without a word) still takes what the core sends it, and loses it.
 *
 * FC_SEED=<seed> (and FC_PATH=<path>) replay a failure; FC_RUNS=<n> runs more;
 * SEVERAL_BROKERS_TRACE=1 prints every message delivered; SEVERAL_BROKERS_FIGURES=1 prints the
 * figures of two long runs, one steady and one with failures.
 */

const BROKERS = 3;
const SERVICES = ['svc-a', 'svc-b'];
const TTL_MS = 10_000;
/** The heartbeat of brokers and workers: brokers repeat their demand with it. */
const HEARTBEAT_MS = 1000;
/** How long a worker waits for a heartbeat before it dials again. */
const WORKER_LIVENESS_MS = 3000;
const TRACE = process.env['SEVERAL_BROKERS_TRACE'] !== undefined;

const options: Omit<BrokerCoreOptions, 'instance' | 'startedAt'> = {
  ...defaultCoreOptions,
  answerTimeoutMs: 4000,
  livenessMs: 1e12, // heartbeats are not modelled: a live worker never falls silent
  serviceGraceMs: 3000,
  startupGraceMs: 3000,
  requestTtlMs: TTL_MS,
  maxFailures: 3,
};

interface Setup {
  /** One worker per entry, its credit; worker i serves SERVICES[i % services]. */
  credits: number[];
  services: number;
  clients: number;
}

type Command =
  | { kind: 'request'; client: number; service: number; broker: number }
  | { kind: 'deliver'; pick: number }
  | { kind: 'serve'; worker: number }
  | { kind: 'timeout'; client: number; pick: number }
  | { kind: 'tick'; ms: number }
  | { kind: 'reconnect'; worker: number; broker: number }
  | { kind: 'kill'; broker: number }
  | { kind: 'restart'; broker: number };

const nat = (max: number) => fc.integer({ min: 0, max });
const setup: fc.Arbitrary<Setup> = fc.record({
  credits: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 2, maxLength: 3 }),
  services: fc.integer({ min: 1, max: SERVICES.length }),
  clients: fc.integer({ min: 2, max: 3 }),
});
const command: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant('request' as const), client: nat(2), service: nat(1), broker: nat(BROKERS - 1) }),
  },
  { weight: 14, arbitrary: fc.record({ kind: fc.constant('deliver' as const), pick: fc.nat() }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('serve' as const), worker: nat(2) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('timeout' as const), client: nat(2), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 2000 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reconnect' as const), worker: nat(2), broker: nat(BROKERS - 1) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('kill' as const), broker: nat(BROKERS - 1) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('restart' as const), broker: nat(BROKERS - 1) }) },
);

/** Without failures (no broker killed or restarted, no connection lost), and the network fast enough for the load. */
const steady: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('request' as const), client: nat(2), service: nat(1), broker: nat(BROKERS - 1) }),
  },
  { weight: 20, arbitrary: fc.record({ kind: fc.constant('deliver' as const), pick: fc.nat() }) },
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('serve' as const), worker: nat(2) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 500 }) }) },
);

type ToBroker = { kind: 'ready'; window: number } | { kind: 'credit'; window: number } | { kind: 'reply'; ticket: Buffer; body: string };
type ToWorker = { kind: 'request'; ticket: Buffer; body: string } | { kind: 'lease' } | { kind: 'ack'; window: number } | { kind: 'want' };
interface ClientRequest {
  id: string;
  body: string;
  service: string;
}
type ToClient = { kind: 'answer'; id: string; body: string } | { kind: 'refusal'; id: string; reason: string };

/** One direction of one connection: first in, first out; a lost connection drops it whole. */
class Channel<M> {
  readonly messages: M[] = [];
  constructor(
    readonly name: string,
    readonly receive: (message: M) => void,
  ) {}
}

/** What the runs count: the figures of a long run, and a guard against a generator that misses the point. */
const newFigures = () => ({
  requests: 0,
  attempts: 0,
  answered: 0,
  refused: {} as Record<string, number>,
  /** Answers and refusals a client dropped: it had its answer already. */
  duplicates: 0,
  dispatched: 0,
  redispatched: 0,
  readies: 0,
  leaseOffers: 0,
  credits: 0,
  /** Of those, asked while not connected to that broker (sent after the next ready). */
  unsentCredits: 0,
  acks: 0,
  wants: 0,
  /** Requests a worker dropped with a lost connection, and answers it could not send back. */
  droppedQueued: 0,
  droppedAnswers: 0,
  late: 0,
  stale: 0,
  kills: 0,
  restarts: 0,
  reconnects: 0,
  workerFailures: 0,
  /** Steps at which some worker held all its credit, and retries the drain needed. */
  full: 0,
  drainRetries: 0,
  steps: 0,
});
type Figures = ReturnType<typeof newFigures>;

interface Held {
  link: number;
  conn: Connection;
  ticket: Buffer;
  body: string;
  loaned: Loaned;
}

/** A worker's connection to one broker: its two channels, and whether the broker has read its ready. */
interface Connection {
  up: Channel<ToBroker>;
  down: Channel<ToWorker>;
  announced: boolean;
  /** When the worker first saw that its broker no longer knew it (it hears no heartbeats). */
  forgottenAt?: number;
}

class WorkerModel {
  readonly lender: CreditLender<number>;
  readonly conns: (Connection | undefined)[] = new Array(BROKERS).fill(undefined);
  /** What was sent to each broker while not connected to it. */
  readonly unsent: ToBroker[][] = Array.from({ length: BROKERS }, () => []);
  /** Requests taken and not begun; `handler`: the one being served. Held = both. */
  readonly queue: Held[] = [];
  handler: Held | undefined;

  constructor(
    readonly name: string,
    readonly credit: number,
    readonly service: string,
    figures: Figures,
    clock: () => number,
  ) {
    this.lender = new CreditLender<number>(
      credit,
      (link, window) => {
        figures.credits++;
        // With no connection, the DEALER keeps it and sends it once connected again, after the ready.
        const conn = this.conns[link];
        if (conn) conn.up.messages.push({ kind: 'credit', window });
        else {
          figures.unsentCredits++;
          this.unsent[link].push({ kind: 'credit', window });
        }
      },
      { demandTtlMs: 2 * HEARTBEAT_MS, rotateAfterMs: HEARTBEAT_MS, clock },
    );
  }

  get held(): number {
    return this.queue.length + (this.handler ? 1 : 0);
  }

  /** The worker serves in order, one at a time: the head of its queue goes to the handler at once. */
  startNext(): void {
    if (!this.handler) this.handler = this.queue.shift();
  }
}

interface Ask {
  id: string;
  body: string;
  service: string;
  /** The broker of the latest attempt. */
  broker: number;
  ended: number;
}

class ClientModel {
  readonly asks = new Map<string, Ask>();
  constructor(readonly name: string) {}
}

interface Broker {
  core: AuditedBrokerCore | undefined;
  /** The tag of the live instance (in its tickets); instances counts them. */
  tag: string;
  instances: number;
  /** Each client's connection to it, while it is up. */
  clientLinks: Map<string, { up: Channel<ClientRequest>; down: Channel<ToClient> }>;
}

/** Runs the commands against the model, checking after every step, then drains it; returns what it counted. */
function run(config: Setup, commands: Command[], figures = newFigures()): Figures {
  let now = 0;
  let serial = 0;
  const network = new Set<Channel<unknown>>();
  const open = <M>(name: string, receive: (m: M) => void): Channel<M> => {
    const channel = new Channel<M>(name, (m) => {
      if (TRACE) console.log(`${now} ${name}: ${JSON.stringify(m)}`);
      receive(m);
    });
    network.add(channel as Channel<unknown>);
    return channel;
  };
  const drop = (channel: Channel<unknown>) => {
    network.delete(channel);
    channel.messages.length = 0;
  };

  const workers = config.credits.map((credit, i) => new WorkerModel(`W${i}`, credit, SERVICES[i % config.services], figures, () => now));
  const workerNamed = new Map(workers.map((w) => [w.name, w]));
  const clients = Array.from({ length: config.clients }, (_, i) => new ClientModel(`C${i}`));
  const clientNamed = new Map(clients.map((c) => [c.name, c]));
  const brokers: Broker[] = Array.from({ length: BROKERS }, () => ({ core: undefined, tag: '', instances: 0, clientLinks: new Map() }));
  /** Per instance, client and id: how often the core was sent it, and how often it answered. */
  const sentToCore = new Map<string, number>();
  const answeredByCore = new Map<string, number>();
  const serviceOf = new Map<string, string>();

  /** Where a core's message to a worker goes: the ROUTER routes the id to its latest connection, if any. */
  const routed = (b: number, worker: string): Connection | undefined => (workerNamed.get(worker) as WorkerModel).conns[b];

  const output = (b: number, tag: string): BrokerOutput => {
    const toClient = (client: Buffer, id: Buffer | undefined, message: ToClient) => {
      const name = client.toString();
      if (id === undefined || id.toString() !== message.id) throw new Error(`${tag} answers ${name} without the request's id`);
      const key = `${tag}|${name}|${message.id}`;
      const answers = (answeredByCore.get(key) ?? 0) + 1;
      answeredByCore.set(key, answers);
      if (answers > (sentToCore.get(key) ?? 0))
        throw new Error(`${tag} answers ${name} ${message.id} ${answers} times; it was sent it ${sentToCore.get(key) ?? 0}`);
      if (message.kind === 'answer') checkAnswer(clientNamed.get(name)?.asks.get(message.id), message.body, `${tag} to ${name}`);
      brokers[b].clientLinks.get(name)?.down.messages.push(message);
    };
    return {
      toWorker: (worker, ticket, body) => {
        figures.dispatched++;
        routed(b, worker)?.down.messages.push({ kind: 'request', ticket, body: body.toString() });
      },
      toClient: (client, id, body) => toClient(client, id, { kind: 'answer', id: String(id), body: body.toString() }),
      refuse: (client, id, reason) => toClient(client, id, { kind: 'refusal', id: String(id), reason }),
      workerFailed: () => figures.workerFailures++,
      creditAck: (worker, window) => {
        figures.acks++;
        routed(b, worker)?.down.messages.push({ kind: 'ack', window });
      },
      want: (worker) => {
        figures.wants++;
        routed(b, worker)?.down.messages.push({ kind: 'want' });
      },
    };
  };

  /** An answer is `<body> <worker>`, from a worker of the request's service. */
  const checkAnswer = (ask: Ask | undefined, body: string, where: string) => {
    if (!ask) throw new Error(`${where}: an answer for no request sent (${body})`);
    const cut = body.lastIndexOf(' ');
    const worker = workerNamed.get(body.slice(cut + 1));
    if (body.slice(0, cut) !== ask.body || worker?.service !== ask.service)
      throw new Error(`${where}: ${ask.id} (${ask.body} for ${ask.service}) answered ${JSON.stringify(body)}`);
  };

  // Workers: connecting, losing a connection, taking and serving requests.
  const connect = (w: WorkerModel, b: number) => {
    if (!brokers[b].core || w.conns[b]) return;
    const window = w.lender.opened(b);
    const conn: Connection = {
      announced: false,
      up: open<ToBroker>(`${w.name}>B${b}`, (m) => toBroker(w, b, conn, m)),
      down: open<ToWorker>(`B${b}>${w.name}`, (m) => toWorker(w, b, conn, m)),
    };
    w.conns[b] = conn;
    // The handshake: the ROUTER hands the id over to this connection and says the old one is gone.
    brokers[b].core?.workerDisconnected(w.name, now, true);
    figures.readies++;
    conn.up.messages.push({ kind: 'ready', window }, ...w.unsent[b].splice(0));
  };
  /** The connection is gone: what is in flight on it is lost, its queued requests dropped, the one in the handler orphaned. */
  const lose = (w: WorkerModel, b: number) => {
    const conn = w.conns[b];
    if (!conn) return;
    drop(conn.up as Channel<unknown>);
    drop(conn.down as Channel<unknown>);
    w.conns[b] = undefined;
    const dropped = w.queue.filter((held) => held.link === b);
    w.queue.splice(0, w.queue.length, ...w.queue.filter((held) => held.link !== b));
    figures.droppedQueued += dropped.length;
    w.lender.closed(b);
    for (const held of dropped) w.lender.finished(held.loaned);
  };
  const toBroker = (w: WorkerModel, b: number, conn: Connection, m: ToBroker) => {
    const core = brokers[b].core as AuditedBrokerCore; // a connection lives no longer than its broker
    if (m.kind === 'ready') {
      conn.announced = true;
      core.workerReady(w.name, now, { heartbeats: true, credit: m.window, service: w.service });
      if (core.isWorker(w.name)) {
        figures.leaseOffers++;
        conn.down.messages.push({ kind: 'lease' }); // after its heartbeat, which the model leaves out
      }
    } else if (m.kind === 'credit') core.workerCredit(w.name, m.window, now);
    else core.workerReply(w.name, m.ticket, Buffer.from(m.body), now);
  };
  const toWorker = (w: WorkerModel, b: number, conn: Connection, m: ToWorker) => {
    if (m.kind === 'request') {
      if (serviceOf.get(m.body) !== w.service) throw new Error(`${w.name} of ${w.service} got ${m.body} of ${serviceOf.get(m.body)}`);
      w.queue.push({ link: b, conn, ticket: m.ticket, body: m.body, loaned: w.lender.took(b) });
      w.startNext();
    } else if (m.kind === 'lease') w.lender.leasing(b);
    else if (m.kind === 'ack') w.lender.acknowledged(b, m.window);
    else w.lender.wanted(b);
  };
  /** The handler is done: the answer goes back if its connection is still the current one. */
  const serve = (w: WorkerModel) => {
    const held = w.handler;
    if (!held) return;
    w.handler = undefined;
    if (w.lender.current(held.loaned)) {
      if (w.conns[held.link] !== held.conn) throw new Error(`${w.name}: the lender calls a lost connection current`);
      held.conn.up.messages.push({ kind: 'reply', ticket: held.ticket, body: `${held.body} ${w.name}` });
    } else figures.droppedAnswers++;
    w.lender.finished(held.loaned);
    w.startNext();
  };

  // Brokers.
  const start = (b: number) => {
    const broker = brokers[b];
    broker.tag = `B${b}i${String(broker.instances++).padStart(5, '0')}`;
    broker.core = new AuditedBrokerCore(output(b, broker.tag), { ...options, instance: Buffer.from(broker.tag), startedAt: now });
    const tag = broker.tag;
    for (const c of clients) {
      broker.clientLinks.set(c.name, {
        up: open<ClientRequest>(`${c.name}>B${b}`, (m) => {
          const key = `${tag}|${c.name}|${m.id}`;
          sentToCore.set(key, (sentToCore.get(key) ?? 0) + 1);
          (broker.core as AuditedBrokerCore).clientRequest(Buffer.from(c.name), Buffer.from(m.body), now, m.service, Buffer.from(m.id));
        }),
        down: open<ToClient>(`B${b}>${c.name}`, (m) => receive(c, m)),
      });
    }
    for (const w of workers) connect(w, b);
  };
  const kill = (b: number) => {
    const broker = brokers[b];
    if (!broker.core) return;
    const { stats } = broker.core;
    figures.redispatched += stats.redispatched;
    figures.late += stats.dropped.late;
    figures.stale += stats.dropped.stale;
    broker.core = undefined;
    for (const { up, down } of broker.clientLinks.values()) {
      drop(up as Channel<unknown>);
      drop(down as Channel<unknown>);
    }
    broker.clientLinks.clear();
    for (const w of workers) lose(w, b);
  };

  // Clients.
  const send = (c: ClientModel, ask: Ask, b: number) => {
    figures.attempts++;
    ask.broker = b;
    brokers[b].clientLinks.get(c.name)?.up.messages.push({ id: ask.id, body: ask.body, service: ask.service }); // a broker that is down: lost
  };
  const receive = (c: ClientModel, m: ToClient) => {
    const ask = c.asks.get(m.id);
    if (!ask) throw new Error(`${c.name} got an answer for ${m.id}, which it never sent`);
    if (m.kind === 'answer') checkAnswer(ask, m.body, c.name);
    if (ask.ended > 0) {
      figures.duplicates++;
      return;
    }
    ask.ended++;
    if (m.kind === 'answer') figures.answered++;
    else figures.refused[m.reason] = (figures.refused[m.reason] ?? 0) + 1;
  };
  const unanswered = () => clients.flatMap((c) => [...c.asks.values()].filter((a) => a.ended === 0).map((ask) => ({ c, ask })));
  const retry = (c: ClientModel, ask: Ask) => send(c, ask, (ask.broker + 1) % BROKERS);

  const check = () => {
    figures.steps++;
    for (const w of workers) {
      if (w.held > w.credit) {
        const links = w.conns.map((_, b) => `B${b} ${JSON.stringify(w.lender.status(b))}`).join(', ');
        throw new Error(`${w.name} holds ${w.held} requests, over its credit ${w.credit} (${links})`);
      }
      if (w.held === w.credit) figures.full++;
      if (w.lender.held !== w.held) throw new Error(`${w.name}'s lender counts ${w.lender.held} held, the worker holds ${w.held}`);
    }
    for (const broker of brokers) broker.core?.audit(now);
  };
  const expire = () => {
    for (const broker of brokers) broker.core?.expire(now);
  };
  /** A heartbeat: each broker reminds the workers of its queues that it waits, and each worker's lender looks at the time. */
  const heartbeat = () => {
    for (const [b, broker] of brokers.entries())
      for (const worker of broker.core?.demand() ?? []) {
        figures.wants++;
        routed(b, worker)?.down.messages.push({ kind: 'want' });
      }
    for (const w of workers) w.lender.tick();
  };

  for (let b = 0; b < BROKERS; b++) start(b);
  check();
  for (const cmd of commands) {
    switch (cmd.kind) {
      case 'request': {
        const c = clients[cmd.client % clients.length];
        const body = `q${serial++}`;
        const ask: Ask = {
          id: `${c.name}#${c.asks.size}`,
          body,
          service: SERVICES[cmd.service % config.services],
          broker: cmd.broker,
          ended: 0,
        };
        c.asks.set(ask.id, ask);
        serviceOf.set(body, ask.service);
        figures.requests++;
        send(c, ask, cmd.broker);
        break;
      }
      case 'deliver': {
        const busy = [...network].filter((ch) => ch.messages.length > 0);
        if (busy.length === 0) break;
        const channel = busy[cmd.pick % busy.length];
        channel.receive(channel.messages.shift());
        break;
      }
      case 'serve':
        serve(workers[cmd.worker % workers.length]);
        break;
      case 'timeout': {
        const c = clients[cmd.client % clients.length];
        const waiting = [...c.asks.values()].filter((a) => a.ended === 0);
        if (waiting.length > 0) retry(c, waiting[cmd.pick % waiting.length]);
        break;
      }
      case 'tick':
        now += cmd.ms;
        expire();
        heartbeat();
        // A worker the core forgot (a missed deadline) hears no more heartbeats from it: it dials again after its liveness.
        for (const w of workers) {
          for (let b = 0; b < BROKERS; b++) {
            const conn = w.conns[b];
            if (!conn?.announced || brokers[b].core?.isWorker(w.name)) continue;
            conn.forgottenAt ??= now;
            if (now - conn.forgottenAt < WORKER_LIVENESS_MS) continue;
            figures.reconnects++;
            lose(w, b);
            connect(w, b);
          }
        }
        break;
      case 'reconnect': {
        const w = workers[cmd.worker % workers.length];
        if (!brokers[cmd.broker].core) break;
        figures.reconnects++;
        lose(w, cmd.broker);
        connect(w, cmd.broker);
        break;
      }
      case 'kill':
        if (brokers[cmd.broker].core) figures.kills++;
        kill(cmd.broker);
        break;
      case 'restart':
        figures.restarts++;
        kill(cmd.broker);
        start(cmd.broker);
        break;
    }
    check();
  }

  // The drain: every broker up; then, until every request has ended at its client: deliver and
  // serve everything; reconnect a worker a core no longer knows (it would hear no heartbeats);
  // once quiet, no core may have requests waiting; clients retry what was lost.
  for (let b = 0; b < BROKERS; b++) if (!brokers[b].core) start(b);
  check();
  let beats = 0;
  for (let round = 0; ; round++) {
    if (round > 80) throw new Error('the drain does not end');
    for (let steps = 0; ; steps++) {
      if (steps > 20_000) throw new Error('the network never falls quiet (messages go round for ever)');
      const busy = [...network].find((ch) => ch.messages.length > 0);
      const worker = workers.find((w) => w.handler);
      if (busy) busy.receive(busy.messages.shift());
      else if (worker) serve(worker);
      else break;
      check();
    }
    let reconnected = false;
    for (const w of workers) {
      for (let b = 0; b < BROKERS; b++) {
        if (w.conns[b] && brokers[b].core?.isWorker(w.name)) continue;
        reconnected = true;
        figures.reconnects++;
        lose(w, b);
        connect(w, b);
      }
    }
    if (reconnected) continue;
    // A queue left while all is quiet gets credit within a few heartbeats (a demand that stopped
    // coming expires, the credit goes round); past that it is stuck.
    if (brokers.some((broker) => (broker.core as AuditedBrokerCore).load().pending > 0) && beats < 5) {
      beats++;
      now += HEARTBEAT_MS;
      expire();
      heartbeat();
      continue;
    }
    beats = 0;
    for (const [b, broker] of brokers.entries()) {
      const { pending } = (broker.core as AuditedBrokerCore).load();
      if (pending > 0) {
        const windows = workers.map((w) => `${w.name} ${JSON.stringify(w.lender.status(b))} of ${w.credit}`).join(', ');
        throw new Error(`all quiet, yet ${broker.tag} has ${pending} requests waiting while its workers lend it: ${windows}`);
      }
    }
    const lost = unanswered();
    if (lost.length === 0) break;
    for (const { c, ask } of lost) {
      figures.drainRetries++;
      retry(c, ask);
    }
    check();
  }
  // Past every TTL: nothing is left to expire, every core is empty.
  now += TTL_MS + 1;
  expire();
  check();
  for (const broker of brokers) {
    expect((broker.core as AuditedBrokerCore).load()).toMatchObject({ pending: 0, inService: 0, queueBytes: 0 });
    kill(brokers.indexOf(broker)); // adds its counters to the figures
  }
  for (const c of clients) for (const ask of c.asks.values()) if (ask.ended !== 1) throw new Error(`${ask.id} ended ${ask.ended} times`);
  for (const w of workers) expect(w.lender.held).toBe(0);
  return figures;
}

const seed = process.env['FC_SEED'] === undefined ? undefined : Number(process.env['FC_SEED']);

describe('several brokers, workers lending their credit with leases, clients retrying at the next broker', () => {
  it('never lets a worker hold more than its credit, answers only what was asked, ends every request once', () => {
    const reached = newFigures();
    fc.assert(
      fc.property(setup, fc.array(command, { minLength: 20, maxLength: 300, size: 'max' }), (config, commands) => {
        run(config, commands, reached);
      }),
      { numRuns: Number(process.env['FC_RUNS'] ?? 300), seed, path: process.env['FC_PATH'] },
    );
    // The runs must have reached what the property is about.
    for (const what of [
      'wants',
      'credits',
      'acks',
      'redispatched',
      'duplicates',
      'droppedQueued',
      'droppedAnswers',
      'late',
      'full',
    ] as const)
      expect({ what, reached: reached[what] > 0 }).toEqual({ what, reached: true });
    for (const reason of ['expired', 'no-service'])
      expect({ reason, reached: (reached.refused[reason] ?? 0) > 0 }).toEqual({ reason, reached: true });
  });

  it('moves credit where the requests are in long runs (SEVERAL_BROKERS_FIGURES=1 prints their figures)', () => {
    const config: Setup = { credits: [2, 3, 4], services: 2, clients: 3 };
    const long = (commands: fc.Arbitrary<Command>) =>
      fc.sample(fc.array(commands, { minLength: 5000, maxLength: 5000, size: 'max' }), { numRuns: 1, seed: seed ?? 42 })[0];
    const runs = { steady: run(config, long(steady)), chaos: run(config, long(command)) };
    for (const figures of Object.values(runs)) expect(figures.answered).toBeGreaterThan(0);
    if (process.env['SEVERAL_BROKERS_FIGURES']) {
      for (const [name, figures] of Object.entries(runs)) {
        const per = (n: number) => (n / figures.requests).toFixed(2);
        console.log(
          `${name}: ${JSON.stringify(figures)}\nper request: ${per(figures.attempts)} attempts, ${per(figures.dispatched)} dispatches, ` +
            `${per(figures.credits)} CREDIT, ${per(figures.acks)} acks, ${per(figures.wants)} WANT, ${per(figures.readies)} readies, ` +
            `${per(figures.leaseOffers)} LEASE`,
        );
      }
    }
  });
});
