import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deploymentBrokerKey, ensureDeploymentKeys } from '@tsr/runtime';
import type { Cluster } from './cluster';
import type { ClusterNode } from './node';
import { eventually, lines, must, run } from './shell';

export type Service = 'bro' | 'wor' | 'cli';

/** A running container of a service, and the node it runs on. */
export interface Task {
  node: string;
  container: string;
}

/** The containers of some tasks, sorted: to compare two lists of tasks. */
export const containers = (tasks: readonly Task[]) => tasks.map((t) => t.container).sort();

/**
 * A stack (by default docker/deploy/swarm/stack.yml) deployed on a cluster from its manager,
 * with the images given by ID: a swarm node pulls a tag from a registry at every task start,
 * never an ID, and there is no registry here.
 */
export class ClusterStack {
  readonly images = { broker: '', worker: '', client: '' };
  /** The broker's CURVE public key: clients started by the tests connect with it (`CURVE_SERVER_KEY`). */
  brokerPublicKey = '';

  constructor(
    readonly cluster: Cluster,
    readonly file: string,
    readonly name = 'tsr',
  ) {}

  service(s: Service): string {
    return `${this.name}_${s}`;
  }

  /** The stack's attachable overlay network: containers on any node reach `bro` by name on it. */
  get network(): string {
    return `${this.name}_tsr`;
  }

  /**
   * `docker stack deploy` with `env` (the stack file's variables), the loaded images' IDs and fresh
   * CURVE keys (as keygen makes them): the swarm keeps them as secrets, so their folder goes at once.
   */
  async deploy(imageTags: { broker: string; worker: string; client: string }, env: Record<string, string>): Promise<void> {
    const m = this.cluster.manager;
    for (const app of ['broker', 'worker', 'client'] as const)
      this.images[app] = await m.docker('image', 'inspect', '-f', '{{.Id}}', imageTags[app]);
    const secrets = mkdtempSync(join(tmpdir(), 'tsr-cluster-keys-'));
    try {
      ensureDeploymentKeys(secrets);
      this.brokerPublicKey = deploymentBrokerKey(secrets);
      const vars = {
        BROKER_IMAGE: this.images.broker,
        WORKER_IMAGE: this.images.worker,
        CLIENT_IMAGE: this.images.client,
        TSR_SECRETS: secrets,
        ...env,
      };
      // `env` runs the CLI with the variables set, for it to substitute in the file.
      await must('env', [
        ...Object.entries(vars).map(([k, v]) => `${k}=${v}`),
        'docker',
        '-H',
        m.socket,
        'stack',
        'deploy',
        '--resolve-image',
        'never',
        '-c',
        this.file,
        this.name,
      ]);
    } finally {
      rmSync(secrets, { recursive: true, force: true });
    }
  }

  /** Running containers of the service on the nodes still alive (`healthy`: only those Docker reports healthy). */
  async tasks(s: Service, healthy = false): Promise<Task[]> {
    const perNode = await Promise.all(
      this.cluster.nodes
        .filter((n) => n.running)
        .map(async (n) => {
          const ids = lines(
            await n.docker(
              'ps',
              '-q',
              '--filter',
              `label=com.docker.swarm.service.name=${this.service(s)}`,
              ...(healthy ? ['--filter', 'health=healthy'] : []),
            ),
          );
          return ids.map((container) => ({ node: n.name, container }));
        }),
    );
    return perNode.flat();
  }

  /** Waits until exactly `n` containers of the service run, all healthy, and `where` holds for them. */
  async converged(s: Service, n: number, where: (tasks: Task[]) => boolean = () => true, timeoutMs = 90_000): Promise<Task[]> {
    return eventually(
      `${n} healthy running tasks of ${this.service(s)}`,
      async () => {
        const [all, healthy] = await Promise.all([this.tasks(s), this.tasks(s, true)]);
        return all.length === n && healthy.length === n && where(healthy) ? healthy : undefined;
      },
      timeoutMs,
      300,
    );
  }

  nodeOf(task: Task): ClusterNode {
    return this.cluster.node(task.node);
  }

  /**
   * Why tasks are no longer running, for a failed assertion to say: the swarm's word on each (its
   * state and error, e.g. "unhealthy container" or "non-zero exit (137)") and the container's own
   * (exit code, OOM kill, the last health checks' output).
   */
  async whyGone(s: Service, tasks: readonly Task[]): Promise<string[]> {
    const history = lines(
      await this.cluster.manager.docker(
        'service',
        'ps',
        '--no-trunc',
        '--filter',
        'desired-state=shutdown',
        '--format',
        '{{.Name}} on {{.Node}}: {{.CurrentState}} {{.Error}}',
        this.service(s),
      ),
    );
    const containers = await Promise.all(
      tasks.map((t) =>
        this.nodeOf(t)
          .docker(
            'inspect',
            '-f',
            '{{.State.Status}} exit {{.State.ExitCode}} oom {{.State.OOMKilled}} ' +
              '{{if .State.Health}}{{range .State.Health.Log}}[{{.ExitCode}} {{printf "%.80s" .Output}}] {{end}}{{end}}',
            t.container,
          )
          .then(
            (state) => `${t.container} on ${t.node}: ${state}`,
            (e: Error) => `${t.container} on ${t.node}: ${e.message}`,
          ),
      ),
    );
    return [...history, ...containers];
  }

  /** A task's log with Docker's timestamps (ms since the epoch per line). */
  async log(task: Task): Promise<{ at: number; line: string }[]> {
    // `docker logs` writes the container's stderr (errors and warnings) on its own stderr: both, in time order.
    const args = ['-H', this.nodeOf(task).socket, 'logs', '-t', task.container];
    const r = await run('docker', args, { timeoutMs: 120_000 });
    if (r.code !== 0) throw new Error(`docker ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
    const stamped = [...lines(r.stdout), ...lines(r.stderr)].map((l) => {
      const [stamp, ...rest] = l.split(' ');
      return { at: Date.parse(stamp.replace(/(\.\d{3})\d*Z$/, '$1Z')), line: rest.join(' ') };
    });
    return stamped.sort((a, b) => a.at - b.at);
  }

  /** The logs of several tasks, in the order given. */
  logs(tasks: readonly Task[]): Promise<{ at: number; line: string }[][]> {
    return Promise.all(tasks.map((t) => this.log(t)));
  }

  /** What the manager says of a node: Ready or Down. */
  async nodeStatus(name: string): Promise<string> {
    return this.cluster.manager.docker('node', 'inspect', '-f', '{{.Status.State}}', name);
  }
}
