import { connect as tcpConnect } from 'node:net';
import { Request } from 'zeromq';
import {
  RawPeer,
  closeAll,
  command,
  frame,
  greeting,
  longHeader,
  mechanism,
  message,
  ourRouter,
  ping,
  readyCommand,
  text,
  track,
  trackZmq,
  until,
  within,
} from './__fixtures__/harness';

/**
 * Our ROUTER against peers written byte by byte (NULL): greetings of older ZMTP versions, PING and
 * PONG, reserved flag bits, routing ids it must refuse, connection and handshake limits.
 */

jest.setTimeout(15_000);
afterEach(closeAll);

const NULL = mechanism('NULL');
const echo = (frames: Buffer[], router: { send(f: Buffer[]): void }) => router.send([...frames, Buffer.from('reply')]);

async function served(endpoint: string, n = 3): Promise<void> {
  const req = trackZmq(new Request({ linger: 0 }));
  req.connect(endpoint);
  for (let i = 0; i < n; i++) {
    await req.send(`q${i}`);
    expect(text(await within(req.receive(), 3000, 'reply'))).toEqual([`q${i}`, 'reply']);
  }
}

describe('greetings that are not ZMTP 3 are closed at once (no handshake-timeout wait)', () => {
  const cases: [string, Buffer][] = [
    ['ZMTP 1.0 (a short identity frame 0x01 0x00)', Buffer.from([0x01, 0x00])],
    ['ZMTP 2.0 (0xFF, 8 bytes, 0x7F, revision 0x01)', Buffer.from([0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 0x01, 0x05, 0x00, 0x00])],
    ['a signature whose byte 9 has its low bit 0', Buffer.from([0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7e, 3, 0])],
    ['a full greeting of major version 2', greeting('NULL', false, 2, 0)],
    ['HTTP', Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')],
  ];
  it.each(cases)('%s', async (_, bytes) => {
    const h = await ourRouter(NULL, {}, '*', echo);
    const peer = new RawPeer(h.port, bytes);
    const closedAt = await within(peer.closed, 1000, 'the close');
    expect(closedAt - peer.openedAt).toBeLessThan(500);
    await served(h.endpoint, 1);
  });
});

describe('heartbeat commands (RFC 37)', () => {
  it.each([
    ['an empty context', Buffer.alloc(0)],
    ['a 3-byte context', Buffer.from('abc')],
    ['a 16-byte context', Buffer.from('0123456789abcdef')],
  ])('answers a PING with %s with a PONG echoing it', async (_, context) => {
    const h = await ourRouter(NULL);
    const peer = RawPeer.null(h.port);
    peer.write(ping(0, context));
    await until(() => peer.frames().some((f) => f.command && f.body.subarray(1, 5).toString() === 'PONG'), 2000, 'a PONG');
    const pong = peer.frames().find((f) => f.command && f.body.subarray(1, 5).toString() === 'PONG');
    expect(pong?.body[0]).toBe(4);
    expect(pong?.body.subarray(5).equals(context)).toBe(true);
  });

  it('closes a peer whose PING had a TTL (300 ms) and which then sends nothing, although our own heartbeats are off', async () => {
    const h = await ourRouter(NULL);
    const peer = RawPeer.null(h.port);
    await until(() => peer.frames().length > 0, 2000, 'our READY');
    peer.write(ping(3, Buffer.alloc(0)));
    const sentAt = Date.now();
    const closedAt = await within(peer.closed, 2000, 'the close after the TTL');
    expect(closedAt - sentAt).toBeGreaterThanOrEqual(250);
    expect(closedAt - sentAt).toBeLessThan(300 + 300);
  });

  it('with heartbeats on, sends PINGs and closes a handshaken peer that never answers, within interval + timeout', async () => {
    const h = await ourRouter(NULL, { heartbeatIntervalMs: 100, heartbeatTimeoutMs: 300 });
    const peer = RawPeer.null(h.port);
    await until(() => peer.frames().length > 0, 2000, 'our READY');
    const readyAt = Date.now();
    const closedAt = await within(peer.closed, 2000, 'the close of a silent peer');
    expect(closedAt - readyAt).toBeLessThan(100 + 300 + 200);
    expect(peer.frames().filter((f) => f.command && f.body.subarray(1, 5).toString() === 'PING').length).toBeGreaterThan(0);
  });

  it('a peer that answers every PING stays', async () => {
    const h = await ourRouter(NULL, { heartbeatIntervalMs: 100, heartbeatTimeoutMs: 300 }, '*', echo);
    const peer = RawPeer.null(h.port);
    let answered = 0;
    const timer = setInterval(() => {
      const pings = peer.frames().filter((f) => f.command && f.body.subarray(1, 5).toString() === 'PING');
      for (; answered < pings.length; answered++) peer.write(command('PONG', pings[answered].body.subarray(7)));
    }, 20);
    track(timer, clearInterval);
    await new Promise((r) => setTimeout(r, 1000));
    expect(peer.closedAt).toBeUndefined();
    expect(answered).toBeGreaterThan(3);
  });
});

describe('frames', () => {
  it('ignores reserved flag bits, as libzmq does', async () => {
    const h = await ourRouter(NULL);
    const peer = RawPeer.null(h.port, { 'Socket-Type': 'DEALER', Identity: 'R' });
    peer.write(Buffer.concat([frame(Buffer.from('one'), 0xf0 | 0x01), frame(Buffer.from('two'), 0x80)]));
    await until(() => h.messages.length === 1, 2000, 'the message');
    expect(text(h.messages[0])).toEqual(['R', 'one', 'two']);
    expect(peer.closedAt).toBeUndefined();
  });

  it('disconnects as soon as a frame header takes a message past maxMessageBytes (body never sent)', async () => {
    const h = await ourRouter(NULL, { maxMessageBytes: 1000 });
    const peer = RawPeer.null(h.port);
    peer.write(frame(Buffer.alloc(600), 0x01));
    peer.write(longHeader(600n));
    await within(peer.closed, 1000, 'the close');
    expect(h.messages).toEqual([]);
  });

  it.each([[2n ** 63n], [2n ** 64n - 1n], [4n * 1024n ** 3n]])(
    'a header claiming %s bytes: closed at once, no allocation',
    async (size) => {
      const h = await ourRouter(NULL, {}, '*', echo);
      const peer = RawPeer.null(h.port);
      const before = process.memoryUsage().rss;
      peer.write(longHeader(size));
      await within(peer.closed, 1000, 'the close');
      expect(process.memoryUsage().rss - before).toBeLessThan(64 * 1024 * 1024);
      await served(h.endpoint, 1);
    },
  );

  it('maxFrames: 3 frames accepted, 4 disconnected', async () => {
    const h = await ourRouter(NULL, { maxFrames: 3 });
    const peer = RawPeer.null(h.port);
    peer.write(message(['a', 'b', 'c']));
    await until(() => h.messages.length === 1);
    peer.write(message(['a', 'b', 'c', 'd']));
    await within(peer.closed, 1000, 'the close');
    expect(h.messages).toHaveLength(1);
  });
});

describe('routing ids', () => {
  it.each([[false], [true]])('an Identity whose first byte is 0 is refused (handover %s)', async (handover) => {
    const h = await ourRouter(NULL, { handover }, '*', echo);
    const peer = RawPeer.null(h.port, { 'Socket-Type': 'DEALER', Identity: Buffer.from([0, 1, 2, 3, 4]) });
    peer.write(message(['hello']));
    await within(peer.closed, 1000, 'the refusal');
    expect(h.messages).toEqual([]);
    expect(h.problems.length).toBeGreaterThan(0);
  });

  it.each([[false], [true]])(
    "a peer that announces an anonymous peer's generated id never gets that peer's replies (handover %s)",
    async (handover) => {
      const h = await ourRouter(NULL, { handover });
      const req = trackZmq(new Request({ linger: 0 }));
      req.connect(h.endpoint);
      await req.send('first');
      await until(() => h.messages.length === 1);
      const generated = h.messages[0][0];
      const impostor = RawPeer.null(h.port, { 'Socket-Type': 'DEALER', Identity: generated });
      await Promise.race([impostor.closed, new Promise((r) => setTimeout(r, 300))]);
      h.router.send([generated, Buffer.alloc(0), Buffer.from('for the REQ')]);
      expect(text(await within(req.receive(), 2000, "the REQ's reply"))).toEqual(['for the REQ']);
      await new Promise((r) => setTimeout(r, 100));
      expect(impostor.frames().filter((f) => !f.command)).toEqual([]);
    },
  );

  it('generated ids are 0x00 + 4 bytes and distinct across many anonymous peers', async () => {
    const h = await ourRouter(NULL);
    const peers = Array.from({ length: 50 }, () => RawPeer.null(h.port));
    peers.forEach((p) => p.write(message(['x'])));
    await until(() => h.messages.length === 50, 3000, '50 messages');
    const ids = h.messages.map((m) => m[0].toString('hex'));
    expect(new Set(ids).size).toBe(50);
    expect(ids.every((id) => id.length === 10 && id.startsWith('00'))).toBe(true);
  });
});

describe('connections', () => {
  it('maxConnections: a connection past the limit is closed at once and reported', async () => {
    const h = await ourRouter(NULL, { maxConnections: 3 });
    const first = [0, 1, 2].map(() => RawPeer.null(h.port));
    await until(() => first.every((p) => p.frames().length > 0), 2000, 'three handshakes');
    const fourth = RawPeer.null(h.port);
    const closedAt = await within(fourth.closed, 1000, 'the close of the fourth');
    expect(closedAt - fourth.openedAt).toBeLessThan(500);
    expect(h.limits).toEqual([{ address: expect.stringMatching(/^127\.0\.0\.1:\d+$/), limit: 3 }]);
    expect(first.every((p) => p.closedAt === undefined)).toBe(true);
  });

  it('1,000 connections that never finish a greeting: a REQ is served meanwhile, and all are closed at the handshake deadline', async () => {
    const DEADLINE = 500;
    const h = await ourRouter(NULL, { handshakeTimeoutMs: DEADLINE }, '*', echo);
    // The router's clock runs from its accept, which falls between our dial and the arrival of its
    // greeting (NULL: with its READY): no close may come sooner than the deadline after the dial,
    // and none later than the deadline (and some lag) after the greeting.
    const afterDial: number[] = [];
    const afterGreeting: number[] = [];
    let accepted = 0;
    for (let i = 0; i < 1000; i++) {
      const dialedAt = Date.now();
      const s = track(tcpConnect(h.port, '127.0.0.1'), (x) => x.destroy());
      s.on('error', () => undefined);
      let heardAt = 0;
      s.once('data', () => ((heardAt = Date.now()), accepted++));
      s.on('data', () => undefined);
      s.once('close', () => {
        afterDial.push(Date.now() - dialedAt);
        afterGreeting.push(heardAt ? Date.now() - heardAt : -1);
      });
      if (i % 2) s.write(greeting().subarray(0, 20)); // half a greeting
    }
    await served(h.endpoint, 5);
    await until(() => afterDial.length === 1000, DEADLINE + 5000, 'every connection to close');
    const last = Math.max(...afterGreeting);
    const first = Math.min(...afterDial);
    console.log(
      `1,000 stalled handshakes (${accepted} greeted): the first closed ${first} ms after its dial, the last ${last} ms after the router's greeting (deadline ${DEADLINE} ms)`,
    );
    expect(accepted).toBe(1000);
    expect(Math.min(...afterGreeting)).toBeGreaterThanOrEqual(0); // every one was greeted before it was closed
    expect(first).toBeGreaterThanOrEqual(DEADLINE - 5);
    expect(last).toBeLessThan(DEADLINE + 500);
    await served(h.endpoint, 1);
  });

  it('a peer that sends READY with an unknown socket type is refused', async () => {
    const h = await ourRouter(NULL);
    const peer = new RawPeer(h.port, Buffer.concat([greeting(), readyCommand({ 'Socket-Type': 'XPUB' })]));
    await within(peer.closed, 1000, 'the refusal');
    expect(h.problems.length).toBe(1);
  });
});
