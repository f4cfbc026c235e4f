import { version } from '../../support/containers/docker';
import { eventually } from '../../support/wait';
import { dispatches, readies, redispatched, replies, workerOf } from '../../support/cluster/broker-trace';
import { ContinuousLoad } from '../../support/cluster/load';
import { BROKER_NODES, answersCheck, brokerTasks, describeOnCluster } from '../../support/cluster/suite';
import { type Service, type Task, containers } from '../../support/cluster/stack';

// SLA adaptation across nodes while clients on all three keep getting every answer: the workers
// updated to a new image (start-first: a new worker is healthy, i.e. connected to the brokers,
// before an old one gets SIGTERM and says goodbye), scaled 3 → 9 (over all nodes) → 3; then the
// brokers updated to a new image, one after the other (stop-first: the stopped broker's clients
// send their requests again to the other one after their 1-s timeout).

describeOnCluster('three-node swarm: workers and brokers updated, workers scaled, under load', ({ cluster, stack, figures }) => {
  it('updates the workers node by node, scales them 3 → 9 → 3, then updates the brokers one by one, without losing or mixing up an answer', async () => {
    const brokers = await brokerTasks(stack);
    const first = await stack.converged('wor', 3);
    const m = cluster.manager;
    /** "A new version": the image with its own ID and version label, made on n1 and copied to the other nodes (the same ID everywhere). */
    const nextVersion = async (image: string, tag: string) => {
      const draft = await m.docker('create', image);
      const id = await m.docker('commit', '--change', `LABEL org.opencontainers.image.version=${version}-next`, draft, tag);
      await m.docker('rm', draft);
      await cluster.spreadImage(tag);
      return id;
    };
    const nextWorker = await nextVersion(stack.images.worker, 'tsr-worker:cluster-next');
    const nextBroker = await nextVersion(stack.images.broker, 'tsr-broker:cluster-next');

    const load = new ContinuousLoad(stack);
    load.start(cluster.nodes);
    await load.waitForRunsAfter(Date.now(), cluster.nodes);
    const ops: { what: string; start: number; end: number }[] = [];
    const op = async <T>(what: string, f: () => Promise<T>): Promise<T> => {
      const start = Date.now();
      const value = await f();
      ops.push({ what, start, end: Date.now() });
      return value;
    };
    /** Every worker given has been sent requests by one of the brokers. */
    const serving = (ts: Task[], what: string) =>
      eventually(
        `${what} serving requests`,
        async () => {
          const log = (await stack.logs(brokers)).flat();
          return ts.every((t) => dispatches(log).some((d) => workerOf(t.container)(d.worker)));
        },
        60_000,
        500,
      ).catch(async (e: Error) => {
        // Where a broker went meanwhile, the swarm and the container say why.
        throw new Error(`${e.message}; the brokers: ${(await stack.whyGone('bro', brokers)).join('; ')}`);
      });
    /** A service updated to a new image: until the swarm says it is done; the fewest healthy tasks seen meanwhile. */
    const update = async (s: Service, image: string): Promise<number> => {
      let fewestHealthy = Infinity;
      await m.docker('service', 'update', '--detach', '--no-resolve-image', '--image', image, stack.service(s));
      await eventually(
        `the update of ${stack.service(s)} to complete`,
        async () => {
          fewestHealthy = Math.min(fewestHealthy, (await stack.tasks(s, true)).length);
          const state = await m.docker('service', 'inspect', '-f', '{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}', stack.service(s));
          if (/rollback|paused/.test(state)) throw new Error(`the update of ${stack.service(s)} ended "${state}"`);
          return state === 'completed';
        },
        150_000,
        300,
      );
      return fewestHealthy;
    };
    const imageOf = (ts: Task[]) => Promise.all(ts.map((t) => stack.nodeOf(t).docker('inspect', '-f', '{{.Image}}', t.container)));

    // (a) Rolling update of the workers, start-first: never fewer than 3 healthy workers.
    let fewestWorkers = 0;
    const updated = await op('workers update', async () => {
      fewestWorkers = await update('wor', nextWorker);
      const ts = await stack.converged('wor', 3);
      await serving(ts, 'the updated workers');
      return ts;
    });
    expect(fewestWorkers).toBeGreaterThanOrEqual(3);
    expect(updated.filter((t) => first.some((f) => f.container === t.container))).toEqual([]);
    expect(await imageOf(updated)).toEqual([nextWorker, nextWorker, nextWorker]);
    expect(new Set(updated.map((t) => t.node)).size).toBeGreaterThan(1);

    // (b) Scale 3 → 9 over all nodes, every new worker takes work; then back to 3.
    const nine = await op('scale 3 → 9', async () => {
      await m.docker('service', 'scale', '--detach', `${stack.service('wor')}=9`);
      const ts = await stack.converged('wor', 9);
      await serving(ts, '9 workers');
      return ts;
    });
    const perNode = Object.fromEntries(cluster.nodes.map((n) => [n.name, nine.filter((t) => t.node === n.name).length]));
    // Spread over the nodes (the scheduler balances a service's tasks, not exactly).
    for (const n of cluster.nodes) expect({ node: n.name, workers: perNode[n.name] >= 2 }).toEqual({ node: n.name, workers: true });
    const three = await op('scale 9 → 3', async () => {
      await m.docker('service', 'scale', '--detach', `${stack.service('wor')}=3`);
      return stack.converged('wor', 3);
    });
    // The six stopped workers exited 0 (SIGTERM: goodbye to the brokers, sockets closed).
    const stopped = nine.filter((t) => !three.some((x) => x.container === t.container));
    expect(stopped).toHaveLength(6);
    const codes = await Promise.all(
      stopped.map((t) =>
        stack
          .nodeOf(t)
          .docker('inspect', '-f', '{{.State.ExitCode}}', t.container)
          .catch(() => 'removed'),
      ),
    );
    expect(codes.filter((c) => c !== '0' && c !== 'removed')).toEqual([]);
    // The brokers were not touched by any of it (if one was, the swarm and the container say why).
    const brokersNow = containers(await brokerTasks(stack));
    const brokersGone = brokers.filter((b) => !brokersNow.includes(b.container));
    expect({ brokersGone, why: brokersGone.length ? await stack.whyGone('bro', brokersGone) : [] }).toEqual({ brokersGone: [], why: [] });

    // (c) Rolling update of the brokers, stop-first, one at a time: the other one serves
    // meanwhile; the workers find each new one by their next look-up of `bro`.
    let fewestBrokers = 0;
    const newBrokers = await op('brokers update', async () => {
      fewestBrokers = await update('bro', nextBroker);
      const ts = await brokerTasks(stack);
      await eventually(
        'every new broker to hear every worker and answer',
        async () =>
          (await stack.logs(ts)).every(
            (log) => three.every((w) => readies(log).some((r) => workerOf(w.container)(r.worker))) && replies(log).length > 0,
          ),
        60_000,
        500,
      );
      return ts;
    });
    expect(fewestBrokers).toBeGreaterThanOrEqual(1);
    expect(newBrokers.filter((t) => brokers.some((b) => b.container === t.container))).toEqual([]);
    expect(await imageOf(newBrokers)).toEqual([nextBroker, nextBroker]);
    expect(newBrokers.map((t) => t.node).sort()).toEqual(BROKER_NODES);

    await load.waitForRunsAfter(Date.now(), cluster.nodes);
    await load.stop();
    expect(load.failures()).toEqual([]);
    for (const o of ops)
      expect({ op: o.what, loadsDuring: load.overlapping(o.start, o.end).length > 0 }).toEqual({ op: o.what, loadsDuring: true });
    // The old brokers' containers stay (stopped) in the swarm's task history: their logs too.
    const logs = await stack.logs([...brokers, ...newBrokers]);
    expect(answersCheck(logs).violations).toEqual([]);

    const brokersUpdate = ops.find((o) => o.what === 'brokers update');
    figures['rolling updates and scaling'] = {
      ...Object.fromEntries(ops.map((o) => [`${o.what} s`, (o.end - o.start) / 1000])),
      fewestHealthyWorkersDuringUpdate: fewestWorkers,
      fewestHealthyBrokersDuringUpdate: fewestBrokers,
      nineWorkersPerNode: perNode,
      redispatched: redispatched(logs.flat()),
      duringBrokersUpdate: brokersUpdate && load.totals(load.overlapping(brokersUpdate.start, brokersUpdate.end)),
      ...load.totals(),
    };
  });
});
