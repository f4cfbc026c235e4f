import { Request } from 'zeromq';
import { type CurvePeerKeys, curveClientSocketOptions, describeError, isAnswerTo, tcpEndpoint } from '@tsr/tsr';

export interface RetryPolicy {
  /** How long to wait for each reply; 0 waits forever as the seed does. */
  timeoutMs: number;
  /** How many times a request is sent again after a timeout. */
  retries: number;
}

export class NoAnswerError extends Error {
  override readonly name = 'NoAnswerError';
}

/**
 * The broker answered `TSR/1 ERR …` instead of a reply (its queue is full, the request is too
 * large, expired or poison): retrying at once would not help, so the caller is told why.
 */
export class RefusedError extends Error {
  override readonly name = 'RefusedError';
}

/**
 * The ZeroMQ guide's Lazy Pirate client: a REQ socket that, when no reply comes in time, is
 * closed and reopened (a REQ socket cannot send twice) and the request is sent again. Each
 * attempt uses a fresh routing id, so a late reply to an abandoned attempt never reaches the new
 * socket; and an answer is accepted only if it answers this request (`<request> <worker id>`), so
 * a stray duplicate is never taken for the answer to a later one: each request is answered
 * exactly once as the caller sees it.
 */
export class LazyPirateClient {
  private socket: Request | undefined;
  private sockets = 0;
  retried = 0;
  /** Answers refused because they answered another request. */
  stray = 0;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly identity: string,
    private readonly policy: RetryPolicy,
    /** CURVE keys; undefined: plain TCP, as the seed. */
    private readonly curve?: CurvePeerKeys,
  ) {
    tcpEndpoint(host, port); // validate before the first request
  }

  async request(body: Buffer | string): Promise<Buffer> {
    const request = typeof body === 'string' ? Buffer.from(body) : body;
    for (let attempt = 0; ; attempt++) {
      const reply = await this.attempt(request);
      if (reply) return reply;
      this.reset();
      if (attempt >= this.policy.retries) {
        throw new NoAnswerError(`no answer from ${tcpEndpoint(this.host, this.port)} after ${attempt + 1} attempt(s) of ${this.policy.timeoutMs} ms`);
      }
      this.retried++;
    }
  }

  /** One send and one receive: the answer, or undefined on a timeout or a stray answer. */
  private async attempt(request: Buffer): Promise<Buffer | undefined> {
    const socket = this.open();
    await socket.send(request);
    let reply: Buffer;
    try {
      [reply] = await socket.receive();
    } catch (e) {
      if ((e as { code?: string }).code === 'EAGAIN') return undefined;
      throw e;
    }
    const refusal = describeError(reply);
    if (refusal !== undefined) throw new RefusedError(refusal);
    // A duplicate answer to an earlier request (a worker that answered twice across a failure)
    // is taken by REQ as the answer to this one: refuse it and ask again on a fresh socket.
    if (!isAnswerTo(request, reply)) {
      this.stray++;
      return undefined;
    }
    return reply;
  }

  close(): void {
    this.reset();
  }

  private open(): Request {
    if (this.socket) return this.socket;
    const routingId = this.sockets === 0 ? this.identity : `${this.identity}#${this.sockets}`;
    this.sockets++;
    this.socket = new Request({
      routingId,
      linger: 0,
      receiveTimeout: this.policy.timeoutMs > 0 ? this.policy.timeoutMs : -1,
      ...curveClientSocketOptions(this.curve),
    });
    this.socket.connect(tcpEndpoint(this.host, this.port));
    return this.socket;
  }

  private reset(): void {
    this.socket?.close();
    this.socket = undefined;
  }
}
