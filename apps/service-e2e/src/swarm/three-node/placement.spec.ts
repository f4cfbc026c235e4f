import { join } from 'node:path';
import { loadSummary } from '../../support/containers/chaos';
import { repoRoot, run } from '../../support/containers/docker';
import { dispatches, workerOf } from '../../support/cluster/broker-trace';
import { ContinuousLoad } from '../../support/cluster/load';
import { BROKER_NODES, answersCheck, brokerTasks, describeOnCluster } from '../../support/cluster/suite';

// Placement on three nodes: a broker on each node labelled for them (n1, n2), the workers spread
// over all three, each serving both brokers, and clients on every node reaching the brokers: in
// containers on the overlay network (by the name `bro`, which resolves to both), and from each
// node's own network through the frontend each broker publishes in host mode on its node (the
// brokers' nodes' addresses, port 8000, as a list).

const clientMain = join(repoRoot, 'dist', 'apps', 'client', 'main.js');

describeOnCluster('three-node swarm: placement, clients on every node', ({ cluster, stack, figures }) => {
  it('runs a broker on each labelled node and one worker on each node', async () => {
    const brokers = await brokerTasks(stack);
    expect(brokers.map((b) => b.node).sort()).toEqual(BROKER_NODES);
    const workers = await stack.converged('wor', 3);
    expect(workers.map((w) => w.node).sort()).toEqual(['n1', 'n2', 'n3']);
    expect((await cluster.readyNodes()).sort()).toEqual(['n1', 'n2', 'n3']);
  });

  it('answers clients on every node, each answer checked, served by both brokers and by the workers of all three nodes for each', async () => {
    const brokers = await brokerTasks(stack);
    const workers = await stack.converged('wor', 3);
    const load = new ContinuousLoad(stack);
    const start = Date.now();
    load.start(cluster.nodes);
    await load.waitForRunsAfter(start, cluster.nodes);

    // From each node's own network (not a container): the ports the brokers publish on their nodes.
    const frontends = brokers.map((b) => `${cluster.node(b.node).ip}:8000`).join(',');
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
            frontends,
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

    const logs = await stack.logs(brokers);
    // Requests each broker sent each worker.
    const served = workers.map((w) => ({
      node: w.node,
      dispatched: logs.map((log) => dispatches(log).filter((d) => workerOf(w.container)(d.worker)).length),
    }));
    for (const s of served)
      expect({ node: s.node, byEveryBroker: s.dispatched.every((n) => n > 0) }).toEqual({ node: s.node, byEveryBroker: true });
    const answers = answersCheck(logs);
    expect(answers.violations).toEqual([]);
    expect(answers.replies).toBeGreaterThanOrEqual(load.totals().answered);
    figures['loads'] = { ...load.totals(), brokers: brokers.map((b) => b.node), perWorkerPerBroker: served };
  });
});
