import { join } from 'node:path';
import { loadSummary } from '../../support/containers/chaos';
import { repoRoot, run } from '../../support/containers/docker';
import { dispatches, workerOf } from '../../support/cluster/broker-trace';
import { ContinuousLoad } from '../../support/cluster/load';
import { brokerTask, describeOnCluster, answersCheck } from '../../support/cluster/suite';

// Placement on three nodes: the broker where it is allowed (n2), the workers spread over all
// three, and clients on every node reaching it: in containers on the overlay network (by the name
// `bro`), and from each node's own network through the frontend the broker publishes in host mode
// on its node (the node's address, port 8000).

const clientMain = join(repoRoot, 'dist', 'apps', 'client', 'main.js');

describeOnCluster('three-node swarm: placement, clients on every node', ({ cluster, stack, figures }) => {
  it('runs the broker on the labelled node and one worker on each node', async () => {
    const bro = await brokerTask(stack);
    expect(bro.node).toBe('n2');
    const workers = await stack.converged('wor', 3);
    expect(workers.map((w) => w.node).sort()).toEqual(['n1', 'n2', 'n3']);
    expect((await cluster.readyNodes()).sort()).toEqual(['n1', 'n2', 'n3']);
  });

  it('answers clients on every node, each answer checked, served by the workers of all three nodes', async () => {
    const bro = await brokerTask(stack);
    const workers = await stack.converged('wor', 3);
    const load = new ContinuousLoad(stack);
    const start = Date.now();
    load.start(cluster.nodes);
    await load.waitForRunsAfter(start, cluster.nodes);

    // From each node's own network (not a container): the broker's published port on its node.
    const broker = cluster.node(bro.node);
    const direct = await Promise.all(
      cluster.nodes.map(async (n) => {
        const r = await run(
          'nsenter',
          [
            '-t',
            String(n.pid),
            '-n',
            '--',
            process.execPath,
            clientMain,
            broker.ip,
            '8000',
            '--requests',
            '10',
            '--concurrency',
            '2',
            '--timeout',
            '5000',
            '--json',
          ],
          {
            env: { ...process.env, TSR_LOG: 'error', CURVE_SERVER_KEY: stack.brokerPublicKey },
          },
        );
        return { node: n.name, code: r.code, summary: loadSummary(r.stdout) ?? r.stderr };
      }),
    );
    await load.stop();

    expect(load.failures()).toEqual([]);
    expect(new Set(load.runs.map((r) => r.node))).toEqual(new Set(['n1', 'n2', 'n3']));
    for (const d of direct)
      expect(d).toEqual({ node: d.node, code: 0, summary: expect.objectContaining({ requests: 10, answered: 10, errors: 0, stray: 0 }) });

    const log = await stack.log(bro);
    const served = workers.map((w) => ({
      node: w.node,
      dispatched: dispatches(log).filter((d) => workerOf(w.container)(d.worker)).length,
    }));
    for (const s of served) expect(s.dispatched).toBeGreaterThan(0);
    const answers = answersCheck([log]);
    expect(answers.violations).toEqual([]);
    expect(answers.replies).toBeGreaterThanOrEqual(load.totals().answered);
    figures['loads'] = { ...load.totals(), perWorker: served };
  });
});
