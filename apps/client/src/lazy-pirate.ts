import { Request } from 'zeromq';
import { OVERLOADED, tcpEndpoint } from '@tsr/tsr';

export interface RetryPolicy {
  /** How long to wait for each reply; 0 waits forever as the seed does. */
  timeoutMs: number;
  /** How many times a request is sent again after a timeout. */
  retries: number;
}

export class NoAnswerError extends Error {
  override readonly name = 'NoAnswerError';
}

/** The broker's pending queue is full: it answered at once rather than let the request wait. */
export class OverloadedError extends Error {
  override readonly name = 'OverloadedError';
}

/**
 * The ZeroMQ guide's Lazy Pirate client: a REQ socket that, when no reply comes in time, is
 * closed and reopened (a REQ socket cannot send twice) and the request is sent again. Each
 * attempt uses a fresh routing id, so a late reply to an abandoned attempt can never be taken
 * for the answer to a newer one: each request is answered exactly once as the caller sees it.
 */
export class LazyPirateClient {
  private socket: Request | undefined;
  private attempt = 0;
  retried = 0;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly identity: string,
    private readonly policy: RetryPolicy,
  ) {
    tcpEndpoint(host, port); // validate before the first request
  }

  async request(body: Buffer | string): Promise<Buffer> {
    for (let tries = 0; ; tries++) {
      const socket = this.open();
      await socket.send(body);
      try {
        const [reply] = await socket.receive();
        if (reply.equals(OVERLOADED)) throw new OverloadedError('broker overloaded: its queue of pending requests is full');
        return reply;
      } catch (e) {
        if ((e as { code?: string }).code !== 'EAGAIN') throw e;
        this.reset();
        if (tries >= this.policy.retries) {
          throw new NoAnswerError(`no answer from ${tcpEndpoint(this.host, this.port)} after ${tries + 1} attempt(s) of ${this.policy.timeoutMs} ms`);
        }
        this.retried++;
      }
    }
  }

  close(): void {
    this.reset();
  }

  private open(): Request {
    if (this.socket) return this.socket;
    const routingId = this.attempt === 0 ? this.identity : `${this.identity}#${this.attempt}`;
    this.attempt++;
    this.socket = new Request({
      routingId,
      linger: 0,
      receiveTimeout: this.policy.timeoutMs > 0 ? this.policy.timeoutMs : -1,
    });
    this.socket.connect(tcpEndpoint(this.host, this.port));
    return this.socket;
  }

  private reset(): void {
    this.socket?.close();
    this.socket = undefined;
  }
}
