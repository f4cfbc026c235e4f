import { eventually } from '../../support/wait';
import { dispatches, readies, replies, workerOf } from '../../support/cluster/broker-trace';
import { ContinuousLoad } from '../../support/cluster/load';
import type { Task } from '../../support/cluster/stack';
import { answersCheck, brokerTasks, describeOnCluster, finishLoad } from '../../support/cluster/suite';

// The node of one of the two brokers dies (engine and containers at once) while both brokers
// answer clients on the other two nodes. Nobody waits for the swarm to notice:
// - the other broker serves on: every worker serves both brokers, so it has all the workers but
//   the one that died with the node;
// - a client whose request was at the dead broker gets no answer within its timeout (1 s here)
//   and sends the request again, on a fresh connection, to the next broker: the one left.
// Then the swarm marks the node down and starts the broker on the spare node labelled for it
// (n3), and the workers, looking `bro` up again every 5 s, find it and serve it too.

describeOnCluster("three-node swarm: a broker's node killed under load", ({ cluster, stack, figures }) => {
  it("the other broker answers on, the dead one's requests within 2 s; a broker starts on the spare node, the workers serve it; none lost or wrong", async () => {
    const victim = cluster.node('n2');
    const brokers = await brokerTasks(stack);
    const dead = brokers.find((t) => t.node === victim.name);
    const survivor = brokers.find((t) => t.node !== victim.name);
    if (!dead || !survivor) throw new Error(`not one broker on ${victim.name} and one elsewhere: ${JSON.stringify(brokers)}`);
    // One node more than the brokers may run one (deploy/README.md): somewhere for the dead one to go.
    await cluster.manager.docker('node', 'update', '--label-add', 'tsr.broker=true', 'n3');
    const loaded = cluster.nodes.filter((n) => n !== victim);
    // Long runs (100 requests), so that clients are sending when the node dies.
    const load = new ContinuousLoad(stack, 100);
    load.start(loaded);
    const answering = async (t: Task) => replies(await stack.log(t)).some((r) => r.at > Date.now() - 1000);
    await eventually(
      'clients mid-run on both load nodes, and both brokers answering',
      async () => load.runningFor(loaded, 3000) && (await Promise.all(brokers.map(answering))).every(Boolean),
      90_000,
      200,
    );

    const deadLog = await stack.log(dead);
    const killedAt = Date.now();
    await victim.kill();
    // The survivor's first answer after the kill, and its first on a connection that a client
    // opened since (its request sent again after a timeout: at the dead broker, mostly).
    const { firstAnswer, firstMoved } = await eventually(
      'the surviving broker to answer a request sent again after the kill',
      async () => {
        const log = await stack.log(survivor);
        const before = new Set(dispatches(log.filter((l) => l.at <= killedAt)).map((d) => d.client));
        const after = replies(log).filter((r) => r.at > killedAt);
        const moved = after.find((r) => !before.has(r.client) && /#\d+$/.test(r.client));
        return moved && { firstAnswer: after[0].at, firstMoved: moved.at };
      },
      30_000,
      200,
    );
    const downAt = await eventually(
      `the manager to mark ${victim.name} down`,
      async () => ((await stack.nodeStatus(victim.name)) === 'down' ? Date.now() : undefined),
      90_000,
      200,
    );
    const moved = await eventually(
      'a broker started on n3',
      async () => (await stack.tasks('bro', true)).find((t) => t.node === 'n3'),
      90_000,
      200,
    );
    const movedAt = Date.now();
    const workers = await stack.converged('wor', 3, (ts) => ts.every((t) => t.node !== victim.name));
    // Every worker found the new broker and announced itself to it, and it answers.
    const { servedAt, allReadyAt } = await eventually(
      'the new broker to hear every worker and answer',
      async () => {
        const log = await stack.log(moved);
        const ready = workers.map((w) => readies(log).find((r) => workerOf(w.container)(r.worker))?.at ?? NaN);
        const [first] = replies(log);
        return first && ready.every((at) => at > 0) ? { servedAt: first.at, allReadyAt: Math.max(...ready) } : undefined;
      },
      90_000,
      500,
    );
    await finishLoad(load, loaded, killedAt, servedAt);
    expect(answersCheck([deadLog, ...(await stack.logs([survivor, moved]))]).violations).toEqual([]);
    expect(firstAnswer - killedAt).toBeLessThan(2000);
    expect(firstMoved - killedAt).toBeLessThan(2000);

    const s = (t: number) => (t - killedAt) / 1000;
    figures['broker node killed'] = {
      survivorFirstAnswerS: s(firstAnswer),
      survivorFirstMovedRequestAnswerS: s(firstMoved),
      nodeDownS: s(downAt),
      newBrokerOnN3S: s(movedAt),
      newBrokerAllWorkersS: s(allReadyAt),
      newBrokerFirstAnswerS: s(servedAt),
      duringKill: load.totals(load.overlapping(killedAt, killedAt + 1)),
      ...load.totals(),
    };
  });
});
