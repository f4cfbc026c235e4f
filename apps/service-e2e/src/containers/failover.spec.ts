import { escapeRegExp as escape } from '@tsr/testing';
import { ContainerDeployment } from '../support/containers/service';
import { docker, logsOf, stateOf, waitForLog } from '../support/containers/docker';

describe('a worker container killed mid-task', () => {
  const d = new ContainerDeployment('failover');

  beforeAll(async () => {
    await d.start();
    // The broker gives a worker 4 s; the slow worker needs 3 s, so it would answer in time if alive.
    await d.startBroker({ ANSWER_TIMEOUT_MS: '4000' });
  });
  afterAll(() => d.cleanup());

  it('still has its request answered, by another worker, exactly once', async () => {
    const slow = await d.startWorker(3000); // registers first: the broker's least recently used
    const spare = await d.startWorker(100);
    // --retries 0: the answer must come from the broker's re-dispatch, not from a client retry.
    const client = await d.startClient(['--request', 'survivor', '--timeout', '30000', '--retries', '0']);

    await d.waitForBroker(new RegExp(`new_task: worker="${escape(slow.id)}" client="C [^"]+" ticket="[0-9a-f]+" request="survivor"`));
    await waitForLog(slow.container.getId(), /procesaPeticion: .*request="survivor"/);
    await docker('kill', '--signal', 'KILL', slow.container.getId()); // mid-task: 3 s of work left

    const result = await d.clientResult(client);
    expect(result).toEqual({ code: 0, output: `survivor ${spare.id}` });

    const killed = await stateOf(slow.container.getId());
    expect(killed).toMatchObject({ Running: false, ExitCode: 137 }); // SIGKILL: it never answered
    const broker = await logsOf(d.broker.getId());
    expect(broker).toMatch(new RegExp(`new_task: worker="${escape(spare.id)}" client="C [^"]+" ticket="[0-9a-f]+" request="survivor"`));
    expect(broker.match(/\[broker\] reply: client="C [^"]+" reply="survivor /g)).toHaveLength(1);
  });
});
