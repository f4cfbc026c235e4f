import { randomBytes } from 'node:crypto';
import { escapeRegExp as escape } from '@tsr/testing';
import { GenericContainer, type StartedTestContainer, StartedNetwork, Wait, getContainerRuntimeClient } from 'testcontainers';
import { LABEL, image, labelsFor, logsOf, owner, removeLabelled, waitForExit, waitForLog } from './docker';

type App = 'broker' | 'worker' | 'client';

/**
 * One of our images, labelled for cleanup. The images have no shell, so every container gets an
 * explicit wait strategy (testcontainers' default port check execs a shell inside the container).
 */
export class TsrContainer extends GenericContainer {
  constructor(app: App, suite: string) {
    super(image(app));
    this.withLabels(labelsFor(suite));
  }
}

export interface Worker {
  container: StartedTestContainer;
  /** The worker's routing id as it prints it, e.g. `W 0123456789ab-1-a1b2c3`. */
  id: string;
}

export interface ClientResult {
  code: number;
  /** What the client printed (the reply, or the load summary), trimmed. */
  output: string;
}

/**
 * A broker, its workers and clients as containers on one private network where the broker has
 * the seed's alias `bro`. Everything it starts is labelled with the suite's name, and `cleanup()`
 * removes all of it (also what a failed start left behind), then the network.
 */
export class ContainerDeployment {
  network!: StartedNetwork;
  broker!: StartedTestContainer;
  /** The network has no way out: its containers are on it alone (see `start`). */
  private internal = false;

  constructor(readonly suite: string) {}

  /**
   * The private network (testcontainers' `Network`, plus our cleanup labels). `internal`: no route
   * out of it (no published ports either), and Docker's DNS cannot forward a name it does not know
   * (e.g. `bro` while no broker runs) to the host's resolvers: nothing leaves the network.
   */
  async start(options: { internal?: boolean } = {}): Promise<void> {
    const client = await getContainerRuntimeClient();
    const name = `tsr-e2e-${this.suite}-${owner()}-${randomBytes(3).toString('hex')}`;
    const network = await client.network.create({
      Name: name,
      Driver: 'bridge',
      CheckDuplicate: true,
      Internal: options.internal ?? false,
      Labels: labelsFor(this.suite),
    });
    this.internal = options.internal ?? false;
    this.network = new StartedNetwork(client, name, network);
  }

  /** A worker has started (it prints its id before connecting). */
  get workerStarted() {
    return Wait.forLogMessage(/\[worker\] W \S+ connecting to/);
  }

  container(app: App): TsrContainer {
    return new TsrContainer(app, this.suite).withNetwork(this.network);
  }

  /**
   * The broker at `bro:9998` (frontend) / `bro:9999` (backend), tracing every protocol step;
   * `publishFrontend`: also on a host port Testcontainers picks (`getMappedPort(9998)`).
   */
  async startBroker(env: Record<string, string> = {}, publishFrontend = false): Promise<StartedTestContainer> {
    const c = this.container('broker')
      .withNetworkAliases('bro')
      .withEnvironment({ TSR_LOG: 'trace', ...env })
      .withWaitStrategy(Wait.forLogMessage(/\[broker\] frontend tcp:\/\/\*:9998, backend tcp:\/\/\*:9999/));
    if (publishFrontend) c.withExposedPorts(9998);
    this.broker = await c.start();
    // Testcontainers attaches a container with aliases to Docker's default bridge first, then to
    // the network: on an internal network, take that way out away again.
    if (this.internal) await this.leaveDefaultBridge(this.broker);
    return this.broker;
  }

  private async leaveDefaultBridge(container: StartedTestContainer): Promise<void> {
    const client = await getContainerRuntimeClient();
    await client.network.getById('bridge').disconnect({ Container: container.getId(), Force: true });
  }

  /**
   * A worker (the seed's `worker bro 9999` command line); resolves once the broker has its READY
   * message, so the broker's choice of worker is predictable from then on.
   */
  async startWorker(delayMs: number, env: Record<string, string> = {}): Promise<Worker> {
    const container = await this.container('worker')
      .withCommand(['bro', '9999', '--delay', String(delayMs)])
      .withEnvironment({ TSR_LOG: 'trace', ...env })
      .withWaitStrategy(this.workerStarted)
      .start();
    const [line] = await waitForLog(container.getId(), /\[worker\] W \S+ connecting to/);
    const id = /\[worker\] (W \S+) connecting/.exec(line)?.[1] as string;
    await this.waitForBroker(new RegExp(`backend_message: worker="${escape(id)}" kind="ready"`));
    return { container, id };
  }

  async startWorkers(n: number, delayMs: number): Promise<Worker[]> {
    return Promise.all(Array.from({ length: n }, () => this.startWorker(delayMs)));
  }

  /** Starts a client container with `args` after the seed's `bro 9998`, without waiting for it. */
  async startClient(args: string[], env: Record<string, string> = {}): Promise<StartedTestContainer> {
    return this.container('client')
      .withCommand(['bro', '9998', ...args])
      .withEnvironment({ TSR_LOG: 'error', ...env })
      .withWaitStrategy(Wait.forAll([]))
      .start();
  }

  /** Runs a client container to its end. */
  async runClient(args: string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<ClientResult> {
    const c = await this.startClient(args, env);
    return this.clientResult(c, timeoutMs);
  }

  async clientResult(c: StartedTestContainer, timeoutMs = 60_000): Promise<ClientResult> {
    const code = await waitForExit(c.getId(), timeoutMs);
    return { code, output: (await logsOf(c.getId())).trim() };
  }

  waitForBroker(pattern: RegExp, times = 1, timeoutMs = 30_000): Promise<string[]> {
    return waitForLog(this.broker.getId(), pattern, times, timeoutMs);
  }

  /** Removes every container of this suite (even those whose start failed), then the network. */
  async cleanup(): Promise<void> {
    await removeLabelled(`${LABEL}.suite=${labelsFor(this.suite)[`${LABEL}.suite`]}`); // the network carries it too
  }
}
