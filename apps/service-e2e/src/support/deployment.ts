import { type App, type AppProcess, appMain, freePort, spawnScript, stopApp, waitForOutput } from '@tsr/testing';
import { RawEnvelopeClient, RawWorker } from './plain-peers';
import { spawnSeed } from './seed';

export interface DeploymentOptions {
  /** Where each program is (default: the built app, `dist/apps/<app>/main.js`). */
  main?: (app: App) => string;
  /** Added to the environment of every program the deployment starts. */
  env?: NodeJS.ProcessEnv;
}

/**
 * A broker, its workers and clients as real processes on loopback, with the peers a test writes by
 * hand (ours, or written like the seed's), everything ended by `stop()`. The ports are chosen when
 * the first broker starts and kept until `stop()`, so a broker started again (after a kill, say)
 * comes back where its workers and clients look for it; `stop()` forgets them, and the deployment
 * serves the next test afresh.
 */
export class LocalDeployment {
  readonly processes: AppProcess[] = [];
  private readonly peers: (() => unknown)[] = [];
  frontendPort = 0;
  backendPort = 0;
  /** The broker's HTTP endpoint (/metrics, /status, ...): given to the brokers started with `{ http: true }`. */
  httpPort = 0;

  constructor(private readonly options: DeploymentOptions = {}) {}

  /** Starts one of the programs as it is given (logging at info level unless `env` says otherwise). */
  spawn(app: App, args: readonly string[], env: NodeJS.ProcessEnv = {}): AppProcess {
    return this.track(spawnScript(app, this.options.main?.(app) ?? appMain(app), args, { TSR_LOG: 'info', ...this.options.env, ...env }));
  }

  /** Starts a broker on the deployment's ports; resolves once both are bound. */
  async startBroker(
    args: string[] = [],
    { http = false, env = {} }: { http?: boolean; env?: NodeJS.ProcessEnv } = {},
  ): Promise<AppProcess> {
    await this.choosePorts();
    if (http && !this.httpPort) this.httpPort = await freePort();
    const broker = this.spawn(
      'broker',
      [String(this.frontendPort), String(this.backendPort), ...(http ? ['--http-port', String(this.httpPort)] : []), ...args],
      env,
    );
    await waitForOutput(broker, /frontend tcp:\/\/\S+, backend/);
    return broker;
  }

  /** Starts a worker and returns it with the identity it computed for itself. */
  async startWorker(delayMs: number, env: NodeJS.ProcessEnv = {}, args: string[] = []): Promise<{ worker: AppProcess; id: string }> {
    const worker = this.spawn('worker', ['127.0.0.1', String(this.backendPort), '--delay', String(delayMs), ...args], env);
    const line = await waitForOutput(worker, /W \S+ connecting/);
    return { worker, id: line.replace(/ connecting$/, '') };
  }

  /** Starts our client on the frontend (a request, a load, a discovery: `args` say), logging only errors: what it prints is its answer. */
  client(args: string[] = [], env: NodeJS.ProcessEnv = {}): AppProcess {
    return this.spawn('client', ['127.0.0.1', String(this.frontendPort), ...args], { TSR_LOG: 'error', ...env });
  }

  /** One-shot client: resolves with its exit code and what it printed. */
  async request(text: string, extraArgs: string[] = []): Promise<{ code: number | string; stdout: string; stderr: string }> {
    const client = this.client(['--request', text, ...extraArgs]);
    const code = await client.exited;
    return { code, stdout: client.stdout, stderr: client.stderr };
  }

  /** A broker written like the seed's (process/seed/broker.js) on the deployment's ports, ready. */
  async startSeedBroker(): Promise<AppProcess> {
    await this.choosePorts();
    const broker = this.track(spawnSeed('broker', [String(this.frontendPort), String(this.backendPort)]));
    await waitForOutput(broker, /broker listo/);
    return broker;
  }

  /** A worker written like the seed's (a REQ socket, no heartbeats), ready: it answers `<request> W <host><suffix>` after `delayMs`. */
  async startSeedWorker(suffix: string, delayMs: number): Promise<AppProcess> {
    const worker = this.track(
      spawnSeed('workerReq', ['127.0.0.1', String(this.backendPort)], { SUFIJO: suffix, RETARDO: String(delayMs) }),
    );
    await waitForOutput(worker, /worker listo/);
    return worker;
  }

  /** A client written like the seed's: one request (`C <host><suffix>`), prints `Recibido: <reply>. Adios` and exits. */
  seedClient(suffix?: string): AppProcess {
    return this.track(spawnSeed('cliente', ['127.0.0.1', String(this.frontendPort)], suffix === undefined ? {} : { SUFIJO: suffix }));
  }

  /** A hand-written worker on the backend (see RawWorker), closed by `stop()`. */
  rawWorker(identity: string | undefined, answerHeartbeats = false): RawWorker {
    return this.own(new RawWorker(this.backendPort, identity, answerHeartbeats));
  }

  /** A hand-written envelope client on the frontend (see RawEnvelopeClient), closed by `stop()`. */
  envelopeClient(timeoutMs = 3000): RawEnvelopeClient {
    return this.own(new RawEnvelopeClient(this.frontendPort, timeoutMs));
  }

  /** Anything with a `close()` the test opens (a socket, a server): closed by `stop()`, before the processes end. */
  own<T extends { close(): unknown }>(peer: T): T {
    this.peers.push(() => peer.close());
    return peer;
  }

  /** A process the test started itself: ended by `stop()`. */
  track(proc: AppProcess): AppProcess {
    this.processes.push(proc);
    return proc;
  }

  /**
   * Closes the peers, ends every process (SIGKILL: a test that failed may have left them hanging)
   * and forgets the ports.
   */
  async stop(): Promise<void> {
    await Promise.all(this.peers.splice(0).map((close) => close()));
    await Promise.all(this.processes.splice(0).map((p) => stopApp(p, 'SIGKILL')));
    this.frontendPort = this.backendPort = this.httpPort = 0;
  }

  private async choosePorts(): Promise<void> {
    if (!this.frontendPort) [this.frontendPort, this.backendPort] = [await freePort(), await freePort()];
  }
}

/** The environment that makes a program `--require` a script before its own code (a test-only hook). */
export const preload = (script: string): NodeJS.ProcessEnv => ({ NODE_OPTIONS: `--require "${script}"` });

/**
 * The deployment of the tests of a file or a `describe` block: stopped after each test (with
 * `'all'`: after the last one, for tests that build on each other).
 */
export function localDeployment(stopAfter: 'each' | 'all' = 'each', options: DeploymentOptions = {}): LocalDeployment {
  const deployment = new LocalDeployment(options);
  (stopAfter === 'each' ? afterEach : afterAll)(() => deployment.stop());
  return deployment;
}
