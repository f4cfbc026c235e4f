import { freePort } from '@tsr/testing';
import { localDeployment } from '../support/deployment';

/** The client's load mode as a user runs it, output not a terminal (as in CI logs and containers). */
describe('load mode', () => {
  const deployment = localDeployment();

  it('gives up clearly, at once, when nothing answers, instead of running for hours', async () => {
    const nobody = await freePort();
    const started = Date.now();
    const load = deployment.spawn('client', [
      '127.0.0.1',
      String(nobody),
      '--requests',
      '3000',
      '--concurrency',
      '4',
      '--timeout',
      '200',
      '--retries',
      '1',
      '--json',
    ]);
    expect(await load.exited).toBe(1);
    expect(Date.now() - started).toBeLessThan(10_000); // 3 requests in a row × 2 attempts × 200 ms, plus start-up
    expect(load.stderr).toMatch(
      /^client: error: gave up: \d+ requests in a row got no answer \(no answer from tcp:\/\/127\.0\.0\.1:\d+ after 2 attempt\(s\) of 200 ms: connection refused \(nothing listens on that port\) \(connect ECONNREFUSED 127\.0\.0\.1:\d+\)\)$/m,
    );
    // four clients dial the same closed port: said once
    expect(
      load.stderr.match(/^\[client\] warning: cannot reach the broker at tcp:\/\/127\.0\.0\.1:\d+: connection refused .*; trying again$/gm),
    ).toHaveLength(1);
    const summary = JSON.parse(load.stdout);
    expect(summary).toMatchObject({ answered: 0, gaveUp: expect.stringContaining('in a row') });
    expect(summary.requests).toBeLessThan(20);
  });

  it('reports progress every 5 s in a log, and stops sending after --duration', async () => {
    await deployment.startBroker();
    await deployment.startWorker(20);
    const load = deployment.client(['--requests', '1000000', '--duration', '6', '--json']);
    expect(await load.exited).toBe(0);
    const progress = load.stderr.split('\n').filter((l) => /^client: \d+\/1000000 requests sent, \d+ answered, 0 failed$/.test(l));
    expect(progress.length).toBeGreaterThanOrEqual(1);
    const summary = JSON.parse(load.stdout);
    expect(summary.errors).toBe(0);
    expect(summary.answered).toBe(summary.requests);
    expect(summary.requests).toBeGreaterThan(10);
    expect(summary.requests).toBeLessThan(1000); // one worker at 20 ms a request, for about 6 s
    expect(summary.seconds).toBeGreaterThanOrEqual(5.9);
  });
});
