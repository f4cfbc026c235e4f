import { eventually } from '../../support/wait';
import { dispatches, readies, redispatched, workerOf } from '../../support/cluster/broker-trace';
import { ContinuousLoad } from '../../support/cluster/load';
import { containers } from '../../support/cluster/stack';
import { HEARTBEAT_MS, LIVENESS, answersCheck, brokerTasks, describeOnCluster, finishLoad } from '../../support/cluster/suite';

// A worker node cut off the network (its link down) and joined again (link up): a partition, not a
// death. Each broker hears nothing from the node's worker and drops it within the liveness window
// (its request, if it held one, goes to another worker); the worker hears nothing from either
// broker and connects to each again. Once the link is back, the same worker container announces
// itself to both brokers again and takes work. The partition is shorter than the swarm's own node-down detection (about 12 s
// here), so the swarm never reschedules the task: the worker itself rejoins.

describeOnCluster('three-node swarm: a worker node cut off and joined again under load', ({ cluster, stack, figures }) => {
  it('drops the cut-off worker within the liveness window, takes it back after the partition, no wrong answer', async () => {
    const brokers = await brokerTasks(stack);
    const before = await stack.converged('wor', 3);
    const node = cluster.node('n3');
    const [cut] = before.filter((w) => w.node === node.name);
    expect(cut).toBeDefined();
    const isCut = workerOf(cut.container);

    const others = cluster.nodes.filter((n) => n !== node);
    const load = new ContinuousLoad(stack);
    load.start(others);
    await load.waitForRunsAfter(Date.now(), others);

    const cutAt = Date.now();
    await node.link(false);
    // Hold the partition until the liveness window (and one beat) has passed and the worker has
    // noticed the silence of both brokers.
    const window = HEARTBEAT_MS * (LIVENESS + 1);
    await eventually(
      "the cut-off worker to notice the brokers' silence",
      async () => {
        const log = await stack.log(cut);
        return Date.now() - cutAt > window && log.filter((l) => l.at > cutAt && /broker silent/.test(l.line)).length >= brokers.length;
      },
      30_000,
      200,
    );
    const healedAt = Date.now();
    await node.link(true);

    // The same container announces itself to both brokers again and takes work from each.
    const rejoinedAt = await eventually(
      'the cut-off worker to rejoin both brokers',
      async () => {
        const rejoined = (await stack.logs(brokers)).map((log) => {
          const ready = readies(log).find((r) => r.at >= healedAt && isCut(r.worker));
          return ready && dispatches(log).some((d) => d.at >= healedAt && isCut(d.worker)) ? ready.at : NaN;
        });
        return rejoined.every((at) => at > 0) ? Math.max(...rejoined) : undefined;
      },
      60_000,
      300,
    );
    await finishLoad(load, others, cutAt, healedAt);
    const logs = await stack.logs(brokers);
    expect(answersCheck(logs).violations).toEqual([]);
    // Both brokers stopped giving it work within the window.
    const log = logs.flat();
    const toCut = dispatches(log).filter((d) => isCut(d.worker) && d.at > cutAt && d.at < healedAt);
    for (const d of toCut) expect(d.at - cutAt).toBeLessThanOrEqual(window);
    // Not rescheduled: the same workers (same containers), the node still in the swarm.
    expect(containers(await stack.converged('wor', 3))).toEqual(containers(before));
    expect(await stack.nodeStatus('n3')).toBe('ready');
    expect(containers(await brokerTasks(stack))).toEqual(containers(brokers));

    figures['worker node cut off'] = {
      partitionS: (healedAt - cutAt) / 1000,
      lastDispatchToCutWorkerMs: toCut.length ? Math.max(...toCut.map((d) => d.at)) - cutAt : null,
      rejoinedAfterHealS: (rejoinedAt - healedAt) / 1000,
      redispatched: redispatched(log),
      ...load.totals(),
    };
  });
});
