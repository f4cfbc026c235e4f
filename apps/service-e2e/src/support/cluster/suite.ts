import { join } from 'node:path';
import { type ExactlyOnceReport, checkExactlyOnce } from '../containers/chaos';
import { image, repoRoot } from '../containers/docker';
import { Cluster, clusterUnsupported } from './cluster';
import { ClusterStack, type Task } from './stack';
import type { Stamped } from './broker-trace';
import type { ContinuousLoad } from './load';
import type { ClusterNode } from './node';

export const STACK_FILE = join(repoRoot, 'docker', 'deploy', 'swarm', 'stack.yml');
/** Workers take 100 ms a request; broker and workers beat every second, 3 missed beats is death. */
export const WORKER_DELAY_MS = 100;
export const HEARTBEAT_MS = 1000;
export const LIVENESS = 3;
/**
 * The nodes labelled for the stack's brokers, one broker on each: n1 (the manager) and n2. So n3
 * runs workers only, and the worker suites can kill it or cut it off with both brokers left; the
 * broker suite kills n2, which leaves the manager (and n3, labelled then, for the broker to move to).
 */
export const BROKER_NODES = ['n1', 'n2'];

export interface ClusterContext {
  cluster: Cluster;
  stack: ClusterStack;
  /** Figures the suite reports at the end (bring-up, teardown, memory, its own). */
  figures: Record<string, unknown>;
}

/**
 * A suite on its own three-node swarm: nodes up, images loaded, docker/deploy/swarm/stack.yml
 * deployed (a broker on each of BROKER_NODES, labelled `tsr.broker=true`; three workers),
 * converged. Afterwards the cluster goes and the suite fails if anything of it is left on the
 * host. Where the machine cannot run a cluster (not root, no namespaces, a missing command) the
 * suite is skipped and says why.
 */
export function describeOnCluster(title: string, body: (ctx: ClusterContext) => void): void {
  const why = clusterUnsupported();
  if (why) {
    describe(title, () => {
      it.skip(`needs a multi-node cluster: ${why}`, () => undefined);
    });
    // Loud, so that a skipped suite is not mistaken for a passed one.
    console.warn(`[cluster] ${title}: SKIPPED, ${why}`);
    return;
  }
  describe(title, () => {
    const cluster = new Cluster(3);
    const ctx: ClusterContext = { cluster, stack: new ClusterStack(cluster, STACK_FILE), figures: {} };

    beforeAll(async () => {
      const start = performance.now();
      await cluster.up([image('broker'), image('worker'), image('client')]);
      ctx.figures['bring-up ms'] = { total: Math.round(performance.now() - start), ...cluster.timings };
      for (const n of BROKER_NODES) await cluster.manager.docker('node', 'update', '--label-add', 'tsr.broker=true', n);
      const deployStart = performance.now();
      await ctx.stack.deploy(
        { broker: image('broker'), worker: image('worker'), client: image('client') },
        {
          BROKER_CONSTRAINT: 'node.labels.tsr.broker==true',
          BROKERS: String(BROKER_NODES.length),
          WORKERS: '3',
          // The stack's second service (wordcount) is not what these suites exercise: none of its workers.
          WORDCOUNT_WORKERS: '0',
          WORKER_DELAY_MS: String(WORKER_DELAY_MS),
          HEARTBEAT_MS: String(HEARTBEAT_MS),
          HEARTBEAT_LIVENESS: String(LIVENESS),
          TSR_LOG: 'trace',
        },
      );
      await brokerTasks(ctx.stack);
      await ctx.stack.converged('wor', 3);
      ctx.figures['deploy ms'] = Math.round(performance.now() - deployStart);
      const mem = await cluster.memory();
      ctx.figures['memory MiB'] = { processes: mib(mem.processes), data: mib(mem.data) };
    });

    afterAll(async () => {
      const down = await cluster.down();
      ctx.figures['teardown ms'] = down.ms;
      console.log(`[cluster] ${title}: ${JSON.stringify(ctx.figures)}`);
      if (down.changed.length || down.leftovers.length) {
        throw new Error(`the cluster left the host changed: ${JSON.stringify({ changed: down.changed, leftovers: down.leftovers })}`);
      }
    });

    body(ctx);
  });
}

export const mib = (bytes: number) => Math.round(bytes / 1024 / 1024);

/** The brokers' tasks, once all of them run, healthy. */
export const brokerTasks = (stack: ClusterStack): Promise<Task[]> => stack.converged('bro', BROKER_NODES.length);

/**
 * From the traces of every broker that ran, in any order: no load client's socket was sent two
 * answers to one request, nor an answer to another request (see chaos.ts). Load requests are
 * `C <host> #n`, sent from routing ids `C <host>-<pid>-<n>/<i>`, `…/<i>#<k>` on the client's
 * k-th new connection (a retry, to the next broker): no routing id is seen by two brokers. The
 * stack's one-shot `cli` job (no `/<i>`) checks its own answer.
 */
export function answersCheck(brokerLogs: readonly (readonly Stamped[])[]): ExactlyOnceReport {
  const LOAD_CLIENT = /client="C ([^-\s"]+)-[^"/]*\/\d+/;
  const fromLoads = (line: string) => !/client="/.test(line) || LOAD_CLIENT.test(line);
  return checkExactlyOnce(
    brokerLogs.map((log) =>
      log
        .map((l) => l.line)
        .filter(fromLoads)
        .join('\n'),
    ),
    (rid) => {
      const host = /^C ([^-\s]+)-/.exec(rid)?.[1];
      return host === undefined ? undefined : `C ${host}`;
    },
  );
}

/**
 * Ends a load once every node given has finished one more run, then checks it: every run answered
 * every request rightly, and some ran while the fault did (`from`..`to`).
 */
export async function finishLoad(load: ContinuousLoad, nodes: readonly ClusterNode[], from: number, to: number): Promise<void> {
  await load.waitForRunsAfter(Date.now(), nodes);
  await load.stop();
  expect(load.failures()).toEqual([]);
  expect(load.overlapping(from, to).length).toBeGreaterThan(0);
}
