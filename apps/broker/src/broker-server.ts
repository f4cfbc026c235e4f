import { Router } from 'zeromq';
import {
  type Frames,
  HEARTBEAT,
  OVERLOADED,
  EMPTY,
  type Tracer,
  bindEndpoint,
  parseClientRequest,
  parseWorkerMessage,
  toClientFrames,
  toWorkerFrames,
} from '@tsr/tsr';
import { BrokerCore, type BrokerCoreOptions } from './broker-core';

export interface BrokerServerOptions extends BrokerCoreOptions {
  frontendPort: number;
  backendPort: number;
  bindHost: string;
  /** Interval of the heartbeats sent to workers that speak them. */
  heartbeatMs: number;
  /** Larger messages make libzmq drop the sender's connection before they reach us. */
  maxMessageBytes: number;
}

/**
 * The socket side of the broker: two ROUTERs and one timer around the pure `BrokerCore`.
 * It parses frames, feeds the core and writes what the core emits; nothing else.
 */
export class BrokerServer {
  // sendTimeout 0: a ROUTER send never blocks, so every send completes synchronously and
  // there is never a second send in flight (zeromq v6 rejects that with EBUSY).
  readonly frontend: Router;
  // handover: a worker that reconnects under its id takes over from its own stale connection.
  readonly backend: Router;
  readonly core: BrokerCore;
  malformed = { frontend: 0, backend: 0 };
  private readonly tracing: boolean;
  private timer: NodeJS.Timeout | undefined;
  private heartbeats: NodeJS.Timeout | undefined;
  private timerAt = Infinity;

  constructor(
    private readonly options: BrokerServerOptions,
    private readonly trace: Tracer,
  ) {
    this.tracing = trace.tracing;
    const common = { sendTimeout: 0, linger: 0, maxMessageSize: options.maxMessageBytes };
    this.frontend = new Router(common);
    this.backend = new Router({ ...common, handover: true });
    this.core = new BrokerCore(
      {
        toWorker: (worker, client, body) => {
          if (this.tracing) this.trace.traza('new_task', 'worker client request', [worker, client, body]);
          this.send(this.backend, toWorkerFrames(Buffer.from(worker, 'latin1'), client, body), 'backend');
        },
        toClient: (client, body) => {
          if (this.tracing) this.trace.traza('reply', 'client reply', [client, body]);
          this.send(this.frontend, toClientFrames(client, body), 'frontend');
        },
        overloaded: (client) => {
          if (this.tracing) this.trace.traza('overloaded', 'client', [client]);
          this.send(this.frontend, toClientFrames(client, OVERLOADED), 'frontend');
        },
      },
      options,
    );
  }

  async start(): Promise<void> {
    const front = await bindEndpoint(this.frontend, this.options.frontendPort, this.options.bindHost);
    const back = await bindEndpoint(this.backend, this.options.backendPort, this.options.bindHost);
    this.trace.info(`frontend ${front}, backend ${back}, answer timeout ${this.options.answerTimeoutMs} ms`);
    void this.receive(this.frontend, (frames) => this.onFrontend(frames));
    void this.receive(this.backend, (frames) => this.onBackend(frames));
    this.heartbeats = setInterval(() => this.sendHeartbeats(), this.options.heartbeatMs);
  }

  /** One line of counters, printed when the broker stops. */
  summary(): string {
    const s = this.core.stats;
    return (
      `requests ${s.requests}, replies ${s.replies}, dispatched ${s.dispatched}, redispatched ${s.redispatched}, ` +
      `worker failures ${s.workerFailures}, late replies ${s.lateReplies}, workers lost ${s.workersLost}, rejected ${s.rejected}, ` +
      `malformed frontend ${this.malformed.frontend} backend ${this.malformed.backend}`
    );
  }

  close(): void {
    clearTimeout(this.timer);
    clearInterval(this.heartbeats);
    this.frontend.close();
    this.backend.close();
  }

  private onFrontend(frames: Frames): void {
    const msg = parseClientRequest(frames);
    if ('kind' in msg) return this.reject('frontend', msg.reason);
    if (this.tracing) this.trace.traza('frontend_message', 'client request', [msg.client, msg.body]);
    this.core.clientRequest(msg.client, msg.body, performance.now());
  }

  private onBackend(frames: Frames): void {
    const msg = parseWorkerMessage(frames);
    if (msg.kind === 'malformed') return this.reject('backend', msg.reason);
    const worker = msg.worker.toString('latin1');
    if (this.tracing) this.trace.traza('backend_message', 'worker kind', [worker, msg.kind]);
    if (msg.kind === 'ready') {
      this.core.workerReady(worker, performance.now(), msg);
      if (msg.heartbeats) this.sendHeartbeat(worker); // tells the worker at once that we speak TSR/1
    }
    else if (msg.kind === 'heartbeat') this.core.workerHeartbeat(worker, performance.now());
    else if (msg.kind === 'goodbye') this.core.workerGone(worker, performance.now());
    else this.core.workerReply(worker, msg.client, msg.body, performance.now());
  }

  private sendHeartbeats(): void {
    for (const worker of this.core.heartbeatingWorkers()) this.sendHeartbeat(worker);
  }

  private sendHeartbeat(worker: string): void {
    this.send(this.backend, toWorkerFrames(Buffer.from(worker, 'latin1'), EMPTY, HEARTBEAT), 'backend');
  }

  /** Runs after every batch of messages: arms the one timer for the earliest deadline. */
  private armTimer(): void {
    const next = this.core.nextDeadline();
    if (next === undefined || next >= this.timerAt) return;
    clearTimeout(this.timer);
    this.timerAt = next;
    this.timer = setTimeout(() => {
      this.timerAt = Infinity;
      this.core.expire(performance.now());
      this.armTimer();
    }, Math.max(0, next - performance.now()) + 1);
  }

  private async receive(socket: Router, handle: (frames: Frames) => void): Promise<void> {
    try {
      for await (const frames of socket) {
        handle(frames);
        this.armTimer();
      }
    } catch (e) {
      if (!socket.closed) this.trace.error(`receive failed: ${(e as Error).message}`);
    }
  }

  private send(socket: Router, frames: Buffer[], side: string): void {
    socket.send(frames).catch((e: Error) => this.trace.error(`${side} send failed: ${e.message}`));
  }

  private reject(side: 'frontend' | 'backend', reason: string): void {
    this.malformed[side]++;
    if (this.tracing) this.trace.traza('malformed', 'side reason', [side, reason]);
  }
}
