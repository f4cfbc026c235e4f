import { ContainerDeployment } from '../support/containers/service';
import { logsOf, stopTimed, waitForLog } from '../support/containers/docker';

describe('docker stop of each component', () => {
  const d = new ContainerDeployment('stop');

  beforeAll(() => d.start());
  afterAll(() => d.cleanup());

  // Docker sends SIGTERM, waits 10 s, then SIGKILLs (exit code 137). Node is PID 1 in our images
  // (exec-form ENTRYPOINT): the kernel gives PID 1 no default signal action, so only the app's own
  // handler can make it exit 0, and quickly.
  it('ends client, worker and broker with exit code 0, well under the 10 s kill timeout', async () => {
    await d.startBroker();
    const worker = await d.startWorker(60_000); // busy for a minute: it is stopped mid-task
    const client = await d.startClient(['--request', 'never-answered', '--timeout', '0']); // waits forever
    await waitForLog(worker.container.getId(), /procesaPeticion: .*request="never-answered"/);

    const client_ = await stopTimed(client.getId());
    const worker_ = await stopTimed(worker.container.getId());
    const broker_ = await stopTimed(d.broker.getId());

    for (const s of [client_, worker_, broker_]) {
      expect(s.exitCode).toBe(0);
      expect(s.ms).toBeLessThan(2000);
    }
    expect(await logsOf(worker.container.getId())).toMatch(/\[worker\] stopped by SIGTERM/);
    expect(await logsOf(d.broker.getId())).toMatch(/\[broker\] stopped by SIGTERM/);
    // For the record (jest prints it with --verbose): how long each `docker stop` took.
    console.log(`docker stop: client ${client_.ms.toFixed(0)} ms, worker ${worker_.ms.toFixed(0)} ms, broker ${broker_.ms.toFixed(0)} ms`);
  });
});
