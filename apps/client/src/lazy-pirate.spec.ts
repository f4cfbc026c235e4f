import { Router } from 'zeromq';
import { bindAnyLoopbackPort, errorBody } from '@tsr/tsr';
import { LazyPirateClient, NoAnswerError, RefusedError } from './lazy-pirate';

/** A real ROUTER playing the broker: it records every request and answers as `answer` says. */
async function fakeBroker(answer: (attempt: number, body: string) => Buffer | string | undefined) {
  const router = new Router({ linger: 0 });
  const port = await bindAnyLoopbackPort(router);
  const seen: { id: string; body: string }[] = [];
  void (async () => {
    for await (const [id, , body] of router) {
      seen.push({ id: id.toString(), body: body.toString() });
      const reply = answer(seen.length, body.toString());
      if (reply !== undefined) await router.send([id, '', reply]);
    }
  })().catch(() => undefined);
  return { port, router, seen };
}

describe('LazyPirateClient', () => {
  it('sends again on a fresh socket with a fresh routing id after a timeout', async () => {
    const broker = await fakeBroker((attempt, body) => (attempt < 3 ? undefined : `${body} ok`));
    const client = new LazyPirateClient('127.0.0.1', broker.port, 'C me', { timeoutMs: 150, retries: 5 });
    try {
      expect((await client.request('job')).toString()).toBe('job ok');
      expect(client.retried).toBe(2);
      expect(broker.seen).toEqual([
        { id: 'C me', body: 'job' },
        { id: 'C me#1', body: 'job' },
        { id: 'C me#2', body: 'job' },
      ]);
    } finally {
      client.close();
      broker.router.close();
    }
  });

  it('gives up after its retries with a clear error', async () => {
    const broker = await fakeBroker(() => undefined);
    const client = new LazyPirateClient('127.0.0.1', broker.port, 'C me', { timeoutMs: 50, retries: 2 });
    try {
      await expect(client.request('lost')).rejects.toThrow(new NoAnswerError(`no answer from tcp://127.0.0.1:${broker.port} after 3 attempt(s) of 50 ms`));
      expect(broker.seen).toHaveLength(3);
    } finally {
      client.close();
      broker.router.close();
    }
  });

  it('refuses a stray answer to an earlier request and asks again on a fresh socket', async () => {
    // The first request is answered twice (as a worker might across a failure); the duplicate
    // reaches the connection after the second request was sent.
    const broker = await fakeBroker((attempt, body) => {
      if (attempt === 1) return `${body} W a`;
      if (attempt === 2) return 'first W dup';
      return `${body} W b`;
    });
    const client = new LazyPirateClient('127.0.0.1', broker.port, 'C me', { timeoutMs: 2000, retries: 2 });
    try {
      expect((await client.request('first')).toString()).toBe('first W a');
      expect((await client.request('second')).toString()).toBe('second W b');
      expect(client.stray).toBe(1);
      expect(broker.seen.map((s) => s.id)).toEqual(['C me', 'C me', 'C me#1']);
    } finally {
      client.close();
      broker.router.close();
    }
  });

  it.each([
    [errorBody('overloaded'), 'broker overloaded: its queue of pending requests is full'],
    [errorBody('client-share'), "broker overloaded: this client's share of its queue is full"],
    [errorBody('too-large', 1024), 'request too large: the broker accepts at most 1024 bytes'],
    [errorBody('expired', 30000), 'request expired: no worker served it within 30000 ms'],
    [errorBody('poison', 3), 'request refused: 3 workers failed while serving it'],
    [Buffer.from('TSR/1 ERR something-new 7'), 'broker error: something-new 7'],
  ])('reports the broker\'s refusal %s at once, without retrying', async (body, message) => {
    const broker = await fakeBroker(() => body);
    const client = new LazyPirateClient('127.0.0.1', broker.port, 'C me', { timeoutMs: 5000, retries: 3 });
    try {
      const failure = client.request('x');
      await expect(failure).rejects.toBeInstanceOf(RefusedError);
      await expect(failure).rejects.toThrow(message);
      expect(broker.seen).toHaveLength(1);
    } finally {
      client.close();
      broker.router.close();
    }
  });

  it('a late answer to an abandoned attempt never reaches the caller', async () => {
    // Answers the first attempt too late (after the retry went out), then the second at once.
    const router = new Router({ linger: 0 });
    const port = await bindAnyLoopbackPort(router);
    const client = new LazyPirateClient('127.0.0.1', port, 'C me', { timeoutMs: 100, retries: 1 });
    try {
      const reply = client.request('job');
      const [first] = await router.receive();
      const [second] = await router.receive();
      await router.send([first, '', 'job W stale']);
      await router.send([second, '', 'job W fresh']);
      expect((await reply).toString()).toBe('job W fresh');
    } finally {
      client.close();
      router.close();
    }
  });
});
