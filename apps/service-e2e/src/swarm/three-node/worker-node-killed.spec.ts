import { eventually } from '../../support/wait';
import { dispatches, redispatched, workerOf } from '../../support/cluster/broker-trace';
import { ContinuousLoad } from '../../support/cluster/load';
import { containers } from '../../support/cluster/stack';
import { HEARTBEAT_MS, LIVENESS, answersCheck, brokerTasks, describeOnCluster, finishLoad } from '../../support/cluster/suite';

// A worker node dies as a machine does: its engine and containers killed at once (SIGKILL to the
// node's whole PID namespace), nothing said to anyone; both brokers run on the other nodes. Each
// broker notices the worker's silence (heartbeats, or the answer timeout of the request it holds)
// and gives that request to another worker; the swarm marks the node down and starts its task
// again on the nodes left, and the new worker serves both brokers. Clients on the other nodes keep
// getting every answer, each checked.

describeOnCluster('three-node swarm: a worker node killed under load', ({ cluster, stack, figures }) => {
  it("moves the dead workers' requests on, reschedules their tasks on the other nodes, loses no request", async () => {
    const brokers = await brokerTasks(stack);
    const before = await stack.converged('wor', 3);
    const victim = cluster.node('n3');
    expect(brokers.map((b) => b.node)).not.toContain(victim.name);
    const dead = before.filter((w) => w.node === victim.name);
    expect(dead).toHaveLength(1);

    const survivors = cluster.nodes.filter((n) => n !== victim);
    const load = new ContinuousLoad(stack);
    load.start(survivors);
    await load.waitForRunsAfter(Date.now(), survivors);

    const killedAt = Date.now();
    await victim.kill();
    const killMs = Date.now() - killedAt;
    const downAt = await eventually(
      'the manager to mark n3 down',
      async () => ((await stack.nodeStatus('n3')) === 'down' ? Date.now() : undefined),
      90_000,
      200,
    );
    const after = await stack.converged('wor', 3, (ts) => ts.every((t) => t.node !== victim.name));
    const rescheduledAt = Date.now();
    const fresh = after.filter((t) => !before.some((b) => b.container === t.container));
    expect(fresh.map((t) => t.node).every((n) => n !== 'n3')).toBe(true);
    expect(fresh).toHaveLength(dead.length);

    // The new workers take work from both brokers, and clients finish loads after it all.
    await eventually(
      'the rescheduled workers serving both brokers',
      async () =>
        (await stack.logs(brokers)).every((log) => fresh.every((t) => dispatches(log).some((d) => workerOf(t.container)(d.worker)))),
      60_000,
      500,
    );
    await finishLoad(load, survivors, killedAt, rescheduledAt);
    const logs = await stack.logs(brokers);
    expect(answersCheck(logs).violations).toEqual([]);
    // Both brokers dropped the dead worker: nothing sent to it past the liveness window (and one beat).
    const log = logs.flat();
    const toDead = dispatches(log).filter((d) => dead.some((t) => workerOf(t.container)(d.worker)));
    const lastToDead = Math.max(0, ...toDead.map((d) => d.at));
    expect(lastToDead - killedAt).toBeLessThanOrEqual(HEARTBEAT_MS * (LIVENESS + 1));
    // The brokers survived: the same containers throughout.
    expect(containers(await brokerTasks(stack))).toEqual(containers(brokers));

    figures['worker node killed'] = {
      killMs,
      nodeDownS: (downAt - killedAt) / 1000,
      tasksRescheduledS: (rescheduledAt - killedAt) / 1000,
      lastDispatchToDeadWorkerMs: toDead.length ? lastToDead - killedAt : null,
      redispatched: redispatched(log),
      ...load.totals(),
    };
  });
});
