import { type Server, type Socket as TcpSocket, connect as tcpConnect, createServer } from 'node:net';
import { ZmtpRouter, type ZmtpRouterOptions } from './zmtp-router';
import { ZmtpDealer } from './zmtp-dealer';
import { FrameReader, commandFrame, encodeMessage, greeting, parseCommand, readyCommand } from './zmtp-codec';

/**
 * The rules of RFC 23/37 and libzmq that a hostile or broken peer tests, each against a raw TCP
 * peer that does exactly one wrong (or rare) thing: heartbeats, bounds, versions, routing ids.
 */

const until = async (check: () => boolean, ms = 3000) => {
  for (const end = Date.now() + ms; !check(); await new Promise((r) => setTimeout(r, 5)))
    if (Date.now() > end) throw new Error('timed out');
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const open: { close?(): void; destroy?(): void }[] = [];
afterEach(() => {
  for (const s of open.splice(0)) {
    if (s.destroy) s.destroy();
    else s.close?.();
  }
});

async function router(options: Partial<ZmtpRouterOptions> = {}) {
  const messages: Buffer[][] = [];
  const problems: string[] = [];
  const r = new ZmtpRouter({
    maxMessageBytes: 1024,
    onMessage: (f) => messages.push(f),
    onProtocolError: (why) => problems.push(why),
    ...options,
  });
  open.push(r);
  await r.bind('tcp://127.0.0.1:*');
  return { router: r, messages, problems };
}

/** A raw TCP peer that records the frames and commands it reads after the router's greeting. */
function peer(port: number) {
  const socket = tcpConnect(port, '127.0.0.1');
  const got = { frames: [] as Buffer[], commands: [] as { name: string; body: Buffer }[], closed: false, closedAt: 0 };
  let skip = 64;
  const reader = new FrameReader(Infinity, {
    frame: (body) => got.frames.push(body),
    command: (body) => {
      const c = parseCommand(body);
      if (c) got.commands.push(c);
    },
    problem: () => undefined,
  });
  socket.on('data', (chunk: Buffer) => {
    const from = Math.min(skip, chunk.length);
    skip -= from;
    if (from < chunk.length) reader.push(chunk, from);
  });
  socket.on('error', () => undefined);
  socket.on('close', () => {
    got.closed = true;
    got.closedAt = Date.now();
  });
  open.push(socket);
  const handshake = (props: Record<string, Buffer | string> = { 'Socket-Type': 'DEALER' }) =>
    socket.write(Buffer.concat([greeting(), readyCommand(props)]));
  return { socket, got, handshake };
}

describe('heartbeats (RFC 37)', () => {
  it('answers a PING with a PONG that echoes its context, cut to 16 bytes', async () => {
    const h = await router();
    const p = peer(h.router.port);
    p.handshake();
    p.socket.write(commandFrame('PING', Buffer.concat([Buffer.from([0, 0]), Buffer.from('context-of-20-bytes!')])));
    await until(() => p.got.commands.some((c) => c.name === 'PONG'));
    const pong = p.got.commands.find((c) => c.name === 'PONG');
    expect(pong?.body.toString()).toBe('context-of-20-by');
    expect(p.got.closed).toBe(false);
  });

  it('sends PINGs with its TTL, and closes a connection that sends nothing within the timeout of one', async () => {
    const h = await router({ heartbeatIntervalMs: 50, heartbeatTimeoutMs: 150, heartbeatTtlMs: 1000 });
    const p = peer(h.router.port);
    p.handshake();
    const start = Date.now();
    await until(() => p.got.closed, 2000);
    const ping = p.got.commands.find((c) => c.name === 'PING');
    expect(ping?.body.readUInt16BE(0)).toBe(10); // 1000 ms in tenths of a second
    expect(Date.now() - start).toBeLessThan(1000);
    expect(h.problems).toEqual(['no traffic within 150 ms of a PING']);
  });

  it('keeps a connection that answers, or sends anything at all', async () => {
    const h = await router({ heartbeatIntervalMs: 50, heartbeatTimeoutMs: 150 });
    const p = peer(h.router.port);
    p.handshake();
    const talk = setInterval(() => p.socket.write(encodeMessage([Buffer.from('alive')])), 40);
    await sleep(600);
    clearInterval(talk);
    expect(p.got.closed).toBe(false);
    expect(h.messages.length).toBeGreaterThan(5);
  });

  it("honours a peer's PING TTL: silent past it, the peer is gone", async () => {
    const h = await router();
    const p = peer(h.router.port);
    p.handshake();
    p.socket.write(commandFrame('PING', Buffer.from([0, 2]))); // TTL: 2 tenths of a second
    await until(() => p.got.closed, 2000);
    expect(h.problems).toEqual(['nothing heard within the 200 ms its PING asked for']);
  });
});

describe('bounds on what a peer can make us hold', () => {
  it('bounds a message, not only a frame: the frame that would pass the bound is refused from its header', async () => {
    const h = await router({ maxMessageBytes: 1000 });
    const p = peer(h.router.port);
    p.handshake();
    const frame = Buffer.alloc(400);
    p.socket.write(encodeMessage([frame, frame])); // 800: fine
    await until(() => h.messages.length === 1);
    p.socket.write(Buffer.concat([encodeMessage([frame, frame, frame]).subarray(0, 2 * (9 + 400) + 9)])); // the third header: 1200
    await until(() => p.got.closed);
    expect(h.problems).toEqual(['a frame of 400 bytes is over the limit of 200']);
  });

  it('closes connections past its cap as they come, and says so', async () => {
    const over: string[] = [];
    const h = await router({ maxConnections: 3, onConnectionLimit: (address, limit) => over.push(`${address} ${limit}`) });
    const peers = Array.from({ length: 5 }, () => peer(h.router.port));
    await until(() => peers.filter((p) => p.got.closed).length === 2);
    expect(over).toHaveLength(2);
    expect(over[0]).toMatch(/^127\.0\.0\.1:\d+ 3$/);
  });

  it('counts what one turn queues against the high-water mark, not only what the kernel holds', async () => {
    const h = await router({ sendHighWaterBytes: 100_000 });
    const p = peer(h.router.port);
    p.handshake({ 'Socket-Type': 'DEALER', Identity: 'P' });
    p.socket.write(encodeMessage([Buffer.from('hi')]));
    await until(() => h.messages.length === 1);
    for (let i = 0; i < 100; i++) h.router.send([Buffer.from('P'), Buffer.alloc(10_000)]); // one turn: 1 MB asked
    const queued = h.router.queuedBytes(Buffer.from('P'));
    expect(queued).toBeGreaterThan(100_000);
    expect(queued).toBeLessThan(100_000 + 2 * 10_009);
  });

  it('reads nothing more of a chunk once its connection is dropped', () => {
    const seen: string[] = [];
    const reader: FrameReader = new FrameReader(1024, {
      frame: (body) => {
        seen.push(body.toString());
        reader.stop(); // what a connection does when its owner drops it from a handler
      },
      command: () => undefined,
      problem: () => undefined,
    });
    reader.push(Buffer.concat([encodeMessage([Buffer.from('one')]), encodeMessage([Buffer.from('two')])]));
    expect(seen).toEqual(['one']);
  });
});

describe('greetings of other versions (RFC 37: a peer that cannot downgrade closes at once)', () => {
  it.each([
    ['ZMTP 1.0, anonymous', Buffer.from([0x01, 0x00])],
    ['ZMTP 1.0, a long identity frame', Buffer.from([0xff, 0, 0, 0, 0, 0, 0, 0, 9, 0x00])],
    ['ZMTP 2.0', Buffer.from([0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 0x01, 0x05])],
  ])('%s', async (_, bytes) => {
    const h = await router();
    const p = peer(h.router.port);
    const start = Date.now();
    p.socket.write(bytes);
    await until(() => p.got.closed, 1000);
    expect(Date.now() - start).toBeLessThan(500);
    expect(h.problems[0]).toMatch(/ZMTP [12]\.0 peer/);
  });
});

describe('routing ids (RFC 37, libzmq)', () => {
  it('refuses an Identity that starts with a zero byte', async () => {
    const h = await router();
    const p = peer(h.router.port);
    p.handshake({ 'Socket-Type': 'DEALER', Identity: Buffer.from([0, 1, 2, 3, 4]) });
    await until(() => p.got.closed);
    expect(h.problems).toEqual(['a routing id may not start with a zero byte (RFC 37: kept for generated ids)']);
  });

  it("never gives an anonymous peer's generated id to another: a second peer cannot claim it", async () => {
    const h = await router({ handover: true });
    const anonymous = peer(h.router.port);
    anonymous.handshake();
    anonymous.socket.write(encodeMessage([Buffer.from('who am I')]));
    await until(() => h.messages.length === 1);
    const generated = h.messages[0][0];
    const impostor = peer(h.router.port);
    impostor.handshake({ 'Socket-Type': 'DEALER', Identity: generated });
    await until(() => impostor.got.closed);
    h.router.send([generated, Buffer.from('for the anonymous peer')]);
    await until(() => anonymous.got.frames.length === 1);
    expect(anonymous.got.frames[0].toString()).toBe('for the anonymous peer');
    expect(impostor.got.frames).toEqual([]);
  });
});

describe('ZmtpDealer against a peer that claims too much', () => {
  /** A fake broker: it completes the handshake, then writes `after`. */
  async function fakeBroker(after: Buffer): Promise<number> {
    const server: Server = createServer((s: TcpSocket) => {
      s.on('error', () => undefined);
      s.write(Buffer.concat([greeting(), readyCommand({ 'Socket-Type': 'ROUTER' }), after]));
      open.push(s);
    });
    open.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as { port: number }).port;
  }

  it.each([
    ['2^63 bytes', Buffer.from([0x02, 0x80, 0, 0, 0, 0, 0, 0, 0])],
    ['4 GiB', Buffer.from([0x02, 0, 0, 0, 1, 0, 0, 0, 0])],
  ])('drops a connection whose frame header claims %s, before allocating it, and stays up', async (_, header) => {
    const port = await fakeBroker(header);
    const problems: string[] = [];
    const before = process.memoryUsage().rss;
    const d = new ZmtpDealer({
      maxMessageBytes: 1 << 20,
      reconnectIntervalMs: 10_000,
      onMessage: () => undefined,
      onProtocolError: (why) => problems.push(why),
    });
    open.push(d);
    d.connect(`tcp://127.0.0.1:${port}`);
    await until(() => problems.length === 1);
    expect(problems[0]).toMatch(/^a frame of \d+ bytes is over the limit of 1048576$/);
    expect(process.memoryUsage().rss - before).toBeLessThan(64 * 1024 * 1024);
  });

  it('has a finite bound by default', async () => {
    const port = await fakeBroker(Buffer.from([0x02, 0x80, 0, 0, 0, 0, 0, 0, 0]));
    const problems: string[] = [];
    const d = new ZmtpDealer({ reconnectIntervalMs: 10_000, onMessage: () => undefined, onProtocolError: (why) => problems.push(why) });
    open.push(d);
    d.connect(`tcp://127.0.0.1:${port}`);
    await until(() => problems.length === 1);
    expect(problems[0]).toMatch(/over the limit of 67108864$/);
  });
});

