import { Dealer } from 'zeromq';
import { type Tracer, connectEndpoint, parseWorkerRequest, workerReadyFrames, workerReplyFrames } from '@tsr/tsr';

export interface WorkerOptions {
  brokerHost: string;
  brokerPort: number;
  /** Simulated service time before each reply (seed: 1000 ms). */
  delayMs: number;
  identity: string;
}

/**
 * The seed's `workerReq`: announces itself, then serves one request at a time, replying
 * `<request> <worker id>` after `delayMs`. It uses a DEALER that writes the REQ envelope itself
 * (identical frames on the wire) so that later protocol extensions can send between replies.
 */
export class Worker {
  readonly socket: Dealer;
  served = 0;
  private readonly suffix: Buffer;
  private readonly queue: { client: Buffer; body: Buffer }[] = [];
  private busy = false;

  constructor(
    private readonly options: WorkerOptions,
    private readonly trace: Tracer,
  ) {
    this.socket = new Dealer({ routingId: options.identity, linger: 0 });
    this.suffix = Buffer.from(` ${options.identity}`);
  }

  async start(): Promise<void> {
    const address = connectEndpoint(this.socket, this.options.brokerHost, this.options.brokerPort);
    this.trace.info(`${this.options.identity} connecting to ${address}, delay ${this.options.delayMs} ms`);
    await this.socket.send(workerReadyFrames());
    void this.receive();
  }

  close(): void {
    this.socket.close();
  }

  private async receive(): Promise<void> {
    try {
      for await (const frames of this.socket) {
        const request = parseWorkerRequest(frames);
        if ('kind' in request) {
          this.trace.error(`ignored message from broker: ${request.reason}`);
          continue;
        }
        this.trace.traza('procesaPeticion', 'client request', [request.client, request.body]);
        this.queue.push(request);
        this.serveNext();
      }
    } catch (e) {
      if (!this.socket.closed) this.trace.error(`receive failed: ${(e as Error).message}`);
    }
  }

  /** A seed broker sends one request at a time; anything extra waits its turn here. */
  private serveNext(): void {
    if (this.busy) return;
    const request = this.queue.shift();
    if (!request) return;
    this.busy = true;
    const reply = () => {
      this.busy = false;
      this.served++;
      this.socket
        .send(workerReplyFrames(request.client, Buffer.concat([request.body, this.suffix])))
        .catch((e: Error) => this.trace.error(`reply failed: ${e.message}`))
        .finally(() => this.serveNext());
    };
    if (this.options.delayMs > 0) setTimeout(reply, this.options.delayMs);
    else setImmediate(reply);
  }
}
