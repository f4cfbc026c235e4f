import { Dealer, Pair, Publisher, Push, Request, Router, Subscriber } from 'zeromq';
import {
  MECHANISMS,
  closeAll,
  count,
  eventCounter,
  freePort,
  mechanism,
  ourDealer,
  ourRouter,
  relay,
  sleep,
  text,
  trackZmq,
  until,
  within,
} from './__fixtures__/harness';

/**
 * Our ROUTER and DEALER against libzmq (the `zeromq` binding) as the reference peer, both
 * directions, NULL and CURVE: round trips, heartbeats (RFC 37 PING/PONG), silent peers, large and
 * many-framed messages, routing ids, reconnects, handover, and socket types a ROUTER refuses.
 */

jest.setTimeout(15_000);
afterEach(closeAll);

const HEARTBEATS = { heartbeatInterval: 100, heartbeatTimeout: 300 };
const MiB = 1024 * 1024;

describe.each(MECHANISMS)('with %s', (name) => {
  const m = mechanism(name);
  const zmqDealer = (endpoint: string, options: Record<string, unknown> = {}) => {
    const d = trackZmq(new Dealer({ linger: 0, ...m.zmqClient, ...options }));
    d.connect(endpoint);
    return d;
  };
  const zmqRequest = (endpoint: string, options: Record<string, unknown> = {}) => {
    const r = trackZmq(new Request({ linger: 0, ...m.zmqClient, ...options }));
    r.connect(endpoint);
    return r;
  };
  const zmqRouter = async (port: number | '*' = '*', options: Record<string, unknown> = {}) => {
    const r = trackZmq(new Router({ linger: 0, ...m.zmqServer, ...options }));
    await r.bind(`tcp://127.0.0.1:${port}`);
    const endpoint = r.lastEndpoint as string;
    return { router: r, endpoint };
  };
  /** Echoes each message (after `delayMs`) with `reply` appended to its frames. */
  const echo =
    (delayMs = 0) =>
    (frames: Buffer[], router: { send(f: Buffer[]): void }) => {
      const reply = [...frames, Buffer.from('reply')];
      if (delayMs) setTimeout(() => router.send(reply), delayMs);
      else router.send(reply);
    };

  describe('our ROUTER, libzmq peers', () => {
    it('REQ: request-reply round trips under a generated routing id', async () => {
      const h = await ourRouter(m, {}, '*', echo());
      const req = zmqRequest(h.endpoint);
      for (let i = 0; i < 5; i++) {
        await req.send(`q${i}`);
        expect(text(await within(req.receive(), 3000, 'reply'))).toEqual([`q${i}`, 'reply']);
      }
      expect(h.messages).toHaveLength(5);
      expect(h.messages[0][0]).toHaveLength(5);
      expect(h.messages[0][0][0]).toBe(0);
      expect(h.problems).toEqual([]);
    });

    it('DEALER with a routingId: reaches us under that id, and replies routed by it come back', async () => {
      const h = await ourRouter(m, {}, '*', echo());
      const d = zmqDealer(h.endpoint, { routingId: 'W-1' });
      await d.send(['', 'hello']);
      expect(text(await within(d.receive(), 3000, 'reply'))).toEqual(['', 'hello', 'reply']);
      expect(text(h.messages[0])).toEqual(['W-1', '', 'hello']);
    });

    it("ROUTER that connects: both sides route by each other's ids", async () => {
      const h = await ourRouter(m);
      const r = trackZmq(new Router({ linger: 0, routingId: 'zmq-router', mandatory: true, ...m.zmqClient }));
      const events = eventCounter(r);
      r.connect(h.endpoint, { routingId: 'ours' });
      await until(() => count(events, 'handshake') > 0, 3000, 'handshake');
      await r.send(['ours', 'hello']);
      await until(() => h.messages.length === 1);
      expect(text(h.messages[0])).toEqual(['zmq-router', 'hello']);
      h.router.send([Buffer.from('zmq-router'), Buffer.from('back')]);
      expect(text(await within(r.receive(), 3000, 'reply'))).toEqual(['ours', 'back']);
    });

    describe.each([
      ['on', HEARTBEATS, { heartbeatIntervalMs: 100, heartbeatTimeoutMs: 300 }],
      ['off', {}, {}],
    ])('heartbeats %s', (_, theirs, ours) => {
      it.each([['REQ'], ['DEALER']])(
        "%s: a reply delayed 1 s (past the peer's heartbeat timeout) arrives, on the same connection",
        async (type) => {
          const h = await ourRouter(m, ours, '*', echo(1000));
          const peer = type === 'REQ' ? zmqRequest(h.endpoint, theirs) : zmqDealer(h.endpoint, theirs);
          const events = eventCounter(peer);
          await peer.send(type === 'REQ' ? 'slow' : ['', 'slow']);
          const reply = text(await within(peer.receive(), 4000, 'the delayed reply'));
          expect(reply).toEqual(type === 'REQ' ? ['slow', 'reply'] : ['', 'slow', 'reply']);
          expect(count(events, 'disconnect')).toBe(0);
          expect(h.problems).toEqual([]);
        },
      );
    });

    it('with heartbeats on, closes a peer that falls silent within interval + timeout', async () => {
      const h = await ourRouter(m, { heartbeatIntervalMs: 100, heartbeatTimeoutMs: 300 }, '*', echo());
      const r = await relay(h.port);
      const d = zmqDealer(r.endpoint);
      await d.send(['', 'hi']);
      await within(d.receive(), 3000, 'reply');
      r.silence('up'); // the router hears nothing more from it, PONGs included
      const silentAt = Date.now();
      await until(() => r.targetClosed.length > 0, 3000, 'the router to close the silent peer');
      const ms = r.targetClosed[0] - silentAt;
      expect(ms).toBeLessThan(100 + 300 + 300);
    });

    it("honours the peer's PING TTL: a peer that sends PINGs with TTL 300 ms and then falls silent is closed within about that", async () => {
      const h = await ourRouter(m, {}, '*', echo());
      const r = await relay(h.port);
      const d = zmqDealer(r.endpoint, { heartbeatInterval: 100, heartbeatTimeToLive: 300, heartbeatTimeout: 10_000 });
      await d.send(['', 'hi']);
      await within(d.receive(), 3000, 'reply');
      await sleep(250); // a few PINGs, TTL included
      r.silence('up');
      const silentAt = Date.now();
      await until(() => r.targetClosed.length > 0, 3000, 'the router to close the peer after its TTL');
      expect(r.targetClosed[0] - silentAt).toBeLessThan(300 + 300);
    });

    it('1 MiB messages both ways', async () => {
      const h = await ourRouter(m, {}, '*', echo());
      const d = zmqDealer(h.endpoint);
      const big = Buffer.alloc(MiB, 0x5a);
      for (let i = 0; i < 3; i++) {
        await d.send([big, big.subarray(0, 10)]);
        const reply = await within(d.receive(), 5000, 'the 1 MiB reply');
        expect(reply.map((f) => f.length)).toEqual([MiB, 10, 5]);
        expect(reply[0].equals(big)).toBe(true);
      }
    });

    it('64-frame messages are accepted; a 65-frame message disconnects the peer', async () => {
      const h = await ourRouter(m, {}, '*', echo());
      const d = zmqDealer(h.endpoint);
      const events = eventCounter(d);
      const frames = Array.from({ length: 64 }, (_, i) => `f${i}`);
      await d.send(frames);
      await until(() => h.messages.length === 1);
      expect(text(h.messages[0]).slice(1)).toEqual(frames);
      await d.send([...frames, 'f64']);
      await until(() => count(events, 'disconnect') > 0, 3000, 'the disconnect');
      expect(h.messages).toHaveLength(1);
      expect(h.problems.length).toBeGreaterThan(0);
    });

    it('a message over maxMessageBytes as a whole (each frame under it) disconnects the peer', async () => {
      const h = await ourRouter(m, { maxMessageBytes: 1000 }, '*', echo());
      const d = zmqDealer(h.endpoint);
      const events = eventCounter(d);
      await d.send([Buffer.alloc(600)]);
      await until(() => h.messages.length === 1);
      await d.send([Buffer.alloc(600), Buffer.alloc(600)]);
      await until(() => count(events, 'disconnect') > 0, 3000, 'the disconnect');
      expect(h.messages).toHaveLength(1);
    });

    it('a libzmq DEALER reconnects to a restarted ROUTER on the same port and is served', async () => {
      const port = await freePort();
      const first = await ourRouter(m, {}, port, echo());
      const d = zmqDealer(first.endpoint, { reconnectInterval: 50 });
      await d.send(['', 'one']);
      expect(text(await within(d.receive(), 3000, 'first reply'))).toEqual(['', 'one', 'reply']);
      first.router.close();
      await sleep(100);
      const second = await ourRouter(m, {}, port, echo());
      await d.send(['', 'two']);
      expect(text(await within(d.receive(), 5000, 'reply from the restarted router'))).toEqual(['', 'two', 'reply']);
      expect(second.messages).toHaveLength(1);
    });

    it('handover: a second peer under the same id takes it over, and the old connection is closed', async () => {
      const h = await ourRouter(m, { handover: true });
      const a = zmqDealer(h.endpoint, { routingId: 'H' });
      const aEvents = eventCounter(a);
      await a.send('from a');
      await until(() => h.messages.length === 1);
      const b = zmqDealer(h.endpoint, { routingId: 'H' });
      await b.send('from b');
      await until(() => h.messages.length === 2);
      expect(text(h.messages[1])).toEqual(['H', 'from b']);
      h.router.send([Buffer.from('H'), Buffer.from('to b')]);
      expect(text(await within(b.receive(), 3000, "b's message"))).toEqual(['to b']);
      await until(() => count(aEvents, 'disconnect') > 0, 3000, 'the old connection to be closed');
    });

    it('without handover: a second peer under an id in use is refused, the first keeps it', async () => {
      const h = await ourRouter(m);
      const a = zmqDealer(h.endpoint, { routingId: 'H' });
      await a.send('from a');
      await until(() => h.messages.length === 1);
      const b = zmqDealer(h.endpoint, { routingId: 'H' });
      const bEvents = eventCounter(b);
      void b.send('from b');
      await until(() => count(bEvents, 'disconnect') > 0, 3000, 'the refusal');
      h.router.send([Buffer.from('H'), Buffer.from('to a')]);
      expect(text(await within(a.receive(), 3000, "a's message"))).toEqual(['to a']);
      expect(h.messages.map(text)).toEqual([['H', 'from a']]);
    });

    it('refuses PUB, SUB, PUSH and PAIR peers while it serves a REQ', async () => {
      const h = await ourRouter(m, {}, '*', echo());
      const strays = [
        new Publisher({ linger: 0, ...m.zmqClient }),
        new Subscriber({ linger: 0, ...m.zmqClient }),
        new Push({ linger: 0, ...m.zmqClient }),
        new Pair({ linger: 0, ...m.zmqClient }),
      ].map(trackZmq);
      const counters = strays.map((s) => {
        const c = eventCounter(s);
        s.connect(h.endpoint);
        return c;
      });
      (strays[1] as Subscriber).subscribe();
      void (strays[2] as Push).send('pushed').catch(() => undefined);
      const req = zmqRequest(h.endpoint);
      for (let i = 0; i < 5; i++) {
        await req.send(`q${i}`);
        expect(text(await within(req.receive(), 3000, 'reply'))).toEqual([`q${i}`, 'reply']);
      }
      await until(
        () => counters.every((c) => count(c, 'disconnect') + count(c, 'handshake:error:protocol') > 0),
        3000,
        'every stray peer to be refused',
      );
      expect(counters.map((c) => count(c, 'handshake'))).toEqual([0, 0, 0, 0]);
      expect(h.messages.map((f) => text(f).slice(1))).toEqual([0, 1, 2, 3, 4].map((i) => ['', `q${i}`]));
    });
  });

  describe('our DEALER, libzmq ROUTER', () => {
    it('round trips, under our routingId', async () => {
      const { router, endpoint } = await zmqRouter();
      const d = ourDealer(m, endpoint, { routingId: 'our-dealer' });
      for (let i = 0; i < 5; i++) {
        d.dealer.send([Buffer.from(''), Buffer.from(`q${i}`)]);
        const got = await within(router.receive(), 3000, 'request');
        expect(text(got)).toEqual(['our-dealer', '', `q${i}`]);
        await router.send([...got, 'reply']);
        await until(() => d.messages.length === i + 1);
      }
      expect(d.messages.map(text)).toEqual([0, 1, 2, 3, 4].map((i) => ['', `q${i}`, 'reply']));
    });

    describe.each([
      ['on', HEARTBEATS, { heartbeatIntervalMs: 100, heartbeatTimeoutMs: 300 }],
      ['off', {}, {}],
    ])('heartbeats %s', (_, theirs, ours) => {
      it('a reply delayed 1 s arrives, and the ROUTER saw no disconnect', async () => {
        const { router, endpoint } = await zmqRouter('*', theirs);
        const events = eventCounter(router);
        const d = ourDealer(m, endpoint, ours);
        d.dealer.send([Buffer.from('slow')]);
        const got = await within(router.receive(), 3000, 'request');
        await sleep(1000);
        await router.send([...got, 'reply']);
        await until(() => d.messages.length === 1, 3000, 'the delayed reply');
        expect(d.messages.map(text)).toEqual([['slow', 'reply']]);
        expect(count(events, 'disconnect')).toBe(0);
        expect(d.problems).toEqual([]);
      });
    });

    it('with heartbeats on, drops a ROUTER that falls silent within interval + timeout', async () => {
      const { router, endpoint } = await zmqRouter();
      const r = await relay(Number(/:(\d+)$/.exec(endpoint)?.[1]));
      const d = ourDealer(m, r.endpoint, { heartbeatIntervalMs: 100, heartbeatTimeoutMs: 300 });
      d.dealer.send([Buffer.from('hi')]);
      await router.send([...(await within(router.receive(), 3000, 'request')), 'reply']);
      await until(() => d.messages.length === 1);
      r.silence('down');
      const silentAt = Date.now();
      await until(() => r.peerClosed.length > 0, 3000, 'our DEALER to drop the silent connection');
      expect(r.peerClosed[0] - silentAt).toBeLessThan(100 + 300 + 300);
    });

    it('1 MiB messages both ways', async () => {
      const { router, endpoint } = await zmqRouter();
      const d = ourDealer(m, endpoint);
      const big = Buffer.alloc(MiB, 0x33);
      d.dealer.send([big]);
      const got = await within(router.receive(), 5000, 'request');
      expect(got[1].equals(big)).toBe(true);
      await router.send([got[0], big, big]);
      await until(() => d.messages.length === 1, 5000);
      expect(d.messages[0].map((f) => f.length)).toEqual([MiB, MiB]);
    });

    it('64-frame messages are accepted; a 65-frame message makes our DEALER drop the connection', async () => {
      const { router, endpoint } = await zmqRouter();
      const events = eventCounter(router);
      const d = ourDealer(m, endpoint, { routingId: 'D' });
      d.dealer.send([Buffer.from('hi')]);
      await within(router.receive(), 3000, 'request');
      const frames = Array.from({ length: 64 }, (_, i) => `f${i}`);
      await router.send(['D', ...frames]);
      await until(() => d.messages.length === 1);
      expect(text(d.messages[0])).toEqual(frames);
      await router.send(['D', ...frames, 'f64']);
      await until(() => count(events, 'disconnect') > 0, 3000, 'the disconnect');
      expect(d.messages).toHaveLength(1);
    });

    it('reconnects to a restarted ROUTER on the same port', async () => {
      const port = await freePort();
      const first = await zmqRouter(port);
      const d = ourDealer(m, first.endpoint, { reconnectIntervalMs: 50 });
      d.dealer.send([Buffer.from('one')]);
      expect(text(await within(first.router.receive(), 3000, 'first request'))[1]).toBe('one');
      first.router.close();
      await sleep(100);
      const second = await zmqRouter(port);
      // what was written to the dead connection is lost (as with libzmq): send until one arrives
      const sending = setInterval(() => d.dealer.send([Buffer.from('two')]), 100);
      try {
        expect(text(await within(second.router.receive(), 5000, 'a request to the restarted router'))[1]).toBe('two');
      } finally {
        clearInterval(sending);
      }
    });
  });
});
