import { Dealer, Router } from 'zeromq';
import { bindAnyLoopbackPort } from './endpoint';
import { guardedHandler, receiveLoop } from './receive-loop';

/** A ROUTER on loopback and a DEALER talking to it: real sockets for the loop to read. */
async function pair() {
  const router = new Router({ linger: 0 });
  const port = await bindAnyLoopbackPort(router);
  const dealer = new Dealer({ linger: 0 });
  dealer.connect(`tcp://127.0.0.1:${port}`);
  return { router, dealer, close: () => (router.close(), dealer.close()) };
}

describe('receiveLoop', () => {
  it('hands every message to the handler, in order', async () => {
    const { router, dealer, close } = await pair();
    const seen: string[] = [];
    const fatal = jest.fn();
    const loop = receiveLoop('test', router, ([, body]) => seen.push(body.toString()), fatal);
    for (const m of ['a', 'b', 'c']) await dealer.send(m);
    for (const deadline = Date.now() + 5000; seen.length < 3 && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 10));
    close();
    await loop;
    expect(seen).toEqual(['a', 'b', 'c']);
    expect(fatal).not.toHaveBeenCalled(); // closing the socket ends the loop quietly
  });

  it('reports a throwing handler once, as fatal, naming the loop', async () => {
    const { router, dealer, close } = await pair();
    const fatal = jest.fn();
    const loop = receiveLoop(
      'frontend',
      router,
      () => {
        throw new Error('bug');
      },
      fatal,
    );
    await dealer.send('x');
    await loop;
    close();
    expect(fatal.mock.calls.map(([e]) => (e as Error).message)).toEqual(['frontend receive loop failed: bug']);
  });
});

describe('guardedHandler', () => {
  it('reports the first failure of a handler as its loop failing, and handles nothing after it', () => {
    const handled: number[] = [];
    const fatal: string[] = [];
    const handle = guardedHandler<number>(
      'backend',
      (n) => {
        if (n === 2) throw new Error('bug');
        handled.push(n);
      },
      (e) => fatal.push(e.message),
    );
    for (const n of [1, 2, 3]) handle(n);
    expect(handled).toEqual([1]);
    expect(fatal).toEqual(['backend receive loop failed: bug']);
  });
});
