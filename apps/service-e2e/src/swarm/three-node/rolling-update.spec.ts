import { version } from '../../support/containers/docker';
import { eventually } from '../../support/wait';
import { dispatches, redispatched, workerOf } from '../../support/cluster/broker-trace';
import { ContinuousLoad } from '../../support/cluster/load';
import { answersCheck, brokerTask, describeOnCluster } from '../../support/cluster/suite';
import type { Task } from '../../support/cluster/stack';

// SLA adaptation across nodes while clients on all three keep getting every answer: the workers
// updated to a new image (start-first: a new worker is healthy, i.e. connected to the broker,
// before an old one gets SIGTERM and says goodbye), then scaled 3 → 9 (over all nodes) → 3.

const NEXT_TAG = 'tsr-worker:cluster-next';

describeOnCluster('three-node swarm: rolling update and scaling of the workers under load', ({ cluster, stack, figures }) => {
  it('updates the workers node by node and scales them 3 → 9 → 3 without losing or mixing up an answer', async () => {
    const bro = await brokerTask(stack);
    const first = await stack.converged('wor', 3);
    // "A new version": the worker image with its own ID and version label, made on n1 and copied
    // to the other nodes (so every node has the same ID).
    const m = cluster.manager;
    const draft = await m.docker('create', stack.images.worker);
    const next = await m.docker('commit', '--change', `LABEL org.opencontainers.image.version=${version}-next`, draft, NEXT_TAG);
    await m.docker('rm', draft);
    await cluster.spreadImage(NEXT_TAG);

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
    const serving = (ts: Task[], what: string) =>
      eventually(
        `${what} serving requests`,
        async () => {
          const log = await stack.log(bro);
          return ts.every((t) => dispatches(log).some((d) => workerOf(t.container)(d.worker)));
        },
        60_000,
        500,
      );

    // (a) Rolling update, start-first: never fewer than 3 healthy workers.
    let fewestHealthy = Infinity;
    const updated = await op('update', async () => {
      await m.docker('service', 'update', '--detach', '--no-resolve-image', '--image', next, stack.service('wor'));
      await eventually(
        'the update to complete',
        async () => {
          fewestHealthy = Math.min(fewestHealthy, (await stack.tasks('wor', true)).length);
          const state = await m.docker(
            'service',
            'inspect',
            '-f',
            '{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}',
            stack.service('wor'),
          );
          if (/rollback|paused/.test(state)) throw new Error(`the update ended "${state}"`);
          return state === 'completed';
        },
        150_000,
        300,
      );
      const ts = await stack.converged('wor', 3);
      await serving(ts, 'the updated workers');
      return ts;
    });
    expect(fewestHealthy).toBeGreaterThanOrEqual(3);
    expect(updated.filter((t) => first.some((f) => f.container === t.container))).toEqual([]);
    const images = await Promise.all(updated.map((t) => stack.nodeOf(t).docker('inspect', '-f', '{{.Image}}', t.container)));
    expect(images).toEqual([next, next, next]);
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
    // The six stopped workers exited 0 (SIGTERM: goodbye to the broker, sockets closed).
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

    await load.waitForRunsAfter(Date.now(), cluster.nodes);
    await load.stop();
    expect(load.failures()).toEqual([]);
    for (const o of ops)
      expect({ op: o.what, loadsDuring: load.overlapping(o.start, o.end).length > 0 }).toEqual({ op: o.what, loadsDuring: true });
    const log = await stack.log(bro);
    expect(answersCheck([log]).violations).toEqual([]);
    expect((await brokerTask(stack)).container).toBe(bro.container);

    figures['rolling update and scaling'] = {
      ...Object.fromEntries(ops.map((o) => [`${o.what} s`, (o.end - o.start) / 1000])),
      fewestHealthyDuringUpdate: fewestHealthy,
      nineWorkersPerNode: perNode,
      redispatched: redispatched(log),
      ...load.totals(),
    };
  });
});
