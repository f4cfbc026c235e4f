import { join } from 'node:path';
import { type AppProcess, freePort, spawnNode, stopApp, waitForOutput } from '@tsr/testing';
import { localDeployment } from '../support/deployment';
import { metric, scrape } from '../support/monitoring';
import { eventually, sleep } from '../support/wait';

// Deadlines across broker restarts (docs/protocol.md, "Every request ends"): our clients wait
// 400 ms an attempt, the broker keeps its default 30 s TTL, and it is killed (SIGKILL) and started
// again on its ports over and over under load. Before requests carried their client's deadline,
// the workers that came back to each new broker served only requests whose clients had given up,
// and no client got an answer until the restarts stopped. Two of the workers check every request
// their handler runs against the deadline its client set (written in the body by
// support/deadline-clients.js); the control runs the same with clients that send no deadline.

const CLIENTS = join(__dirname, '../support/deadline-clients.js');
const DEADLINE_WORKER = join(__dirname, '../support/deadline-worker.js');
/** Heartbeats as promises.spec's restarts (a worker finds a killed broker's connection closed at once, and dials again every 100 ms, doubling). */
const HEARTBEAT = 300;
const LIVENESS = 3;
const BEATS = ['--heartbeat', String(HEARTBEAT), '--liveness', String(LIVENESS)];
const TIMEOUT_MS = 400;
const RETRIES = 3;
/**
 * How much later than its client a worker may take a request's deadline to be: it travels as time
 * left, and each hop (client, broker, worker) counts it from when it reads the message, so the
 * worker's deadline is later than the client's by the time the request spent in transit (measured:
 * up to 80 ms on a loaded 2-CPU machine, where a process may wait that long for a CPU).
 */
const TRANSIT_MS = 100;
/** Clients, one request in flight each: more than the workers serve in 400 ms (about 17, 42 a second), so every outage leaves the next broker a backlog. */
const CLIENT_COUNT = 20;

/** What deadline-clients.js printed so far: outcomes with their epoch ms. */
function outcomes(clients: AppProcess) {
  const answers: number[] = [];
  const waits: number[] = [];
  const failures: { at: number; why: string }[] = [];
  const wrong: string[] = [];
  for (const line of clients.stdout.split('\n')) {
    const [kind, at, ...rest] = line.split(' ');
    if (kind === 'answer') {
      answers.push(Number(at));
      waits.push(Number(rest[0]));
    } else if (kind === 'failed') failures.push({ at: Number(at), why: rest.join(' ') });
    else if (kind === 'wrong') wrong.push(rest.join(' '));
  }
  return { answers, waits, failures, wrong };
}

/** What deadline-worker.js counted (printed at SIGTERM). */
interface CheckedCounts {
  identity: string;
  credit: number;
  ran: number;
  noDeadline: number;
  pastByWorker: number;
  pastByClient: number;
  pastByClientNoDeadline: number;
  past: { lateMs: number; leftMs?: number }[];
  leastLeftMs: number | null;
  mostDriftMs: number;
  served: number;
  expired: number;
  failed: number;
}

const lastLine = (proc: AppProcess) => proc.stdout.trim().split('\n').pop() as string;

