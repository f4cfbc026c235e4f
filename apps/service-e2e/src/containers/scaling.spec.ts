import { escapeRegExp } from '@tsr/testing';
import { ContainerDeployment, type Worker } from '../support/containers/service';
import { logsOf, stopTimed, waitForLog } from '../support/containers/docker';
import { loadSummary } from '../support/containers/chaos';

const REQUESTS = 40;
const served = async (w: Worker) => ((await logsOf(w.container.getId())).match(/procesaPeticion: .*request="load #\d+"/g) ?? []).length;

describe('scaling workers while a load runs', () => {
  const d = new ContainerDeployment('scaling');

  beforeAll(async () => {
    await d.start();
    await d.startBroker(); // the seed's 2 s answer timeout
  });
  afterAll(() => d.cleanup());

  it('gives work to workers added during the load, and loses no request when workers stop gracefully', async () => {
    const first = await d.startWorker(250);
    const load = await d.startClient(
      ['--requests', String(REQUESTS), '--concurrency', '4', '--json', '--request', 'load', '--timeout', '15000', '--retries', '0'],
      { TSR_LOG: 'error' },
    );
    await waitForLog(first.container.getId(), /procesaPeticion: .*request="load #\d+"/, 3);

    // Scale up from 1 to 3 while the load runs: each new worker gets requests.
    const added = await Promise.all([d.startWorker(250), d.startWorker(250)]);
    await Promise.all(added.map((w) => waitForLog(w.container.getId(), /procesaPeticion: .*request="load #\d+"/, 2)));

    // Scale down to 1 by `docker stop` (SIGTERM): each exits 0 at once, saying goodbye first, so
    // a task it held goes to another worker at once, not after the broker's answer timeout.
    const [survivor] = added.slice(1);
    const stops = await Promise.all([first, added[0]].map((w) => stopTimed(w.container.getId())));
    for (const s of stops) {
      expect(s.exitCode).toBe(0);
      expect(s.ms).toBeLessThan(3000);
    }
    for (const w of [first, added[0]]) await d.waitForBroker(new RegExp(`backend_message: worker="${escapeRegExp(w.id)}" kind="goodbye"`));
    const survivorAtStop = await served(survivor);

    const result = await d.clientResult(load);
    expect(result.code).toBe(0);
    // The log also holds the load's progress lines (stderr, every 5 s): the summary is the JSON line.
    expect(loadSummary(result.output)).toMatchObject({ requests: REQUESTS, answered: REQUESTS, errors: 0, retried: 0 });

    // The load was still running after the stops, on the survivor; the broker forwarded exactly
    // one reply per request, and the three workers together did at least all of them.
    expect(await served(survivor)).toBeGreaterThan(survivorAtStop);
    const replies = (await logsOf(d.broker.getId())).match(/\[broker\] reply: client="C [^"]+" reply="load #\d+ W /g) ?? [];
    expect(replies).toHaveLength(REQUESTS);
    const perWorker = await Promise.all([first, ...added].map(served));
    expect(perWorker.every((n) => n > 0)).toBe(true);
    expect(perWorker.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(REQUESTS);
  });
});
