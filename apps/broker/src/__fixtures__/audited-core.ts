import { BrokerCore } from '../broker-core';
import { type Request, type Service, isGeneratedId } from '../broker-core-shapes';
import { SWEEP_AT } from '../client-shares';

/** The broker core, plus a check of its whole bookkeeping against its rules: for the tests. */
export class AuditedBrokerCore extends BrokerCore {
  /**
   * Checks that the bookkeeping agrees with itself and with its bounds; throws on the first
   * broken rule; with `now`, also that no request waits past its TTL or its service's grace
   * (true after `expire(now)`). The property tests call it after every step: O(state).
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
      if (s.workers === 0 && s.queued === 0) fail(`idle service ${name} is kept`);
      if (this.waiting.has(s) !== s.queued > 0) fail(`service ${name} is listed as waiting iff it has waiting requests`);
      if (s.queued > 0 && s.ready.size > 0) fail(`a request of ${name} waits while one of its workers is ready`);
      if (s.queued > 0 && s.unwanted.size > 0) fail(`a request of ${name} waits and a worker that could lend more was not told`);
      if (s.queued === 0 && s.pending.length > 0) fail(`the queue of ${name} keeps dropped requests and no live one`);
      if (s.pending.peek()?.dropped) fail(`the front of the queue of ${name} is a dropped request`);
      pending += s.queued;
      ready += s.ready.size;
      let live = 0;
      for (let i = 0; i < s.pending.length; i++) {
        const r = s.pending.at(i) as Request;
        if (r.service !== s) fail(`a request waits in the queue of another service than ${name}`);
        if (waiting.has(r)) fail('a request waits twice');
        if (i > 0 && (s.pending.at(i - 1) as Request).serial > r.serial) fail(`waiting requests of ${name} are not in arrival order`);
        waiting.add(r);
        if (r.dropped) {
          if (r.heapAt >= 0) fail('a dropped request is among the deadlines');
          continue;
        }
        live++;
        if ((r.deadline !== Infinity) !== r.heapAt >= 0) fail('a waiting request is among the deadlines iff it has one');
        if (now !== undefined && r.deadline <= now) fail(`a request of ${name} waits past its own deadline`);
        count(r);
      }
      if (live !== s.queued) fail(`service ${name} counts ${s.queued} waiting requests, its queue holds ${live}`);
      const front = s.pending.peek();
      if (now !== undefined && front && this.frontEnds(s, front) <= now)
        fail(`a request of ${name} waits past its TTL or its service's grace`);
      for (const w of s.ready.keys()) if (this.workers.get(w)?.service !== s) fail(`a ready worker of ${name} serves another service`);
    }
    if (pending !== this.pendingTotal || ready !== this.readyTotal) fail('running totals disagree');
    if (this.deadlines.size !== [...waiting].filter((r) => !r.dropped && r.deadline !== Infinity).length)
      fail('the heap of deadlines holds requests that do not wait');
    if (this.waiting.size > this.services.size) fail('a forgotten service is listed as waiting');
    if (this.services.size > this.options.maxServices) fail('more services than allowed');
    const workersPerService = new Map<Service, number>();
    let tasks = 0;
    for (const [id, w] of this.workers) {
      if (this.services.get(w.service.name) !== w.service) fail(`worker ${JSON.stringify(id)} serves a forgotten service`);
      workersPerService.set(w.service, (workersPerService.get(w.service) ?? 0) + 1);
      tasks += w.tasks.length;
      // A worker that moves credit may shrink its window below what it holds: it answers the rest.
      if (w.tasks.length > w.credit && !w.leases) fail(`worker ${JSON.stringify(id)} holds more than its credit`);
      if (w.service.unwanted.has(id) && !w.leases) fail(`worker ${JSON.stringify(id)} is told of demand but moves no credit`);
      if (w.service.lessees.has(id) !== w.leases) fail(`worker ${JSON.stringify(id)} is among its service's lessees iff it moves credit`);
      if (w.service.ready.has(id) !== (w.tasks.length < w.credit && !w.suspended))
        fail(`worker ${JSON.stringify(id)} is ready iff it has credit left and is not waiting for a new connection's ready`);
      if (this.busy.has(id) !== w.tasks.length > 0) fail(`worker ${JSON.stringify(id)} is busy iff it holds requests`);
      if (this.heard.has(id) !== w.heartbeats) fail(`worker ${JSON.stringify(id)} is heartbeated iff it speaks heartbeats`);
      if (isGeneratedId(id)) fail('a generated routing id is a worker');
      for (const d of w.tasks) {
        if (d.worker !== id) fail('a task is not its dispatch');
        if (waiting.has(d.request)) fail('a request is both waiting and dispatched');
        if (d.request.heapAt >= 0 || d.request.dropped) fail('a dispatched request is among the deadlines, or dropped');
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
    if (this.clientBytes.entries - this.clientBytes.size > Math.max(SWEEP_AT - 1, this.clientBytes.size))
      fail('idle clients are kept past their bound');
    for (const [client, b] of perClient) {
      if (this.clientBytes.get(client) !== b) fail('client bytes disagree');
      if (b > this.options.maxClientBytes) fail('a client holds more than its share');
    }
    if (this.workers.size > this.options.maxWorkers) fail('more workers than allowed');
    if (this.failedSeeds.size > this.options.failedMemory) fail('failed seed workers over their bound');
    const s = this.stats;
    const rejected = Object.values(s.rejected).reduce((sum, n) => sum + n, 0);
    const passed = s.deadlinePassed.queue + s.deadlinePassed.answer;
    if (s.requests !== s.replies + s.discoveries + rejected + passed + s.abandoned + this.pendingTotal + this.inService) {
      fail('requests != replies + discoveries + rejected + deadline passed + abandoned + waiting + in service');
    }
  }
}