describe('ZmtpDealer closing with a linger before its handshake', () => {
  it('delivers what waits for the connection once it comes up within the linger', async () => {
    const messages: string[] = [];
    const r = new ZmtpRouter({ maxMessageBytes: 1024, onMessage: (f) => messages.push(f[1].toString()) });
    open.push(r);
    await r.bind('tcp://127.0.0.1:*');
    const port = r.port;
    r.close();
    const d = new ZmtpDealer({ reconnectIntervalMs: 20, onMessage: () => undefined });
    open.push(d);
    d.connect(`tcp://127.0.0.1:${port}`);
    d.send([Buffer.from('last words')]);
    d.close(2000); // nobody listens yet
    await sleep(100);
    const again = new ZmtpRouter({ maxMessageBytes: 1024, onMessage: (f) => messages.push(f[1].toString()) });
    open.push(again);
    await again.bind(`tcp://127.0.0.1:${port}`);
    await until(() => messages.length === 1);
    expect(messages).toEqual(['last words']);
  });
});

describe('binding tcp://*', () => {
  it('listens on IPv4 only, as libzmq does unless IPv6 is asked', async () => {
    const r = new ZmtpRouter({ maxMessageBytes: 10, onMessage: () => undefined });
    open.push(r);
    await r.bind('tcp://*:*');
    expect((r as unknown as { server: Server }).server.address()).toMatchObject({ address: '0.0.0.0', family: 'IPv4' });
  });
});

describe('ZmtpDealer reconnecting', () => {
  it('waits its interval plus up to one first interval at random (libzmq), so the peers of a restarted broker spread out', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer();
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p)); // nothing listens there now: every dial is refused
      });
    });
    const dials = async (random: number): Promise<number[]> => {
      const spy = jest.spyOn(Math, 'random').mockReturnValue(random);
      const at: number[] = [];
      const d = new ZmtpDealer({ reconnectIntervalMs: 100, reconnectMaxIntervalMs: 100, onMessage: () => undefined });
      const dial = (d as unknown as { dial(): void }).dial.bind(d);
      (d as unknown as { dial(): void }).dial = () => {
        at.push(Date.now());
        dial();
      };
      d.connect(`tcp://127.0.0.1:${port}`);
      await until(() => at.length >= 2, 2000);
      d.close();
      spy.mockRestore();
      return at;
    };
    const [calm, jittered] = [await dials(0), await dials(0.9)];
    expect(calm[1] - calm[0]).toBeLessThan(100 + 60);
    expect(jittered[1] - jittered[0]).toBeGreaterThanOrEqual(100 + 85);
  });
});
