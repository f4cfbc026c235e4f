import { eventually } from '../../support/wait';
import { readies, redispatched, replies } from '../../support/cluster/broker-trace';
import { ContinuousLoad } from '../../support/cluster/load';
import { answersCheck, brokerTask, describeOnCluster, finishLoad } from '../../support/cluster/suite';

// The broker's node dies (engine and containers at once). The swarm marks the node down and
// starts the broker on another node allowed by its placement constraint; nobody is told where:
// - workers hear no heartbeat for the liveness window, open a fresh socket and connect to `bro`
//   again; ZeroMQ resolves the name at each attempt (reconnect backoff 100 ms doubling to 5 s),
//   and the overlay's DNS answers with the new broker's address once its task runs (dnsrr: the
//   name is the task's own address, no virtual IP);
// - clients time out (5 s here) and resend on a fresh socket (Lazy Pirate), which resolves `bro`
//   again, until the new broker answers.
// The time to recover is measured from the kill to the first answer the new broker sends.

describeOnCluster("three-node swarm: the broker's node killed under load", ({ cluster, stack, figures }) => {
  it('reschedules the broker on another node; workers and clients find it; no request lost or answered wrongly', async () => {
    const old = await brokerTask(stack);
    expect(old.node).toBe('n2');
    const victim = cluster.node(old.node);
    // The broker may now run on the other nodes too.
    for (const n of cluster.nodes.filter((x) => x !== victim))
      await cluster.manager.docker('node', 'update', '--label-add', 'tsr.broker=true', n.name);
    const survivors = cluster.nodes.filter((n) => n !== victim);
    const load = new ContinuousLoad(stack);
    load.start(survivors);
    await load.waitForRunsAfter(Date.now(), survivors);

    const oldLog = await stack.log(old);
    const killedAt = Date.now();
    await victim.kill();
    const downAt = await eventually(
      `the manager to mark ${victim.name} down`,
      async () => ((await stack.nodeStatus(victim.name)) === 'down' ? Date.now() : undefined),
      90_000,
      200,
    );
    const bro = await eventually(
      'a broker running on another node',
      async () => {
        const [t] = await stack.tasks('bro', true);
        return t && t.node !== victim.name ? t : undefined;
      },
      90_000,
      200,
    );
    const brokerUpAt = Date.now();
    const workers = await stack.converged('wor', 3, (ts) => ts.every((t) => t.node !== victim.name));
    // Every worker announced itself to the new broker, and it answers.
    const { log, firstReply, allReady } = await eventually(
      'the new broker to hear every worker and answer',
      async () => {
        const log = await stack.log(bro);
        const ready = new Set(readies(log).map((r) => r.worker.slice(2, 14)));
        const first = replies(log)[0];
        if (!first || !workers.every((w) => ready.has(w.container.slice(0, 12)))) return undefined;
        return { log, firstReply: first.at, allReady: Math.max(...readies(log).map((r) => r.at)) };
      },
      90_000,
      500,
    );
    await finishLoad(load, survivors, killedAt, firstReply);
    const answers = answersCheck([oldLog, await stack.log(bro)]);
    expect(answers.violations).toEqual([]);
    expect(replies(log).length).toBeGreaterThan(0);

    figures['broker node killed'] = {
      brokerNow: bro.node,
      nodeDownS: (downAt - killedAt) / 1000,
      brokerRunningS: (brokerUpAt - killedAt) / 1000,
      firstAnswerS: (firstReply - killedAt) / 1000,
      allWorkersBackS: (allReady - killedAt) / 1000,
      redispatchedByNewBroker: redispatched(log),
      ...load.totals(),
    };
  });
});
