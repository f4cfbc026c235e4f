import { eventually } from '../../support/wait';
import { dispatches, readies, redispatched, workerOf } from '../../support/cluster/broker-trace';
import { ContinuousLoad } from '../../support/cluster/load';
import { HEARTBEAT_MS, LIVENESS, answersCheck, brokerTask, describeOnCluster, finishLoad } from '../../support/cluster/suite';

// A worker node cut off the network (its link down) and joined again (link up): a partition, not a
// death. The broker hears nothing from the node's worker and drops it within the liveness window
// (its request, if it held one, goes to another worker); the worker hears nothing from the broker
// and connects again. Once the link is back, the same worker container announces itself again and
// takes work. The partition is shorter than the swarm's own node-down detection (about 12 s
// here), so the swarm never reschedules the task: the worker itself rejoins.

describeOnCluster('three-node swarm: a worker node cut off and joined again under load', ({ cluster, stack, figures }) => {
  it('drops the cut-off worker within the liveness window, takes it back after the partition, no wrong answer', async () => {
    const bro = await brokerTask(stack);
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
    // noticed the broker's silence.
    const window = HEARTBEAT_MS * (LIVENESS + 1);
    await eventually(
      "the cut-off worker to notice the broker's silence",
      async () => {
        const log = await stack.log(cut);
        return Date.now() - cutAt > window && log.some((l) => l.at > cutAt && /broker silent/.test(l.line));
      },
      30_000,
      200,
    );
    const healedAt = Date.now();
    await node.link(true);

    // The same container announces itself again and takes work.
    const rejoinedAt = await eventually(
      'the cut-off worker to rejoin the broker',
      async () => {
        const log = await stack.log(bro);
        const ready = readies(log).find((r) => r.at >= healedAt && isCut(r.worker));
        const work = dispatches(log).find((d) => d.at >= healedAt && isCut(d.worker));
        return ready && work ? ready.at : undefined;
      },
      60_000,
      300,
    );
    await finishLoad(load, others, cutAt, healedAt);
    const log = await stack.log(bro);
    const answers = answersCheck([log]);
    expect(answers.violations).toEqual([]);
    // The broker stopped giving it work within the window.
    const toCut = dispatches(log).filter((d) => isCut(d.worker) && d.at > cutAt && d.at < healedAt);
    for (const d of toCut) expect(d.at - cutAt).toBeLessThanOrEqual(window);
    // Not rescheduled: the same workers (same containers), the node still in the swarm.
    expect((await stack.converged('wor', 3)).map((t) => t.container).sort()).toEqual(before.map((t) => t.container).sort());
    expect(await stack.nodeStatus('n3')).toBe('ready');
    expect((await brokerTask(stack)).container).toBe(bro.container);

    figures['worker node cut off'] = {
      partitionS: (healedAt - cutAt) / 1000,
      lastDispatchToCutWorkerMs: toCut.length ? Math.max(...toCut.map((d) => d.at)) - cutAt : null,
      rejoinedAfterHealS: (rejoinedAt - healedAt) / 1000,
      redispatched: redispatched(log),
      ...load.totals(),
    };
  });
});
