import { stopApp, waitForOutput } from '@tsr/testing';
import { localDeployment } from '../support/deployment';
import { eventually } from '../support/wait';

/** Fast heartbeats so liveness rules show within a test: 100 ms, 3 missed = 300 ms. */
const FAST_BEATS = ['--heartbeat', '100', '--liveness', '3'];

describe('reliability beyond the seed (real processes)', () => {
  const deployment = localDeployment();

  it('drops a frozen idle worker within the liveness window, and takes it back when it returns', async () => {
    // The answer timeout is long: only heartbeats can explain a quick recovery.
    const broker = await deployment.startBroker([...FAST_BEATS, '--answer-timeout', '60000']);
    const frozen = await deployment.startWorker(0, { TSR_LOG: 'info' }, FAST_BEATS);
    const healthy = await deployment.startWorker(0, {}, FAST_BEATS);
    await Promise.all([frozen, healthy].map(({ worker }) => waitForOutput(worker, /registered/)));
    frozen.worker.child.kill('SIGSTOP');
    await waitForOutput(broker, new RegExp(`worker "${frozen.id}" fell silent`));
    const started = Date.now();
    const answers = await Promise.all([1, 2, 3, 4].map((i) => deployment.request(`r${i}`)));
    expect(answers.map((a) => a.stdout)).toEqual([1, 2, 3, 4].map((i) => `r${i} ${healthy.id}\n`));
    expect(Date.now() - started).toBeLessThan(10_000);

    const registrations = frozen.worker.stdout.match(/registered/g)?.length ?? 0;
    frozen.worker.child.kill('SIGCONT'); // it finds the broker silent, reconnects and announces itself
    await waitForOutput(frozen.worker, /warning: broker silent for \d+ heartbeats: reconnecting/); // on stderr
    await waitForOutput(frozen.worker, new RegExp(`(?:registered[^]*){${registrations + 1}}`)); // again, on stdout
    const after = await Promise.all([1, 2, 3, 4].map((i) => deployment.request(`s${i}`)));
    const servers = new Set(after.map((a) => a.stdout.trim().split(' ').slice(1).join(' ')));
    expect(servers).toEqual(new Set([healthy.id, frozen.id]));
    await stopApp(broker);
    expect(broker.stdout).toMatch(/workers lost 1,/);
  });

  it('a worker stopped with SIGTERM mid-task says goodbye: its request moves on at once', async () => {
    // Deadline 60 s, liveness 30 s: only the goodbye can move the request within seconds.
    const slowBeats = ['--heartbeat', '10000', '--liveness', '3'];
    const broker = await deployment.startBroker([...slowBeats, '--answer-timeout', '60000']);
    const leaving = await deployment.startWorker(30_000, { TSR_LOG: 'trace' }, slowBeats);
    const pending = deployment.request('moved');
    await waitForOutput(leaving.worker, /procesaPeticion/);
    const spare = await deployment.startWorker(0, {}, slowBeats);
    const stoppedAt = Date.now();
    expect((await stopApp(leaving.worker)).code).toBe(0);
    expect((await pending).stdout).toBe(`moved ${spare.id}\n`);
    expect(Date.now() - stoppedAt).toBeLessThan(10_000);
    await stopApp(broker);
    expect(broker.stdout).toMatch(/redispatched 1, worker failures 0, workers lost 0,/);
  });

  it('a worker holding several requests (credit 4) killed with SIGKILL: every one is answered elsewhere', async () => {
    const broker = await deployment.startBroker(['--answer-timeout', '1000']);
    const doomed = await deployment.startWorker(60_000, { TSR_LOG: 'trace' }, ['--credit', '4']);
    const pending = [1, 2, 3, 4].map((i) => deployment.request(`held-${i}`));
    // All four taken before a spare exists: the first is being served, the rest wait in its queue.
    for (const i of [1, 2, 3, 4]) await waitForOutput(doomed.worker, new RegExp(`procesaPeticion: .*held-${i}`));
    const spare = await deployment.startWorker(0);
    await stopApp(doomed.worker, 'SIGKILL');
    const answers = await Promise.all(pending);
    expect(answers.map((a) => a.stdout)).toEqual([1, 2, 3, 4].map((i) => `held-${i} ${spare.id}\n`));
    await stopApp(broker);
    expect(broker.stdout).toMatch(/dispatched 8, redispatched 4, worker failures 1/);
  });

  it('a load that spans a broker restart completes with every request answered', async () => {
    const brokerArgs = [...FAST_BEATS, '--answer-timeout', '1000'];
    let broker = await deployment.startBroker([...brokerArgs, '--log', 'trace']);
    for (let i = 0; i < 3; i++) await deployment.startWorker(5, {}, FAST_BEATS);
    const load = deployment.client(['--requests', '600', '--concurrency', '8', '--timeout', '500', '--retries', '20', '--json']);
    await eventually('the load under way', async () => (broker.stdout.match(/\] reply: /g) ?? []).length >= 50, 10_000); // requests are in flight
    await stopApp(broker, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 300));
    broker = await deployment.startBroker(brokerArgs);
    expect(await load.exited).toBe(0);
    const summary = JSON.parse(load.stdout);
    expect(summary).toMatchObject({ requests: 600, answered: 600, errors: 0 });
    expect(summary.retried).toBeGreaterThan(0); // requests lost with the first broker were sent again
  });

  it('never drops a seed-style REQ worker, which sends no heartbeats, for silence', async () => {
    const broker = await deployment.startBroker(FAST_BEATS);
    await deployment.startSeedWorker('-seed', 0);
    await new Promise((r) => setTimeout(r, 1000)); // the scenario: more than three liveness windows pass
    const answer = await deployment.request('still-served');
    expect(answer.stdout).toMatch(/^still-served W \S+-seed\n$/);
    await stopApp(broker);
    expect(broker.stdout).toMatch(/workers lost 0,/);
  });

  it('answers "overloaded" at once when the pending queue is full, and the client says so', async () => {
    const broker = await deployment.startBroker(['--max-pending', '1', '--log', 'trace']); // no worker: requests wait
    const waiting = deployment.client(['--request', 'first']);
    await waitForOutput(broker, /frontend_message: client="[^"]*" service="default" request="first"/);
    const turnedAway = await deployment.request('second');
    expect(turnedAway.code).toBe(1);
    expect(turnedAway.stderr.trim()).toBe('client: error: broker overloaded: its queue of pending requests is full');
    const { id } = await deployment.startWorker(0);
    expect(await waiting.exited).toBe(0);
    expect(waiting.stdout).toBe(`first ${id}\n`);
  });
});
