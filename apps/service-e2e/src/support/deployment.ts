import { type AppProcess, freePort, spawnApp, stopApp, waitForOutput } from '@tsr/testing';
import { RawEnvelopeClient, RawWorker } from './plain-peers';

/** A broker and its workers as real processes on loopback, stopped by `stop()`. */
export class LocalDeployment {
  readonly processes: AppProcess[] = [];
  private readonly peers: (() => unknown)[] = [];
  frontendPort = 0;
  backendPort = 0;

  async startBroker(args: string[] = []): Promise<AppProcess> {
    if (!this.frontendPort) {
      this.frontendPort = await freePort();
      this.backendPort = await freePort();
    }
    const broker = this.track(spawnApp('broker', [String(this.frontendPort), String(this.backendPort), ...args]));
    await waitForOutput(broker, /frontend tcp:\/\/\S+, backend/);
    return broker;
  }

  /** Starts a worker and returns it with the identity it computed for itself. */
  async startWorker(delayMs: number, env: NodeJS.ProcessEnv = {}, args: string[] = []): Promise<{ worker: AppProcess; id: string }> {
    const worker = this.track(spawnApp('worker', ['127.0.0.1', String(this.backendPort), '--delay', String(delayMs), ...args], env));
    const line = await waitForOutput(worker, /W \S+ connecting/);
    return { worker, id: line.replace(/ connecting$/, '') };
  }

  /** One-shot client: resolves with its exit code and what it printed. */
  async request(text: string, extraArgs: string[] = []): Promise<{ code: number | string; stdout: string; stderr: string }> {
    const client = this.track(spawnApp('client', ['127.0.0.1', String(this.frontendPort), '--request', text, ...extraArgs], { TSR_LOG: 'error' }));
    const code = await client.exited;
    return { code, stdout: client.stdout, stderr: client.stderr };
  }

  /** A hand-written worker on the backend (see RawWorker), closed by `stop()`. */
  rawWorker(identity: string | undefined, answerHeartbeats = false): RawWorker {
    return this.own(new RawWorker(this.backendPort, identity, answerHeartbeats));
  }

  /** A hand-written envelope client on the frontend (see RawEnvelopeClient), closed by `stop()`. */
  envelopeClient(timeoutMs = 3000): RawEnvelopeClient {
    return this.own(new RawEnvelopeClient(this.frontendPort, timeoutMs));
  }

  /** Anything with a `close()` the test opens: closed by `stop()`, before the processes end. */
  own<T extends { close(): unknown }>(peer: T): T {
    this.peers.push(() => peer.close());
    return peer;
  }

  track(proc: AppProcess): AppProcess {
    this.processes.push(proc);
    return proc;
  }

  /** Ends every process this deployment started (SIGKILL: a test that failed may have left them hanging). */
  async stop(): Promise<void> {
    await Promise.all(this.peers.splice(0).map((close) => close()));
    await Promise.all(this.processes.map((p) => stopApp(p, 'SIGKILL')));
  }
}
