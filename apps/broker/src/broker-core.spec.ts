import { type BrokerCoreOptions, defaultCoreOptions } from './broker-core-shapes';
import { AuditedBrokerCore } from './__fixtures__/audited-core';
import { encodeTicket } from '@tsr/protocol';

const INSTANCE = Buffer.from('instance');
const b = (s: string) => Buffer.from(s);

/**
 * A core wired to a recorder: every message it emits, in order, as readable strings
 * (`W1 <- job` to a worker, `C1 <- answer` or `C1 <- ERR reason` to a client, `C1#id <- …` to an
 * envelope request). Workers answer
 * with `reply(worker, request, answer)`, which echoes the ticket of that request's latest
 * dispatch to that worker, as a real worker echoes the client frame.
 */
function setup(options: Partial<BrokerCoreOptions> = {}, gone = new Set<string>()) {
  const sent: string[] = [];
  const arrivals: number[] = [];
  const tickets = new Map<string, Buffer>();
  const core = new AuditedBrokerCore(
    {
      toWorker: (worker, ticket, body) => {
        tickets.set(`${worker}:${body}`, ticket);
        sent.push(`${worker} <- ${body}`);
      },
      toClient: (client, id, body, arrivedAt) => {
        sent.push(`${client}${id ? `#${id}` : ''} <- ${body}`);
        arrivals.push(arrivedAt);
      },
      refuse: (client, id, reason, detail) =>
        sent.push(`${client}${id ? `#${id}` : ''} <- ERR ${reason}${detail === undefined ? '' : ` ${detail}`}`),
      workerFailed: () => undefined,
      creditAck: (worker, window) => sent.push(`${worker} <- CREDIT ${window}`),
      want: (worker) => sent.push(`${worker} <- WANT`),
      deadlinePassed: (request, where) => sent.push(`dropped ${request.body} (${where})`),
      clientPresent: (client) => !gone.has(client),
      abandoned: (request) => sent.push(`abandoned ${request.body}`),
    },
    { ...defaultCoreOptions, answerTimeoutMs: 2000, livenessMs: 3000, maxPending: 1000, failedMemory: 100, instance: INSTANCE, ...options },
  );
  const take = () => sent.splice(0);
  const ticket = (worker: string, request: string): Buffer => {
    const t = tickets.get(`${worker}:${request}`);
    if (!t) throw new Error(`${worker} was never sent ${request}`);
    return t;
  };
  const reply = (worker: string, request: string, answer: string, now: number) =>
    core.workerReply(worker, ticket(worker, request), b(answer), now);
  return { core, take, ticket, reply, arrivals };
}

/** A worker that speaks heartbeats, one request at a time. */
const HB = { heartbeats: true, credit: 1 };

describe('BrokerCore', () => {
  it('sends a request to a ready worker at once and the reply back to its client', () => {
    const { core, take, reply } = setup();
    core.workerReady('W1', 0);
    core.clientRequest(b('C1'), b('hello'), 10);
    expect(take()).toEqual(['W1 <- hello']);
    reply('W1', 'hello', 'hello W1', 20);
    expect(take()).toEqual(['C1 <- hello W1']);
    expect(core.readyCount).toBe(1);
    expect(core.stats).toMatchObject({ requests: 1, replies: 1, dispatched: 1 });
    core.audit();
  });

  it('sends workers a ticket of this instance in place of the client id, one per dispatch', () => {
    const { core, ticket } = setup();
    core.workerReady('W1', 0);
    core.workerReady('W2', 0);
    core.clientRequest(b('C1'), b('a'), 0);
    core.clientRequest(b('C1'), b('b'), 0);
    expect(ticket('W1', 'a')).toEqual(encodeTicket(INSTANCE, 1, 1));
    expect(ticket('W2', 'b')).toEqual(encodeTicket(INSTANCE, 2, 2));
  });

  it('queues requests in FIFO order while no worker is ready', () => {
    const { core, take, reply } = setup();
    core.clientRequest(b('C1'), b('r1'), 0);
    core.clientRequest(b('C2'), b('r2'), 0);
    core.clientRequest(b('C3'), b('r3'), 0);
    expect(take()).toEqual([]);
    expect(core.pendingCount).toBe(3);
    core.workerReady('W1', 1);
    expect(take()).toEqual(['W1 <- r1']);
    reply('W1', 'r1', 'a1', 2);
    expect(take()).toEqual(['C1 <- a1', 'W1 <- r2']);
    core.workerReady('W2', 3);
    expect(take()).toEqual(['W2 <- r3']);
    expect(core.pendingCount).toBe(0);
    core.audit();
  });

  it('balances over ready workers least recently used first', () => {
    const { core, take, reply } = setup();
    for (const w of ['W1', 'W2', 'W3']) core.workerReady(w, 0);
    core.clientRequest(b('C1'), b('a'), 1);
    core.clientRequest(b('C2'), b('b'), 1);
    expect(take()).toEqual(['W1 <- a', 'W2 <- b']);
    reply('W2', 'b', 'B', 2); // W2 is now behind W3
    reply('W1', 'a', 'A', 3); // and W1 behind W2
    take();
    core.clientRequest(b('C3'), b('c'), 4);
    core.clientRequest(b('C4'), b('d'), 4);
    core.clientRequest(b('C5'), b('e'), 4);
    expect(take()).toEqual(['W3 <- c', 'W2 <- d', 'W1 <- e']);
  });

  it('does not queue a worker twice when it announces itself again while ready', () => {
    const { core, take } = setup();
    core.workerReady('W1', 0);
    core.workerReady('W1', 1);
    expect(core.readyCount).toBe(1);
    core.clientRequest(b('C1'), b('a'), 2);
    core.clientRequest(b('C2'), b('b'), 2);
    expect(take()).toEqual(['W1 <- a']);
    expect(core.pendingCount).toBe(1);
    core.audit();
  });

  describe('what status output reads', () => {
    it('gives each reply the arrival time of its request, for the latency histogram', () => {
      const { core, reply, arrivals } = setup();
      core.clientRequest(b('C1'), b('early'), 5); // waits: no worker yet
      core.workerReady('W1', 40);
      reply('W1', 'early', 'done', 90);
      expect(arrivals).toEqual([5]);
    });

    it('lists each live worker with its kind, credit, outstanding requests and when it was last heard', () => {
      const { core, reply } = setup();
      core.workerReady('W1', 0);
      core.workerReady('W2', 10, { heartbeats: true, credit: 4 });
      core.clientRequest(b('C1'), b('a'), 20); // to W1
      core.clientRequest(b('C1'), b('b'), 21); // to W2
      core.clientRequest(b('C1'), b('c'), 22); // W2 again: W1 is busy
      core.workerHeartbeat('W2', 50);
      expect(core.workerSnapshot()).toEqual([
        { id: 'W1', kind: 'seed', service: 'default', credit: 1, outstanding: 1, lastHeard: 0 },
        { id: 'W2', kind: 'TSR/1', service: 'default', credit: 4, outstanding: 2, lastHeard: 50 },
      ]);
      reply('W1', 'a', 'a W1', 70);
      core.expire(4000); // W2 silent past liveness: forgotten
      expect(core.workerSnapshot()).toEqual([{ id: 'W1', kind: 'seed', service: 'default', credit: 1, outstanding: 1, lastHeard: 70 }]);
    });

    it('is a copy: changing it changes nothing in the core', () => {
      const { core } = setup();
      core.workerReady('W1', 0);
      const snapshot = core.workerSnapshot();
      snapshot[0].outstanding = 99;
      snapshot.pop();
      expect(core.workerSnapshot()).toEqual([{ id: 'W1', kind: 'seed', service: 'default', credit: 1, outstanding: 0, lastHeard: 0 }]);
      core.audit();
    });
  });

  describe('membership is a handshake', () => {
    it('never admits a worker without a ready: a reply from an unknown worker is dropped', () => {
      const { core, take } = setup();
      core.workerReply('W9', encodeTicket(INSTANCE, 1, 1), b('answer'), 0);
      expect(take()).toEqual([]);
      expect(core.readyCount).toBe(0);
      expect(core.stats.dropped).toEqual({ late: 1, stale: 0, foreign: 0 });
    });

    it('refuses readies from generated routing ids (leading zero byte)', () => {
      const { core, take } = setup();
      core.workerReady('\u0000\u006b\u008b\u0045\u0067', 0);
      core.workerReady('\u0000\u006b\u008b\u0045\u0068', 0, HB);
      core.clientRequest(b('C1'), b('a'), 1);
      expect(take()).toEqual([]);
      expect(core.readyCount).toBe(0);
      expect(core.stats.refusedWorkers).toBe(2);
      expect([...core.heartbeatingWorkers()]).toEqual([]);
    });

    it('refuses readies past the worker limit, and admits again once one leaves', () => {
      const { core } = setup({ maxWorkers: 2 });
      for (const w of ['W1', 'W2', 'W3']) core.workerReady(w, 0);
      expect(core.readyCount).toBe(2);
      expect(core.stats.refusedWorkers).toBe(1);
      core.workerGone('W1', 1);
      core.workerReady('W3', 2);
      expect(core.isWorker('W3')).toBe(true);
      core.audit();
    });

    it('a worker that restarts under the same id with a request in hand has it re-dispatched at once', () => {
      const { core, take } = setup();
      core.workerReady('W1', 0);
      core.workerReady('W2', 0);
      core.clientRequest(b('C1'), b('a'), 0);
      core.clientRequest(b('C2'), b('b'), 0);
      take();
      core.workerReady('W1', 50); // W1 lost its request when it restarted
      expect(take()).toEqual(['W1 <- a']);
      expect(core.stats).toMatchObject({ redispatched: 1, workerFailures: 1 });
      expect(core.busyCount).toBe(2);
      core.audit();
    });
  });

  describe('delivery only to the requester', () => {
    it('drops a reply whose ticket is of another broker instance (one that crossed a broker restart)', () => {
      const { core, take } = setup();
      core.workerReady('W1', 0);
      core.clientRequest(b('C1'), b('mine'), 0);
      take();
      core.workerReply('W1', encodeTicket(Buffer.from('previous'), 1, 1), b('old answer'), 1);
      core.workerReply('W1', b('C1'), b('client id as ticket'), 2);
      expect(take()).toEqual([]);
      expect(core.stats.dropped).toEqual({ late: 0, stale: 2, foreign: 0 });
      expect(core.busyCount).toBe(1); // its real task goes on
    });

    it('drops a reply to an awaited dispatch that comes from another worker (a ghost of a reconnect)', () => {
      const { core, take, ticket, reply } = setup();
      core.workerReady('W1', 0);
      core.clientRequest(b('C1'), b('job'), 0);
      take();
      core.workerReply('\u0000ghost', ticket('W1', 'job'), b('job ghost'), 1);
      core.workerReply('W2', ticket('W1', 'job'), b('job W2'), 1);
      expect(take()).toEqual([]);
      expect(core.stats.dropped.foreign).toBe(2);
      reply('W1', 'job', 'job W1', 2);
      expect(take()).toEqual(['C1 <- job W1']);
    });

    it('forwards one answer per request: a duplicate reply is dropped', () => {
      const { core, take, reply } = setup();
      core.workerReady('W1', 0);
      core.clientRequest(b('C1'), b('job'), 0);
      reply('W1', 'job', 'first', 1);
      reply('W1', 'job', 'again', 2);
      expect(take()).toEqual(['W1 <- job', 'C1 <- first']);
      expect(core.stats.dropped.late).toBe(1);
    });
  });

  describe('deadlines', () => {
    it('arms a deadline per dispatch and reports the earliest', () => {
      const { core, reply } = setup({ answerTimeoutMs: 100 });
      expect(core.nextDeadline()).toBeUndefined();
      core.workerReady('W1', 0);
      core.workerReady('W2', 0);
      core.clientRequest(b('C1'), b('a'), 10);
      core.clientRequest(b('C2'), b('b'), 30);
      expect(core.nextDeadline()).toBe(110);
      reply('W1', 'a', 'A', 50);
      expect(core.nextDeadline()).toBe(130);
      reply('W2', 'b', 'B', 60);
      expect(core.nextDeadline()).toBeUndefined();
    });

    it('does nothing before a deadline, and at it re-dispatches the request to another worker', () => {
      const { core, take } = setup({ answerTimeoutMs: 100 });
      core.workerReady('W1', 0);
      core.clientRequest(b('C1'), b('job'), 0);
      core.workerReady('W2', 5);
      take();
      core.expire(99);
      expect(take()).toEqual([]);
      core.expire(100);
      expect(take()).toEqual(['W2 <- job']);
      expect(core.isWorker('W1')).toBe(false);
      expect(core.stats).toMatchObject({ workerFailures: 1, redispatched: 1 });
      expect(core.nextDeadline()).toBe(200);
      core.audit();
    });

    it('puts a failed request ahead of the queue when no worker is ready', () => {
      const { core, take } = setup({ answerTimeoutMs: 100 });
      core.workerReady('W1', 0);
      core.clientRequest(b('C1'), b('first'), 0);
      core.clientRequest(b('C2'), b('second'), 1);
      take();
      core.expire(100);
      expect(take()).toEqual([]);
      expect(core.pendingCount).toBe(2);
      core.workerReady('W2', 101);
      expect(take()).toEqual(['W2 <- first']);
    });

    it('expires every overdue worker in one call, in deadline order', () => {
      const { core, take } = setup({ answerTimeoutMs: 100 });
      for (const w of ['W1', 'W2', 'W3']) core.workerReady(w, 0);
      core.clientRequest(b('C1'), b('a'), 0);
      core.clientRequest(b('C2'), b('b'), 10);
      core.clientRequest(b('C3'), b('c'), 250);
      take();
      core.workerReady('W4', 260);
      core.expire(300);
      // W1's request goes to W4, W2's waits at the head of the queue; W3 is not due yet.
      expect(take()).toEqual(['W4 <- a']);
      expect(core.pendingCount).toBe(1);
      expect(core.busyCount).toBe(2);
      expect(core.nextDeadline()).toBe(350);
    });

    it("a failed seed worker's late reply is dropped, and is its next ready (a REQ worker can send nothing else)", () => {
      const { core, take, reply } = setup({ answerTimeoutMs: 100 });
      core.workerReady('W1', 0);
      core.clientRequest(b('C1'), b('job'), 0);
      core.expire(100); // W1 failed; nobody else is ready
      core.workerReady('W2', 150);
      expect(take()).toEqual(['W1 <- job', 'W2 <- job']);
      reply('W1', 'job', 'job W1', 180); // late
      expect(take()).toEqual([]);
      expect(core.stats.dropped.late).toBe(1);
      expect(core.readyCount).toBe(1); // W1 is alive and free again
      reply('W2', 'job', 'job W2', 190);
      expect(take()).toEqual(['C1 <- job W2']);
      core.clientRequest(b('C2'), b('next'), 200);
      expect(take()).toEqual(['W1 <- next']);
      core.audit();
    });

    it('a failed heartbeating worker is evicted entirely: no heartbeats, no rejoin on a late reply, back only by a ready', () => {
      const { core, take, reply } = setup({ answerTimeoutMs: 100 });
      core.workerReady('W1', 0, HB);
      core.clientRequest(b('C1'), b('job'), 0);
      core.workerHeartbeat('W1', 50);
      core.expire(100);
      expect([...core.heartbeatingWorkers()]).toEqual([]); // so it notices, and announces itself again
      core.workerHeartbeat('W1', 110);
      reply('W1', 'job', 'late', 120);
      expect(core.isWorker('W1')).toBe(false);
      expect(take()).toEqual(['W1 <- job']);
      core.workerReady('W1', 130, HB);
      expect(take()).toEqual(['W1 <- job']);
      expect([...core.heartbeatingWorkers()]).toEqual(['W1']);
    });

    it('a failed worker that answers after its request was re-dispatched and answered causes no duplicate', () => {
      const { core, take, reply } = setup({ answerTimeoutMs: 100 });
      core.workerReady('W1', 0);
      core.workerReady('W2', 0);
      core.clientRequest(b('C1'), b('job'), 0);
      core.expire(100);
      reply('W2', 'job', 'from W2', 120);
      reply('W1', 'job', 'from W1', 130);
      const toClient = take().filter((m) => m.startsWith('C1 <-'));
      expect(toClient).toEqual(['C1 <- from W2']);
    });

    it('remembers a bounded number of failed seed workers, forgetting the oldest', () => {
      const { core, take, reply } = setup({ answerTimeoutMs: 10, failedMemory: 3 });
      for (let i = 0; i < 5; i++) core.workerReady(`W${i}`, 0);
      for (let i = 0; i < 5; i++) core.clientRequest(b(`C${i}`), b(`x${i}`), 0);
      core.expire(10); // all five fail, in deadline order
      take();
      for (let i = 0; i < 5; i++) reply(`W${i}`, `x${i}`, 'late', 20);
      expect([0, 1, 2, 3, 4].map((i) => core.isWorker(`W${i}`))).toEqual([false, false, true, true, true]);
      core.audit();
    });
  });

  describe('request lifetime', () => {
    it('answers "expired" for a request that waited longer than its TTL, and never dispatches it', () => {
      const { core, take } = setup({ requestTtlMs: 1000 });
      core.clientRequest(b('C1'), b('old'), 0);
      core.clientRequest(b('C2'), b('young'), 600);
      expect(core.nextDeadline()).toBe(1000);
      core.expire(999);
      expect(take()).toEqual([]);
      core.expire(1000);
      expect(take()).toEqual(['C1 <- ERR expired']);
      core.workerReady('W1', 1100);
      expect(take()).toEqual(['W1 <- young']);
      expect(core.stats.rejected.expired).toBe(1);
      core.audit();
    });

    it("checks the TTL again when a failed worker's request would go out again", () => {
      const { core, take } = setup({ requestTtlMs: 1000, answerTimeoutMs: 900 });
      core.workerReady('W1', 0);
      core.workerReady('W2', 0);
      core.clientRequest(b('C1'), b('slow'), 0);
      core.clientRequest(b('C2'), b('busy'), 0);
      take();
      core.workerReady('W3', 950);
      core.expire(1000); // both deadlines (900) are seen late: by now both requests are past their TTL
      expect(take()).toEqual(['C1 <- ERR expired', 'C2 <- ERR expired']);
      core.audit();
    });

    it('answers "poison" for a request that has failed as many workers as allowed', () => {
      const { core, take } = setup({ answerTimeoutMs: 100, maxFailures: 2 });
      core.workerReady('W1', 0);
      core.workerReady('W2', 0);
      core.workerReady('W3', 0);
      core.clientRequest(b('C1'), b('poison'), 0);
      core.expire(100); // W1 failed on it: W2 gets it
      core.expire(200); // W2 too: it is not sent to W3
      expect(take()).toEqual(['W1 <- poison', 'W2 <- poison', 'C1 <- ERR poison']);
      expect(core.stats.rejected.poison).toBe(1);
      expect(core.readyCount).toBe(1);
      core.audit();
    });

    it('counts a failure only against the request being served, not those queued behind it', () => {
      const { core, take } = setup({ answerTimeoutMs: 100, maxFailures: 1 });
      core.workerReady('A', 0, { heartbeats: true, credit: 3 });
      core.clientRequest(b('C1'), b('serving'), 0);
      core.clientRequest(b('C2'), b('queued'), 0);
      core.expire(100);
      core.workerReady('B', 110);
      expect(take()).toEqual(['A <- serving', 'A <- queued', 'C1 <- ERR poison', 'B <- queued']);
    });
  });

  describe('bounded resources', () => {
    it('turns a client away at once when the pending queue is full, and queues again once it drains', () => {
      const { core, take } = setup({ maxPending: 2 });
      core.clientRequest(b('C1'), b('a'), 0);
      core.clientRequest(b('C2'), b('b'), 0);
      core.clientRequest(b('C3'), b('c'), 0);
      expect(take()).toEqual(['C3 <- ERR overloaded']);
      expect(core.stats.rejected.overloaded).toBe(1);
      core.workerReady('W1', 1);
      core.clientRequest(b('C4'), b('d'), 2);
      expect(take()).toEqual(['W1 <- a']);
      expect(core.pendingCount).toBe(2);
    });

    it('bounds the bytes held, waiting or in service, and frees them as requests end', () => {
      // Each request costs its body (100) and its client id (2): three fit in 310 bytes.
      const { core, take, reply } = setup({ maxQueueBytes: 310, maxClientBytes: 310 });
      const body = 'x'.repeat(100);
      core.workerReady('W1', 0);
      for (const c of ['C1', 'C2', 'C3', 'C4']) core.clientRequest(b(c), b(body), 0);
      expect(take()).toEqual([`W1 <- ${body}`, 'C4 <- ERR overloaded']);
      expect(core.load().queueBytes).toBe(306);
      reply('W1', body, 'done', 1);
      core.clientRequest(b('C5'), b(body), 2);
      expect(core.load()).toMatchObject({ queueBytes: 306, pending: 2, inService: 1 });
      core.audit();
    });

    it('gives each client a fair share: one flooding client is refused while others are served', () => {
      const { core, take } = setup({ maxQueueBytes: 10_000, maxClientBytes: 300 });
      const body = 'y'.repeat(98);
      for (let i = 0; i < 5; i++) core.clientRequest(b('CF'), b(body), 0); // 100 bytes each
      core.clientRequest(b('C1'), b(body), 0);
      expect(take()).toEqual(['CF <- ERR client-share', 'CF <- ERR client-share']);
      expect(core.load()).toMatchObject({ pending: 4, clients: 2 });
      expect(core.stats.rejected['client-share']).toBe(2);
    });

    it('refuses a request larger than the limit at once', () => {
      const { core, take } = setup({ maxRequestBytes: 10 });
      core.workerReady('W1', 0);
      core.clientRequest(b('C1'), b('12345678901'), 0);
      core.clientRequest(b('C2'), b('1234567890'), 0);
      expect(take()).toEqual(['C1 <- ERR too-large', 'W1 <- 1234567890']);
    });

    it('forgets workers that come and go: bookkeeping stays within its bounds', () => {
      const { core, take, reply } = setup({ answerTimeoutMs: 10, livenessMs: 30, failedMemory: 50 });
      let now = 0;
      for (let i = 0; i < 10_000; i++) {
        core.workerReady(`W${i}`, now, { heartbeats: i % 2 === 0, credit: 1 });
        core.clientRequest(b('C'), b(`x${i}`), now);
        for (const message of take()) {
          const [worker, body] = message.split(' <- ');
          if (worker.startsWith('W') && i % 3 === 0) reply(worker, body, 'ok', now + 1);
        }
        now += 5;
        core.expire(now);
      }
      // Silent seed workers keep failing (requests answered "poison"), and what waits expires.
      for (let round = 0; round < 5; round++) core.expire((now += 1000));
      core.expire((now += 60_000));
      core.audit();
      const load = core.load();
      expect(core.stats.replies).toBeGreaterThan(3000);
      expect(load.heartbeating).toBe(0); // every heartbeating worker fell silent and is gone
      expect(load.workers).toBe(load.ready); // only idle seed workers may be left
      expect(load.failedRemembered).toBeLessThanOrEqual(50);
      expect(load.inService + load.pending).toBe(0);
    });
  });

  describe('heartbeats (liveness)', () => {
    it('drops a silent idle heartbeating worker from the ready queue after the liveness window', () => {
      const { core, take } = setup({ livenessMs: 300 });
      core.workerReady('W1', 0, HB);
      core.workerReady('W2', 0, HB);
      core.workerHeartbeat('W2', 250);
      expect(core.nextDeadline()).toBe(300);
      core.expire(299);
      expect(core.readyCount).toBe(2);
      core.expire(300);
      expect(core.readyCount).toBe(1);
      expect(core.stats.workersLost).toBe(1);
      expect([...core.heartbeatingWorkers()]).toEqual(['W2']);
      core.clientRequest(b('C1'), b('a'), 301);
      expect(take()).toEqual(['W2 <- a']);
    });

    it('never drops a seed worker (no heartbeats) for silence', () => {
      const { core } = setup({ livenessMs: 300 });
      core.workerReady('seed', 0);
      core.expire(1_000_000);
      expect(core.readyCount).toBe(1);
      expect([...core.heartbeatingWorkers()]).toEqual([]);
      expect(core.nextDeadline()).toBeUndefined();
    });

    it('any message from a worker counts as a sign of life', () => {
      const { core, reply } = setup({ livenessMs: 300, answerTimeoutMs: 10_000 });
      core.workerReady('W1', 0, HB);
      core.clientRequest(b('C1'), b('a'), 200);
      reply('W1', 'a', 'A', 400);
      core.expire(650);
      expect(core.readyCount).toBe(1);
      core.expire(700);
      expect(core.readyCount).toBe(0);
    });

    it('re-dispatches the request of a busy worker that falls silent before its answer deadline', () => {
      const { core, take } = setup({ livenessMs: 300, answerTimeoutMs: 10_000 });
      core.workerReady('W1', 0, HB);
      core.workerReady('W2', 0);
      core.clientRequest(b('C1'), b('a'), 10);
      expect(take()).toEqual(['W1 <- a']);
      core.expire(299);
      expect(take()).toEqual([]);
      core.expire(300);
      expect(take()).toEqual(['W2 <- a']);
      expect(core.isWorker('W1')).toBe(false);
      expect(core.stats).toMatchObject({ workersLost: 1, workerFailures: 1, redispatched: 1 });
    });

    it('ignores heartbeats from workers it does not know, so they announce themselves again', () => {
      const { core } = setup();
      core.workerHeartbeat('stranger', 0);
      expect(core.readyCount).toBe(0);
      expect([...core.heartbeatingWorkers()]).toEqual([]);
      core.workerReady('stranger', 1, HB);
      expect([...core.heartbeatingWorkers()]).toEqual(['stranger']);
    });

    it('a worker saying goodbye leaves the ready queue, and its request goes elsewhere at once', () => {
      const { core, take } = setup();
      for (const w of ['W1', 'W2', 'W3']) core.workerReady(w, 0, HB);
      core.clientRequest(b('C1'), b('a'), 1);
      take();
      core.workerGone('W2', 2); // idle
      core.workerGone('W1', 3); // busy: C1's request moves to W3
      expect(take()).toEqual(['W3 <- a']);
      expect(core.readyCount).toBe(0);
      expect([...core.heartbeatingWorkers()]).toEqual(['W3']);
      expect(core.stats).toMatchObject({ redispatched: 1, workerFailures: 0 });
    });

    it('a worker that returns after being dropped is served again', () => {
      const { core, take } = setup({ livenessMs: 100 });
      core.workerReady('W1', 0, HB);
      core.expire(100);
      expect(core.readyCount).toBe(0);
      core.workerReady('W1', 500, HB);
      core.clientRequest(b('C1'), b('a'), 501);
      expect(take()).toEqual(['W1 <- a']);
    });
  });

  describe('credit: workers that hold several requests', () => {
    const CREDIT3 = { heartbeats: true, credit: 3 };

    it('sends a worker up to its credit, round robin between workers with credit left', () => {
      const { core, take, reply } = setup();
      core.workerReady('A', 0, CREDIT3);
      core.workerReady('B', 0, CREDIT3);
      for (let i = 1; i <= 7; i++) core.clientRequest(b(`C${i}`), b(`x${i}`), 1);
      expect(take()).toEqual(['A <- x1', 'B <- x2', 'A <- x3', 'B <- x4', 'A <- x5', 'B <- x6']);
      expect(core.pendingCount).toBe(1);
      expect(core.readyCount).toBe(0);
      reply('B', 'x2', 'y', 2); // a free slot takes the waiting request at once
      expect(take()).toEqual(['C2 <- y', 'B <- x7']);
      reply('A', 'x1', 'y', 3);
      expect(take()).toEqual(['C1 <- y']);
      expect(core.readyCount).toBe(1);
      core.audit();
    });

    it('restarts the deadline on each reply: a worker fails only when it makes no progress', () => {
      const { core, take, reply } = setup({ answerTimeoutMs: 100 });
      core.workerReady('A', 0, CREDIT3);
      core.clientRequest(b('C1'), b('1'), 0);
      core.clientRequest(b('C2'), b('2'), 10);
      expect(core.nextDeadline()).toBe(100);
      reply('A', '1', 'r1', 90);
      expect(core.nextDeadline()).toBe(190);
      core.expire(150);
      expect(core.isWorker('A')).toBe(true);
      reply('A', '2', 'r2', 180);
      expect(take()).toEqual(['A <- 1', 'A <- 2', 'C1 <- r1', 'C2 <- r2']);
      expect(core.nextDeadline()).toBe(180 + 3000); // no request held: only the liveness window is left
    });

    it("a failed worker's requests all go elsewhere in order, ahead of the queue; its late replies are all dropped", () => {
      const { core, take, reply } = setup({ answerTimeoutMs: 100 });
      core.workerReady('A', 0, CREDIT3);
      for (const c of ['C1', 'C2', 'C3', 'C4']) core.clientRequest(b(c), b(`x${c}`), 0);
      take();
      core.expire(100);
      expect(core.stats).toMatchObject({ workerFailures: 1, redispatched: 3 });
      core.workerReady('B', 110);
      expect(take()).toEqual(['B <- xC1']);
      for (const c of ['C1', 'C2', 'C3']) reply('A', `x${c}`, 'late', 120);
      expect(take()).toEqual([]);
      expect(core.isWorker('A')).toBe(false);
      expect(core.stats.dropped.late).toBe(3);
      expect(core.stats.replies).toBe(0);
      core.audit();
    });

    it("matches a reply to its dispatch wherever it is in the worker's queue", () => {
      const { core, take, reply } = setup();
      core.workerReady('A', 0, CREDIT3);
      core.clientRequest(b('C1'), b('1'), 0);
      core.clientRequest(b('C2'), b('2'), 0);
      take();
      reply('A', '2', 'r2', 1);
      expect(take()).toEqual(['C2 <- r2']);
      expect(core.busyCount).toBe(1);
      reply('A', '1', 'r1', 3);
      expect(core.busyCount).toBe(0);
    });

    it('a worker that restarts under the same id with requests in hand has them re-dispatched', () => {
      const { core, take } = setup();
      core.workerReady('A', 0, CREDIT3);
      core.workerReady('B', 0);
      core.clientRequest(b('C1'), b('1'), 0); // A
      core.clientRequest(b('C2'), b('2'), 0); // B
      core.clientRequest(b('C3'), b('3'), 0); // A
      take();
      core.workerReady('A', 5, CREDIT3);
      expect(take()).toEqual(['A <- 1', 'A <- 3']);
      expect(core.stats).toMatchObject({ redispatched: 2, workerFailures: 1 });
    });
  });

  describe('services', () => {
    /** A TSR/1 worker of `service`. */
    const of = (service: string, credit = 1) => ({ heartbeats: true, credit, service });
    const ask = (core: AuditedBrokerCore, client: string, body: string, now: number, service: string) =>
      core.clientRequest(b(client), b(body), now, service, b(body));

    it("sends a service's requests only to its own workers, first in first out, and answers with the request's id", () => {
      const { core, take, reply } = setup();
      core.workerReady('A1', 0, of('upper'));
      core.workerReady('E1', 0);
      ask(core, 'C1', 'u1', 1, 'upper');
      ask(core, 'C1', 'u2', 2, 'upper');
      ask(core, 'C2', 'u3', 3, 'upper');
      core.clientRequest(b('C3'), b('plain'), 4);
      expect(take()).toEqual(['A1 <- u1', 'E1 <- plain']);
      reply('A1', 'u1', 'U1', 5);
      reply('E1', 'plain', 'plain E1', 5);
      expect(take()).toEqual(['C1#u1 <- U1', 'A1 <- u2', 'C3 <- plain E1']);
      reply('A1', 'u2', 'U2', 6);
      expect(take()).toEqual(['C1#u2 <- U2', 'A1 <- u3']);
      core.audit(6);
    });

    it('lets no service starve another: a backlog on one leaves the other served at once', () => {
      const { core, take } = setup({ maxPending: 100 });
      core.workerReady('A1', 0, of('slow'));
      core.workerReady('B1', 0, of('fast'));
      for (let i = 0; i < 50; i++) ask(core, 'C1', `s${i}`, 1, 'slow');
      take();
      ask(core, 'C2', 'f1', 2, 'fast');
      expect(take()).toEqual(['B1 <- f1']);
      expect(core.serviceSnapshot()).toEqual([
        { name: 'fast', workers: 1, ready: 0, busy: 1, waiting: 0 },
        { name: 'slow', workers: 1, ready: 0, busy: 1, waiting: 49 },
      ]);
      core.audit(2);
    });

    it('answers no-service when no worker serves the service within the grace period, and serves it when one comes in time', () => {
      const { core, take } = setup({ serviceGraceMs: 500 });
      ask(core, 'C1', 'x1', 0, 'nobody');
      core.expire(499);
      expect(take()).toEqual([]);
      expect(core.nextDeadline()).toBe(500);
      core.expire(500);
      expect(take()).toEqual(['C1#x1 <- ERR no-service nobody']);
      expect(core.load().services).toBe(0); // forgotten: unknown names cannot pile up
      ask(core, 'C1', 'x2', 600, 'late');
      core.workerReady('L1', 900, of('late'));
      core.expire(1200);
      expect(take()).toEqual(['L1 <- x2']);
      core.audit(1200);
    });

    it('refuses no-service only after the startup grace: workers need time to find a restarted broker', () => {
      const { core, take } = setup({ serviceGraceMs: 500, startedAt: 1000, startupGraceMs: 4000 });
      ask(core, 'C1', 'x1', 1000, 'svc');
      expect(core.nextDeadline()).toBe(5000);
      core.expire(4999);
      expect(take()).toEqual([]);
      core.expire(5000);
      expect(take()).toEqual(['C1#x1 <- ERR no-service svc']);
      ask(core, 'C1', 'x2', 6000, 'svc');
      core.expire(6500);
      expect(take()).toEqual(['C1#x2 <- ERR no-service svc']);
    });

    it("gives a service's waiting requests the grace again from the moment its last worker fails", () => {
      const { core, take } = setup({ serviceGraceMs: 500, answerTimeoutMs: 1000, requestTtlMs: 60_000 });
      core.workerReady('A1', 0, of('svc'));
      ask(core, 'C1', 'r1', 0, 'svc');
      ask(core, 'C1', 'r2', 0, 'svc');
      take();
      core.expire(1000); // A1 misses its deadline: r1 goes back, behind nothing
      core.expire(1499);
      expect(take()).toEqual([]);
      core.expire(1500);
      expect(take()).toEqual(['C1#r1 <- ERR no-service svc', 'C1#r2 <- ERR no-service svc']);
      core.audit(1500);
    });

    it('answers a handler failure as an error and keeps the worker', () => {
      const { core, take, ticket } = setup();
      core.workerReady('A1', 0, of('svc'));
      ask(core, 'C1', 'r1', 0, 'svc');
      core.clientRequest(b('C2'), b('p1'), 0); // plain, to the default service: waits
      take();
      core.workerReply('A1', ticket('A1', 'r1'), b('bad input'), 1, true);
      expect(take()).toEqual(['C1#r1 <- ERR handler bad input']);
      expect(core.stats.rejected.handler).toBe(1);
      ask(core, 'C1', 'r2', 2, 'svc');
      expect(take()).toEqual(['A1 <- r2']);
      core.audit(2);
    });

    it('answers discovery itself: every service, or the one named, with ready, busy and waiting counts', () => {
      const { core, take } = setup();
      core.workerReady('A1', 0, of('svc', 2));
      core.workerReady('A2', 0, of('svc'));
      core.workerReady('E1', 0);
      ask(core, 'C1', 'r1', 0, 'svc');
      take();
      core.clientRequest(b('C9'), Buffer.alloc(0), 1, 'tsr.services', b('q'));
      ask(core, 'C9', 'default', 1, 'tsr.services');
      const [all, one] = take();
      expect(JSON.parse(all.replace('C9#q <- ', ''))).toEqual([
        { name: 'default', workers: 1, ready: 1, busy: 0, waiting: 0 },
        { name: 'svc', workers: 2, ready: 1, busy: 1, waiting: 0 },
      ]);
      expect(JSON.parse(one.replace('C9#default <- ', ''))).toEqual([{ name: 'default', workers: 1, ready: 1, busy: 0, waiting: 0 }]);
      expect(core.stats.discoveries).toBe(2);
      core.audit(1);
    });

    it("bounds one service's bytes and the number of services", () => {
      const { core, take } = setup({ maxServiceBytes: 100, maxServices: 2, maxQueueBytes: 1000, maxClientBytes: 1000 });
      ask(core, 'C1', 'a'.repeat(90), 0, 'one');
      ask(core, 'C2', 'b'.repeat(20), 0, 'one');
      ask(core, 'C3', 'c', 0, 'two');
      ask(core, 'C3', 'd', 0, 'three');
      expect(take()).toEqual([`C2#${'b'.repeat(20)} <- ERR overloaded`, 'C3#d <- ERR overloaded']);
      core.workerReady('W3', 0, of('three'));
      expect(core.isWorker('W3')).toBe(false);
      expect(core.stats.refusedWorkers).toBe(1);
      core.audit(0);
    });

    it('moves a worker that announces another service, and refuses bad requests', () => {
      const { core, take } = setup({ serviceGraceMs: 100 });
      core.workerReady('A1', 0, of('one'));
      core.workerReady('A1', 1, of('two'));
      ask(core, 'C1', 'r1', 2, 'two');
      ask(core, 'C1', 'r2', 2, 'one');
      core.badRequest(b('C2'), b('id'), 'invalid service name');
      core.expire(102);
      expect(take()).toEqual(['A1 <- r1', 'C2#id <- ERR bad-request invalid service name', 'C1#r2 <- ERR no-service one']);
      core.audit(102);
    });
  });

  describe('leases: a worker of several brokers moves its credit between them', () => {
    const LEASING = { heartbeats: true, credit: 0 };

    it('a ready with credit 0 registers a worker that is sent nothing until it lends a window, and is told when requests wait', () => {
      const { core, take } = setup();
      core.workerReady('W1', 0, LEASING);
      expect(core.serviceSnapshot()).toEqual([{ name: 'default', workers: 1, ready: 1, busy: 0, waiting: 0 }]);
      core.clientRequest(b('C1'), b('r1'), 1);
      core.clientRequest(b('C1'), b('r2'), 1);
      expect(take()).toEqual(['W1 <- WANT']); // once, not per request
      core.workerCredit('W1', 1, 2);
      expect(take()).toEqual(['W1 <- r1', 'W1 <- CREDIT 1', 'W1 <- WANT']); // the dispatch before its acknowledgement; r2 still waits
      core.audit(2);
    });

    it('a smaller window takes effect at the next dispatch: what the worker holds stays its to answer', () => {
      const { core, take, reply } = setup();
      core.workerReady('W1', 0, { heartbeats: true, credit: 3 });
      for (const r of ['r1', 'r2', 'r3']) core.clientRequest(b('C1'), b(r), 1);
      core.workerCredit('W1', 1, 2);
      expect(take()).toEqual(['W1 <- r1', 'W1 <- r2', 'W1 <- r3', 'W1 <- CREDIT 1']);
      core.audit(2);
      core.clientRequest(b('C1'), b('r4'), 3);
      expect(take()).toEqual(['W1 <- WANT']);
      reply('W1', 'r1', 'a1', 4);
      reply('W1', 'r2', 'a2', 4);
      expect(take()).toEqual(['C1 <- a1', 'C1 <- a2']); // holds 1 of window 1: r4 still waits
      reply('W1', 'r3', 'a3', 5);
      expect(take()).toEqual(['C1 <- a3', 'W1 <- r4']);
      core.audit(5);
    });

    it('a worker that lends a window to a waiting queue takes from it at once; one told of demand is not told again until it moves', () => {
      const { core, take } = setup();
      core.workerReady('W1', 0, LEASING);
      core.workerReady('W2', 0, LEASING);
      core.clientRequest(b('C1'), b('r1'), 1);
      expect(take()).toEqual(['W1 <- WANT', 'W2 <- WANT']);
      core.clientRequest(b('C1'), b('r2'), 1);
      expect(take()).toEqual([]);
      core.workerCredit('W2', 2, 2);
      expect(take()).toEqual(['W2 <- r1', 'W2 <- r2', 'W2 <- CREDIT 2']);
      core.clientRequest(b('C1'), b('r3'), 3);
      expect(take()).toEqual(['W2 <- WANT']); // W1 was told already and has not moved
      expect(core.stats).toMatchObject({ credits: 1, wants: 3 });
      core.audit(3);
    });

    it('requests of a failed worker that wait again are announced to the workers that lend nothing', () => {
      const { core, take } = setup();
      core.workerReady('W1', 0, HB);
      core.workerReady('W2', 0, LEASING);
      core.clientRequest(b('C1'), b('r1'), 1);
      expect(take()).toEqual(['W1 <- r1']);
      core.expire(4000); // W1 silent: r1 waits again
      expect(take()).toEqual(['W2 <- WANT']);
      core.audit(4000);
    });

    it('reminds, with each heartbeat, every leasing worker of a service that has requests waiting (not one whose new connection has not said ready)', () => {
      const { core, take } = setup();
      core.workerReady('W1', 0, LEASING);
      core.workerReady('W2', 0, { heartbeats: true, credit: 1, service: 'other' });
      core.workerCredit('W2', 1, 0); // leases too, but its service has no queue
      core.workerReady('W3', 0, LEASING);
      expect([...core.demand()]).toEqual([]);
      core.clientRequest(b('C1'), b('r1'), 1);
      take();
      expect([...core.demand()]).toEqual(['W1', 'W3']);
      core.workerDisconnected('W3', 2, true);
      expect([...core.demand()]).toEqual(['W1']);
      core.workerGone('W1', 3);
      expect([...core.demand()]).toEqual([]);
    });

    it('a credit from a worker it does not know is ignored', () => {
      const { core, take } = setup();
      core.workerCredit('W9', 3, 0);
      expect(take()).toEqual([]);
      expect(core.stats.credits).toBe(0);
    });
  });

  it('forgets a TSR/1 worker whose connection is gone, moving what it held on at once; keeps a seed worker, which cannot announce itself again', () => {
    const { core, take } = setup();
    core.workerReady('W1', 0, HB);
    core.workerReady('S1', 0); // a seed worker
    core.clientRequest(b('C1'), b('r1'), 1);
    core.clientRequest(b('C1'), b('r2'), 1);
    expect(take()).toEqual(['W1 <- r1', 'S1 <- r2']);
    core.workerReady('W2', 2, HB);
    core.workerDisconnected('W1', 3);
    expect(take()).toEqual(['W2 <- r1']);
    expect(core.stats).toMatchObject({ redispatched: 1, workerFailures: 1 });
    core.workerDisconnected('S1', 4);
    core.workerDisconnected('W9', 4); // unknown: nothing
    expect(core.isWorker('W1')).toBe(false);
    expect(core.isWorker('S1')).toBe(true);
    core.workerDisconnected('W2', 5); // held r1: a failure again
    expect(core.stats.workerFailures).toBe(2);
    core.audit(5);
  });

  it('sends nothing to a TSR/1 worker whose connection was handed over until the new one says ready; what it holds stays its own', () => {
    const { core, take, reply } = setup();
    core.workerReady('W1', 0, { heartbeats: true, credit: 2 });
    core.clientRequest(b('C1'), b('r1'), 1);
    expect(take()).toEqual(['W1 <- r1']);
    core.workerDisconnected('W1', 2, true);
    core.clientRequest(b('C1'), b('r2'), 3);
    expect(take()).toEqual([]); // it has credit left, but its new connection has not said ready
    core.audit(3);
    reply('W1', 'r1', 'a1', 4); // an answer of the old connection still counts
    expect(take()).toEqual(['C1 <- a1']);
    core.workerReady('W1', 5, { heartbeats: true, credit: 2 });
    expect(take()).toEqual(['W1 <- r2']);
    core.audit(5);
  });

  describe("a request's own deadline", () => {
    /** The deadline, on the core's clock. */
    const within = (at: number) => ({ deadline: at });

    it('drops a waiting request unanswered when it passes, among others that wait on; the TTL still caps the rest', () => {
      const { core, take } = setup({ requestTtlMs: 5000, serviceGraceMs: 60_000 });
      core.clientRequest(b('C1'), b('long'), 0, 'default', b('1'), within(9000));
      core.clientRequest(b('C1'), b('short'), 0, 'default', b('2'), within(100));
      core.clientRequest(b('C1'), b('none'), 0, 'default', b('3'));
      expect(core.nextDeadline()).toBe(100);
      core.expire(99);
      expect(take()).toEqual([]);
      core.expire(100);
      expect(take()).toEqual(['dropped short (queue)']);
      expect(core.pendingCount).toBe(2);
      core.audit(100);
      expect(core.nextDeadline()).toBe(5000);
      core.expire(5000); // the TTL, before the first request's own 9 s: answered, the client still waits
      expect(take()).toEqual(['C1#1 <- ERR expired', 'C1#3 <- ERR expired']);
      expect(core.stats.deadlinePassed).toEqual({ queue: 1, answer: 0 });
      core.audit(5000);
    });

    it('never dispatches a request at or past its deadline, even before the sweep: the next one goes', () => {
      const { core, take } = setup();
      core.clientRequest(b('C1'), b('a'), 0, 'default', b('1'), within(50));
      core.clientRequest(b('C1'), b('b'), 0, 'default', b('2'), within(500));
      core.workerReady('W1', 50, HB);
      expect(take()).toEqual(['dropped a (queue)', 'W1 <- b']);
      core.audit(50);
    });

    it('drops a request that arrives with no time left, and the answer to one whose deadline passed in service', () => {
      const { core, take, reply } = setup();
      core.workerReady('W1', 0, { heartbeats: true, credit: 2 });
      core.clientRequest(b('C1'), b('late'), 10, 'default', b('1'), within(10));
      expect(take()).toEqual(['dropped late (queue)']);
      core.clientRequest(b('C1'), b('slow'), 10, 'default', b('2'), within(110));
      expect(take()).toEqual(['W1 <- slow']);
      reply('W1', 'slow', 'done', 110);
      expect(take()).toEqual(['dropped slow (answer)']);
      expect(core.load()).toMatchObject({ inService: 0, queueBytes: 0 });
      core.clientRequest(b('C1'), b('ok'), 200, 'default', b('3'), within(300));
      reply('W1', 'ok', 'fine', 299);
      expect(take()).toEqual(['W1 <- ok', 'C1#3 <- fine']);
      core.audit(299);
    });

    it("keeps the queue's order and bounds while dropped requests sit behind live ones", () => {
      const { core, take } = setup({ maxPending: 2 });
      core.clientRequest(b('C1'), b('first'), 0, 'default', b('1'), within(1000));
      core.clientRequest(b('C1'), b('second'), 0, 'default', b('2'), within(10));
      core.expire(10);
      expect(take()).toEqual(['dropped second (queue)']);
      core.clientRequest(b('C1'), b('third'), 20, 'default', b('3'));
      expect(take()).toEqual([]); // the dropped one no longer counts against maxPending
      core.audit(20);
      core.workerReady('W1', 30, { heartbeats: true, credit: 3 });
      expect(take()).toEqual(['W1 <- first', 'W1 <- third']);
      core.audit(30);
    });

    it('re-dispatches the requests of a failed worker that still have time, and drops those that have none', () => {
      const { core, take } = setup({ answerTimeoutMs: 100 });
      core.workerReady('W1', 0, { heartbeats: true, credit: 2 });
      core.clientRequest(b('C1'), b('keeps'), 0, 'default', b('1'), within(1000));
      core.clientRequest(b('C1'), b('runs-out'), 0, 'default', b('2'), within(100));
      core.workerReady('W2', 0, HB);
      take();
      core.expire(100); // W1 missed its answer deadline at 100, when runs-out's own passed too
      expect(take()).toEqual(['dropped runs-out (queue)', 'W2 <- keeps']);
      core.audit(100);
    });
  });

  it("drops a request at its turn when its client's connection is gone, and serves the next", () => {
    const gone = new Set<string>();
    const { core, take } = setup({}, gone);
    core.clientRequest(b('C1'), b('first try'), 0, 'default', b('1'));
    core.clientRequest(b('C1#1'), b('retry'), 10, 'default', b('1'));
    gone.add('C1'); // the client retried on a new connection: the first copy's answer could reach no one
    core.workerReady('W1', 20, HB);
    expect(take()).toEqual(['abandoned first try', 'W1 <- retry']);
    expect(core.stats.abandoned).toBe(1);
    expect(core.load()).toMatchObject({ pending: 0, inService: 1 });
    core.audit(20);
  });
});
