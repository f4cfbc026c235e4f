import { join } from 'node:path';
import { type AppProcess, freePort, spawnNode, stopApp, waitForOutput } from '@tsr/testing';
import { localDeployment } from '../support/deployment';
import { httpGet, metric, scrape } from '../support/monitoring';
import { PlainClient } from '../support/plain-peers';
import { eventually, sleep } from '../support/wait';

// Several brokers at once (docs/protocol.md, "Several brokers"): three brokers, workers that
// serve all three and share their credit among them, our clients that send each retry to the
// next broker, and plain Lazy Pirate clients written like the seed's (a REQ socket, a fresh one to
// the next broker on a timeout, no check of what comes back). One broker after another is killed
// with SIGKILL under load and started again on its ports.

const CHECKING_CLIENTS = join(__dirname, '../support/checking-clients.js');
const FAST_BEATS = ['--heartbeat', '100', '--liveness', '3'];
const TIMEOUT_MS = 500;

interface BrokerSlot {
  frontend: number;
  backend: number;
  http: number;
  process?: AppProcess;
}

interface WorkerStatus {
  credit: number;
  held: number;
  peakHeld: number;
  brokers: { endpoint: string; served: number; registered: boolean; window: number }[];
}

describe('several brokers at once (real processes)', () => {
  const deployment = localDeployment();

  async function brokers(n: number): Promise<BrokerSlot[]> {
    const slots: BrokerSlot[] = [];
    for (let i = 0; i < n; i++) slots.push({ frontend: await freePort(), backend: await freePort(), http: await freePort() });
    await Promise.all(slots.map((slot) => startBroker(slot)));
    return slots;
  }

  async function startBroker(slot: BrokerSlot): Promise<void> {
    slot.process = deployment.spawn('broker', [
      String(slot.frontend),
      String(slot.backend),
      '--http-port',
      String(slot.http),
      '--answer-timeout',
      '2000',
      ...FAST_BEATS,
    ]);
    await waitForOutput(slot.process, /frontend tcp:\/\/\S+, backend/);
  }

  async function startWorker(slots: BrokerSlot[], credit: number, delayMs: number): Promise<{ id: string; http: number }> {
    const http = await freePort();
    const list = slots.map((s) => `127.0.0.1:${s.backend}`).join(',');
    const worker = deployment.spawn('worker', [
      '--broker-host',
      list,
      '--credit',
      String(credit),
      '--delay',
      String(delayMs),
      '--http-port',
      String(http),
      ...FAST_BEATS,
    ]);
    const line = await waitForOutput(worker, /W \S+ connecting/);
    return { id: line.replace(/ connecting.*$/, ''), http };
  }

  const workerStatus = async (http: number): Promise<WorkerStatus> => JSON.parse((await httpGet(http, '/status'))?.body ?? '{}');

  /** Whether every worker is registered with the broker of `slot`. */
  const allRegisteredWith = async (workers: { http: number }[], slot: BrokerSlot) => {
    const statuses = await Promise.all(workers.map((w) => workerStatus(w.http)));
    return statuses.every((s) => s.brokers?.some((b) => b.endpoint === `tcp://127.0.0.1:${slot.backend}` && b.registered));
  };

  it('workers serve every broker; a broker killed and restarted again and again under load: 0 lost, 0 wrong, every wait under 1 s, no worker above its credit', async () => {
    const slots = await brokers(3);
    const workers = [
      await startWorker(slots, 1, 3),
      await startWorker(slots, 1, 3),
      await startWorker(slots, 4, 3),
      await startWorker(slots, 4, 3),
    ];
    for (const slot of slots) await eventually('every worker registered with every broker', () => allRegisteredWith(workers, slot), 10_000);

    // Our clients (the built package, in a process of their own): one request at a time each, every answer checked.
    const frontends = slots.map((s) => `127.0.0.1:${s.frontend}`).join(',');
    const runMs = 1000 + 6 * 2500;
    const ourClients = deployment.track(spawnNode('clients', [CHECKING_CLIENTS, frontends, '6', String(TIMEOUT_MS), String(runMs)]));
    let running = true;
    // Plain Lazy Pirate clients, written like the seed's: they trust whatever arrives; we count.
    const plain = { answered: 0, wrong: 0, lost: 0, longestMs: 0 };
    const plainClients = Array.from({ length: 3 }, (_, c) =>
      (async () => {
        const ports = slots.map((s) => s.frontend);
        const client = new PlainClient([...ports.slice(c), ...ports.slice(0, c)], TIMEOUT_MS);
        for (let i = 0; running; i++) {
          const body = `plain-${c}-${i}`;
          const sent = performance.now();
          let answer: string | undefined;
          for (let attempt = 0; attempt < 10 && answer === undefined; attempt++) answer = await client.request(body);
          plain.longestMs = Math.max(plain.longestMs, performance.now() - sent);
          if (answer === undefined) plain.lost++;
          else if (answer.startsWith(`${body} `)) plain.answered++;
          else plain.wrong++;
        }
        client.close();
      })(),
    );

    await sleep(1000);
    const chaosStarted = Date.now();
    for (let round = 0; round < 6; round++) {
      const slot = slots[round % 3];
      await stopApp(slot.process as AppProcess, 'SIGKILL');
      await sleep(300);
      await startBroker(slot);
      await eventually('the workers back with the restarted broker', () => allRegisteredWith(workers, slot), 10_000);
      await sleep(700);
    }
    running = false;
    await Promise.all(plainClients);
    expect(await ourClients.exited).toBe(0);
    const ours = JSON.parse(ourClients.stdout);
    expect(Date.now() - chaosStarted).toBeLessThan(runMs); // every kill happened while our clients ran

    expect(ours.failed).toEqual([]);
    expect(ours.wrong).toBe(0);
    expect(plain).toMatchObject({ wrong: 0, lost: 0 });
    expect(ours.answered).toBeGreaterThan(300);
    expect(plain.answered).toBeGreaterThan(100);
    // A request sent to the broker that died waits one timeout, then the next broker answers it.
    expect(ours.longestMs).toBeLessThan(1000);
    expect(plain.longestMs).toBeLessThan(1000);

    const statuses = await Promise.all(workers.map((w) => workerStatus(w.http)));
    for (const s of statuses) {
      expect(s.peakHeld).toBeLessThanOrEqual(s.credit);
      // Each worker served every broker.
      expect(s.brokers.filter((b) => b.served > 0)).toHaveLength(3);
    }
    process.stdout.write(
      `several brokers: ours ${JSON.stringify(ours)}, plain ${JSON.stringify(plain)}, workers ${JSON.stringify(statuses.map((s) => ({ credit: s.credit, peak: s.peakHeld, served: s.brokers.map((b) => b.served) })))}\n`,
    );
  }, 120_000);

  it('a worker of credit 1 is lent to the broker that has requests waiting, whichever it is', async () => {
    const slots = await brokers(2);
    const worker = await startWorker(slots, 1, 0);
    for (const slot of slots) await eventually('registered with both brokers', () => allRegisteredWith([worker], slot), 10_000);
    // The first broker it connected to holds its one credit; ask both brokers, one after the other.
    for (const slot of [...slots, ...slots]) {
      const client = deployment.spawn(
        'client',
        ['127.0.0.1', String(slot.frontend), '--request', `to-${slot.frontend}`, '--timeout', '3000', '--retries', '0'],
        { TSR_LOG: 'error' },
      );
      expect(await client.exited).toBe(0);
      expect(client.stdout).toBe(`to-${slot.frontend} ${worker.id}\n`);
    }
    const status = await workerStatus(worker.http);
    expect(status.peakHeld).toBe(1);
    expect(status.brokers.map((b) => b.served)).toEqual([2, 2]);
    // Which broker served what: the worker's metrics by broker, and each broker's own view.
    const metrics = await scrape(worker.http);
    for (const slot of slots) {
      expect(metric(metrics, 'tsr_worker_broker_answers_total', { broker: `tcp://127.0.0.1:${slot.backend}` })).toBe(2);
      const view = JSON.parse((await httpGet(slot.http, '/status'))?.body ?? '{}');
      expect(view.counters.replies).toBe(2);
      expect(view.workers).toEqual([expect.objectContaining({ id: worker.id })]);
    }
    const instances = await Promise.all(slots.map(async (s) => JSON.parse((await httpGet(s.http, '/status'))?.body ?? '{}').instance));
    expect(new Set(instances).size).toBe(2);
  });
});