describe('deadlines across broker restarts (real processes)', () => {
  const deployment = localDeployment();

  /**
   * A broker with the default TTL, five workers (our worker program: credit 1 and 2, 80–200 ms a
   * request; two checking workers), CLIENT_COUNT of our clients (`plain`: sending no deadline), and
   * `restarts` broker SIGKILLs 2 s apart; then everything's counters.
   */
  async function restartsUnderLoad(mode: 'deadlines' | 'plain', restarts: number) {
    const brokerArgs = [...BEATS]; // the default --request-ttl, 30 s: the clients' deadlines, not the TTL, bound the wait
    let broker = await deployment.startBroker(brokerArgs, { http: true });
    // What each broker instance counted, read just before it is killed (and from the last one at the end).
    const broker$ = { deadlineWaiting: 0, deadlineAnswered: 0, replies: 0 };
    const countBroker = async () => {
      const text = await scrape(deployment.httpPort);
      broker$.deadlineWaiting += metric(text, 'tsr_broker_deadline_passed_total', { where: 'waiting' }) ?? 0;
      broker$.deadlineAnswered += metric(text, 'tsr_broker_deadline_passed_total', { where: 'answered' }) ?? 0;
      broker$.replies += metric(text, 'tsr_broker_replies_total') ?? 0;
    };

    // Our worker program (echo after a delay), its counters on its HTTP port.
    const apps: { http: number; credit: number }[] = [];
    for (const [delay, credit] of [
      [80, 1],
      [200, 1],
      [120, 2],
    ]) {
      const http = await freePort();
      await deployment.startWorker(delay, {}, ['--credit', String(credit), '--http-port', String(http), ...BEATS]);
      apps.push({ http, credit });
    }
    // Workers whose handler checks the deadline of every request it runs.
    const checking: AppProcess[] = [];
    for (const [delay, credit] of [
      [100, 1],
      [150, 2],
    ]) {
      const args = [`127.0.0.1:${deployment.backendPort}`, String(credit), String(delay), String(HEARTBEAT), String(LIVENESS)];
      const worker = deployment.track(spawnNode('deadline-worker', [DEADLINE_WORKER, ...args]));
      await waitForOutput(worker, /W \S+ connecting/);
      checking.push(worker);
    }

    const frontend = `127.0.0.1:${deployment.frontendPort}`;
    const clientArgs = [frontend, String(CLIENT_COUNT), '1', String(TIMEOUT_MS), String(RETRIES), ...(mode === 'plain' ? ['plain'] : [])];
    const clients = deployment.track(spawnNode('clients', [CLIENTS, ...clientArgs]));
    await waitForOutput(clients, /clients running/);
    const startedAt = Date.now();
    // Without deadlines the workers may serve only requests whose clients gave up: no answer need come first.
    if (mode === 'deadlines')
      await eventually('answers before the first restart', async () => outcomes(clients).answers.length >= 20, 15_000);
    await sleep(mode === 'deadlines' ? 1000 : 2000);

    const upAt: number[] = [];
    const downMs: number[] = [];
    const workersBackMs: number[] = [];
    const workersIn = async () => {
      const text = await scrape(deployment.httpPort);
      return (metric(text, 'tsr_broker_workers', { state: 'busy' }) ?? 0) + (metric(text, 'tsr_broker_workers', { state: 'idle' }) ?? 0);
    };
    for (let r = 0; r < restarts; r++) {
      await countBroker();
      const killedAt = Date.now();
      await stopApp(broker, 'SIGKILL');
      broker = await deployment.startBroker(brokerArgs, { http: true });
      const up = Date.now();
      upAt.push(up);
      downMs.push(up - killedAt);
      // When all five workers are registered with the new broker again (a figure: polled every 20 ms, up to 1.9 s).
      await eventually('the workers back', async () => (await workersIn()) === 5, 1900, 20).catch(() => undefined);
      workersBackMs.push(Date.now() - up);
      await sleep(up + 2000 - Date.now());
    }
    const last = upAt[restarts - 1];
    if (mode === 'deadlines')
      await eventually(
        'answers after the last restart',
        async () => outcomes(clients).answers.filter((t) => t > last).length >= 20,
        15_000,
      );

    // The end: the clients' totals, the workers' counters, the last broker's.
    await stopApp(clients);
    const totals = JSON.parse(lastLine(clients));
    const seen = outcomes(clients);
    const programs = await Promise.all(
      apps.map(async ({ http, credit }) => {
        const text = await scrape(http);
        const count = (name: string) => metric(text, `tsr_worker_${name}_total`) ?? NaN;
        return { credit, served: count('requests'), expired: count('requests_expired'), failed: count('failures') };
      }),
    );
    const checked: CheckedCounts[] = [];
    for (const worker of checking) {
      await stopApp(worker);
      checked.push(JSON.parse(lastLine(worker)));
    }
    await countBroker();

    // From each new broker's start to the first answer a client got after it (Infinity: none).
    const recoveryMs = upAt.map((t) => Math.min(...seen.answers.filter((a) => a > t)) - t);
    const served = [...programs, ...checked].reduce((n, w) => n + w.served, 0);
    const expired = [...programs, ...checked].reduce((n, w) => n + w.expired, 0);
    console.log(
      [
        `${mode}: ${CLIENT_COUNT} clients (timeout ${TIMEOUT_MS} ms, ${RETRIES} retries), ${restarts} broker SIGKILLs over ${((Date.now() - startedAt) / 1000).toFixed(1)} s (down ${downMs.join(', ')} ms)`,
        `  first answer after each new broker was up: ${recoveryMs.join(', ')} ms; all workers back after ${workersBackMs.join(', ')} ms`,
        `  clients: ${seen.answers.length} answered (longest wait ${Math.max(...seen.waits)} ms), ${seen.failures.length} failed, ${seen.wrong.length} wrong; ${JSON.stringify(totals)}`,
        `  brokers: ${broker$.replies} replies forwarded, deadline passed waiting ${broker$.deadlineWaiting}, answered ${broker$.deadlineAnswered}`,
        `  workers: served ${served}, skipped as expired ${expired}; program ${JSON.stringify(programs)}`,
        `  checking workers: ${checked.map((w) => JSON.stringify(w)).join('; ')}`,
      ].join('\n'),
    );
    return { recoveryMs, seen, broker: broker$, checked, served, expired };
  }

  it('clients with a 400 ms timeout, the broker restarted several times under load: after each restart answers reach waiting clients again before the next restart, within 1 s after all but one, and no worker serves a request whose deadline had passed, nor spends its time on answers no client waits for', async () => {
    const { recoveryMs, seen, broker, checked, served } = await restartsUnderLoad('deadlines', 6);
    expect(seen.wrong).toEqual([]);
    // Answers resume after every restart, before the next one (2 s later); and within 1 s after
    // all but at most one of the six. (Measured over 42 restarts: 128–533 ms, about when the
    // workers are back; and once, in CI beside other suites on a 2-CPU machine, 1.44 s: workers
    // back after 455 ms, then a second with no answer delivered, and no answer wrong.)
    expect(recoveryMs.filter((ms) => ms > 1900)).toEqual([]);
    expect(recoveryMs.filter((ms) => ms > 1000).length).toBeLessThanOrEqual(1);
    // The fault was real: requests outlived their clients' wait, and the broker ended them unanswered.
    expect(broker.deadlineWaiting + broker.deadlineAnswered).toBeGreaterThan(0);
    // The workers' time went to clients that waited: nearly every answer a worker gave reached its
    // client. (Measured: 97 %. While each send carried its whole budget's end rather than its
    // attempt's, 25 %: the rest went to connections their clients had left at a timeout.)
    expect(seen.answers.length).toBeGreaterThan(0.75 * served);
    for (const w of checked) {
      expect(w.ran).toBeGreaterThan(0);
      // By the worker's own view (what the broker forwarded): never past its deadline.
      expect(w.pastByWorker).toBe(0);
      // By the client's (the deadline it set, in the body): never after it had stopped waiting.
      expect(w.past.filter((p) => p.lateMs > TRANSIT_MS)).toEqual([]);
    }
  });

  it('control: the same with clients that send no deadline', async () => {
    const { seen, broker, checked } = await restartsUnderLoad('plain', 3);
    expect(seen.wrong).toEqual([]);
    expect(broker.deadlineWaiting + broker.deadlineAnswered).toBe(0);
    for (const w of checked) expect(w.noDeadline).toBe(w.ran);
    // What the check of the main test would see without deadlines: workers serve requests their clients gave up on.
    expect(checked.flatMap((w) => w.past.filter((p) => p.lateMs > TRANSIT_MS)).length).toBeGreaterThan(0);
  });
});
