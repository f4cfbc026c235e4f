import { BrokerCore, type BrokerCoreOptions } from './broker-core';

/** A core wired to a recorder: every message it emits, in order, as readable strings. */
function setup(options: Partial<BrokerCoreOptions> = {}) {
  const sent: string[] = [];
  const core = new BrokerCore(
    {
      toWorker: (worker, client, body) => sent.push(`${worker} <- ${client}:${body}`),
      toClient: (client, body) => sent.push(`${client} <- ${body}`),
      overloaded: (client) => sent.push(`${client} <- OVERLOADED`),
    },
    { answerTimeoutMs: 2000, livenessMs: 3000, maxPending: 1000, failedMemory: 100, ...options },
  );
  const take = () => sent.splice(0);
  return { core, take };
}

const b = (s: string) => Buffer.from(s);
/** A worker that speaks heartbeats, one request at a time. */
const HB = { heartbeats: true, credit: 1 };

describe('BrokerCore', () => {
  it('sends a request to a ready worker at once and the reply back to its client', () => {
    const { core, take } = setup();
    core.workerReady('W1', 0);
    core.clientRequest(b('C1'), b('hello'), 10);
    expect(take()).toEqual(['W1 <- C1:hello']);
    core.workerReply('W1', b('C1'), b('hello W1'), 20);
    expect(take()).toEqual(['C1 <- hello W1']);
    expect(core.readyCount).toBe(1);
    expect(core.stats).toMatchObject({ requests: 1, replies: 1, dispatched: 1 });
  });

  it('queues requests in FIFO order while no worker is ready', () => {
    const { core, take } = setup();
    core.clientRequest(b('C1'), b('r1'), 0);
    core.clientRequest(b('C2'), b('r2'), 0);
    core.clientRequest(b('C3'), b('r3'), 0);
    expect(take()).toEqual([]);
    expect(core.pendingCount).toBe(3);
    core.workerReady('W1', 1);
    expect(take()).toEqual(['W1 <- C1:r1']);
    core.workerReply('W1', b('C1'), b('a1'), 2);
    expect(take()).toEqual(['C1 <- a1', 'W1 <- C2:r2']);
    core.workerReady('W2', 3);
    expect(take()).toEqual(['W2 <- C3:r3']);
    expect(core.pendingCount).toBe(0);
  });

  it('balances over ready workers least recently used first', () => {
    const { core, take } = setup();
    for (const w of ['W1', 'W2', 'W3']) core.workerReady(w, 0);
    core.clientRequest(b('C1'), b('a'), 1);
    core.clientRequest(b('C2'), b('b'), 1);
    expect(take()).toEqual(['W1 <- C1:a', 'W2 <- C2:b']);
    core.workerReply('W2', b('C2'), b('B'), 2); // W2 is now behind W3
    core.workerReply('W1', b('C1'), b('A'), 3); // and W1 behind W2
    take();
    core.clientRequest(b('C3'), b('c'), 4);
    core.clientRequest(b('C4'), b('d'), 4);
    core.clientRequest(b('C5'), b('e'), 4);
    expect(take()).toEqual(['W3 <- C3:c', 'W2 <- C4:d', 'W1 <- C5:e']);
  });

  it('does not queue a worker twice when it announces itself again while ready', () => {
    const { core, take } = setup();
    core.workerReady('W1', 0);
    core.workerReady('W1', 1);
    expect(core.readyCount).toBe(1);
    core.clientRequest(b('C1'), b('a'), 2);
    core.clientRequest(b('C2'), b('b'), 2);
    expect(take()).toEqual(['W1 <- C1:a']);
    expect(core.pendingCount).toBe(1);
  });

  describe('deadlines', () => {
    it('arms a deadline per dispatch and reports the earliest', () => {
      const { core } = setup({ answerTimeoutMs: 100 });
      expect(core.nextDeadline()).toBeUndefined();
      core.workerReady('W1', 0);
      core.workerReady('W2', 0);
      core.clientRequest(b('C1'), b('a'), 10);
      core.clientRequest(b('C2'), b('b'), 30);
      expect(core.nextDeadline()).toBe(110);
      core.workerReply('W1', b('C1'), b('A'), 50);
      expect(core.nextDeadline()).toBe(130);
      core.workerReply('W2', b('C2'), b('B'), 60);
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
      expect(take()).toEqual(['W2 <- C1:job']);
      expect(core.isFailed('W1')).toBe(true);
      expect(core.stats).toMatchObject({ workerFailures: 1, redispatched: 1 });
      expect(core.nextDeadline()).toBe(200);
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
      expect(take()).toEqual(['W2 <- C1:first']);
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
      expect(take()).toEqual(['W4 <- C1:a']);
      expect(core.pendingCount).toBe(1);
      expect(core.busyCount).toBe(2);
      expect(core.nextDeadline()).toBe(350);
    });

    it('drops the late reply of a failed worker, never forwarding it, and lets the worker rejoin', () => {
      const { core, take } = setup({ answerTimeoutMs: 100 });
      core.workerReady('W1', 0);
      core.clientRequest(b('C1'), b('job'), 0);
      core.expire(100); // W1 failed; nobody else is ready
      core.workerReady('W2', 150);
      expect(take()).toEqual(['W1 <- C1:job', 'W2 <- C1:job']);
      core.workerReply('W1', b('C1'), b('job W1'), 180); // late
      expect(take()).toEqual([]);
      expect(core.stats.lateReplies).toBe(1);
      expect(core.isFailed('W1')).toBe(false);
      expect(core.readyCount).toBe(1); // W1 is alive and free again
      core.workerReply('W2', b('C1'), b('job W2'), 190);
      expect(take()).toEqual(['C1 <- job W2']);
      core.clientRequest(b('C2'), b('next'), 200);
      expect(take()).toEqual(['W1 <- C2:next']);
    });

    it('a failed worker that answers after its request was re-dispatched and answered causes no duplicate', () => {
      const { core, take } = setup({ answerTimeoutMs: 100 });
      core.workerReady('W1', 0);
      core.workerReady('W2', 0);
      core.clientRequest(b('C1'), b('job'), 0);
      core.expire(100);
      core.workerReply('W2', b('C1'), b('from W2'), 120);
      core.workerReply('W1', b('C1'), b('from W1'), 130);
      const toClient = take().filter((m) => m.startsWith('C1 <-'));
      expect(toClient).toEqual(['C1 <- from W2']);
    });

    it('remembers a bounded number of failed workers, forgetting the oldest', () => {
      const { core } = setup({ answerTimeoutMs: 1, failedMemory: 3 });
      for (let i = 0; i < 5; i++) {
        core.workerReady(`W${i}`, i * 10);
        core.clientRequest(b('C'), b('x'), i * 10);
        core.expire(i * 10 + 1);
      }
      expect([0, 1, 2, 3, 4].map((i) => core.isFailed(`W${i}`))).toEqual([false, false, true, true, true]);
    });
  });

  it('re-dispatches at once the task of a worker that restarts under the same id', () => {
    const { core, take } = setup();
    core.workerReady('W1', 0);
    core.workerReady('W2', 0);
    core.clientRequest(b('C1'), b('a'), 0);
    core.clientRequest(b('C2'), b('b'), 0);
    take();
    core.workerReady('W1', 50); // W1 lost C1's request when it restarted
    expect(take()).toEqual(['W1 <- C1:a']);
    expect(core.stats.redispatched).toBe(1);
    expect(core.stats.workerFailures).toBe(0);
    expect(core.busyCount).toBe(2);
  });

  it('forwards an answer for another client than the current task, and keeps that task running', () => {
    const { core, take } = setup();
    core.workerReady('W1', 0);
    core.clientRequest(b('C1'), b('now'), 0);
    take();
    core.workerReply('W1', b('C0'), b('earlier'), 5);
    expect(take()).toEqual(['C0 <- earlier']);
    expect(core.busyCount).toBe(1);
    core.workerReply('W1', b('C1'), b('NOW'), 6);
    expect(take()).toEqual(['C1 <- NOW']);
    expect(core.readyCount).toBe(1);
  });

  it('forwards a reply from a worker it never dispatched to, as the seed does (e.g. after a broker restart)', () => {
    const { core, take } = setup();
    core.workerReply('W9', b('C7'), b('answer'), 0);
    expect(take()).toEqual(['C7 <- answer']);
    expect(core.readyCount).toBe(1);
  });

  describe('bounded resources', () => {
    it('turns a client away at once when the pending queue is full, and queues again once it drains', () => {
      const { core, take } = setup({ maxPending: 2 });
      core.clientRequest(b('C1'), b('a'), 0);
      core.clientRequest(b('C2'), b('b'), 0);
      core.clientRequest(b('C3'), b('c'), 0);
      expect(take()).toEqual(['C3 <- OVERLOADED']);
      expect(core.stats.rejected).toBe(1);
      core.workerReady('W1', 1);
      core.clientRequest(b('C4'), b('d'), 2);
      expect(take()).toEqual(['W1 <- C1:a']);
      expect(core.pendingCount).toBe(2);
    });

    it('forgets workers that come and go: bookkeeping stays bounded', () => {
      const { core } = setup({ answerTimeoutMs: 10, livenessMs: 30, failedMemory: 50 });
      let now = 0;
      for (let i = 0; i < 10_000; i++) {
        core.workerReady(`W${i}`, now, { heartbeats: i % 2 === 0, credit: 1 });
        core.clientRequest(b('C'), b('x'), now);
        if (i % 3 === 0) core.workerReply(`W${i}`, b('C'), b('ok'), now + 1);
        now += 5;
        core.expire(now);
      }
      core.expire(now + 1000);
      expect(core.trackedIds).toBeLessThanOrEqual(50 + core.readyCount + core.busyCount);
      expect(core.readyCount).toBeLessThan(5000); // seed workers never fall silent, so many are ready
      expect(core.busyCount).toBe(0);
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
      expect(take()).toEqual(['W2 <- C1:a']);
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
      const { core } = setup({ livenessMs: 300, answerTimeoutMs: 10_000 });
      core.workerReady('W1', 0, HB);
      core.clientRequest(b('C1'), b('a'), 200);
      core.workerReply('W1', b('C1'), b('A'), 400);
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
      expect(take()).toEqual(['W1 <- C1:a']);
      core.expire(299);
      expect(take()).toEqual([]);
      core.expire(300);
      expect(take()).toEqual(['W2 <- C1:a']);
      expect(core.isFailed('W1')).toBe(true);
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
      expect(take()).toEqual(['W3 <- C1:a']);
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
      expect(take()).toEqual(['W1 <- C1:a']);
    });
  });

  describe('credit: workers that hold several requests', () => {
    const CREDIT3 = { heartbeats: true, credit: 3 };

    it('sends a worker up to its credit, round robin between workers with credit left', () => {
      const { core, take } = setup();
      core.workerReady('A', 0, CREDIT3);
      core.workerReady('B', 0, CREDIT3);
      for (let i = 1; i <= 7; i++) core.clientRequest(b(`C${i}`), b('x'), 1);
      expect(take()).toEqual(['A <- C1:x', 'B <- C2:x', 'A <- C3:x', 'B <- C4:x', 'A <- C5:x', 'B <- C6:x']);
      expect(core.pendingCount).toBe(1);
      expect(core.readyCount).toBe(0);
      core.workerReply('B', b('C2'), b('y'), 2); // a free slot takes the waiting request at once
      expect(take()).toEqual(['C2 <- y', 'B <- C7:x']);
      core.workerReply('A', b('C1'), b('y'), 3);
      expect(take()).toEqual(['C1 <- y']);
      expect(core.readyCount).toBe(1);
    });

    it('restarts the deadline on each reply: a worker fails only when it makes no progress', () => {
      const { core, take } = setup({ answerTimeoutMs: 100 });
      core.workerReady('A', 0, CREDIT3);
      core.clientRequest(b('C1'), b('1'), 0);
      core.clientRequest(b('C2'), b('2'), 10);
      expect(core.nextDeadline()).toBe(100);
      core.workerReply('A', b('C1'), b('r1'), 90);
      expect(core.nextDeadline()).toBe(190);
      core.expire(150);
      expect(core.isFailed('A')).toBe(false);
      core.workerReply('A', b('C2'), b('r2'), 180);
      expect(take()).toEqual(['A <- C1:1', 'A <- C2:2', 'C1 <- r1', 'C2 <- r2']);
      expect(core.nextDeadline()).toBe(180 + 3000); // no request held: only the liveness window is left
    });

    it('a failed worker\'s requests all go elsewhere in order, ahead of the queue; its late replies are all dropped before it rejoins', () => {
      const { core, take } = setup({ answerTimeoutMs: 100 });
      core.workerReady('A', 0, CREDIT3);
      for (const c of ['C1', 'C2', 'C3', 'C4']) core.clientRequest(b(c), b('x'), 0);
      take();
      core.expire(100);
      expect(core.stats).toMatchObject({ workerFailures: 1, redispatched: 3 });
      core.workerReady('B', 110);
      expect(take()).toEqual(['B <- C1:x']);
      core.workerReply('A', b('C1'), b('late1'), 120);
      core.workerReply('A', b('C2'), b('late2'), 121);
      expect(core.isFailed('A')).toBe(true);
      core.workerReply('A', b('C3'), b('late3'), 122); // the last late reply: A rejoins with its credit
      expect(take()).toEqual(['A <- C2:x', 'A <- C3:x', 'A <- C4:x']);
      expect(core.stats.lateReplies).toBe(3);
      expect(core.stats.replies).toBe(0);
    });

    it('matches a reply to the request of the same client, wherever it is in the worker\'s queue', () => {
      const { core, take } = setup();
      core.workerReady('A', 0, CREDIT3);
      core.clientRequest(b('C1'), b('1'), 0);
      core.clientRequest(b('C2'), b('2'), 0);
      take();
      core.workerReply('A', b('C2'), b('r2'), 1);
      core.workerReply('A', b('C9'), b('stale'), 2); // none of its requests: forwarded, nothing changes
      expect(take()).toEqual(['C2 <- r2', 'C9 <- stale']);
      expect(core.busyCount).toBe(1);
      core.workerReply('A', b('C1'), b('r1'), 3);
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
      expect(take()).toEqual(['A <- C1:1', 'A <- C3:3']);
      expect(core.stats).toMatchObject({ redispatched: 2, workerFailures: 0 });
    });
  });
});
