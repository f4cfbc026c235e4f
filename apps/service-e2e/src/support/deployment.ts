import { type AppProcess, freePort, spawnApp, stopApp, waitForOutput } from '@tsr/testing';

/** A broker and its workers as real processes on loopback, stopped by `stop()`. */
export class LocalDeployment {
  readonly processes: AppProcess[] = [];
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

  track(proc: AppProcess): AppProcess {
    this.processes.push(proc);
    return proc;
  }

  /** Ends every process this deployment started (SIGKILL: a test that failed may have left them hanging). */
  async stop(): Promise<void> {
    await Promise.all(this.processes.map((p) => stopApp(p, 'SIGKILL')));
  }
}
