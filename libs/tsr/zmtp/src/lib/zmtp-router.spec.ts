import { connect as tcpConnect, type Socket as TcpSocket } from 'node:net';
import { Dealer, Push, Request, curveKeyPair } from 'zeromq';
import { ZmtpRouter, type ZmtpRouterOptions } from './zmtp-router';
import { encodeMessage, greeting, readyCommand } from './zmtp-codec';
import { onSocketEvents } from '../testing';

/**
 * Our ROUTER against libzmq's own peers (DEALER, REQ, and sockets a ROUTER must refuse), and
 * against raw TCP peers that break the protocol on purpose.
 */

const text = (frames: Buffer[]) => frames.map((f) => f.toString('latin1'));
const until = async (check: () => boolean, ms = 3000) => {
  for (const end = Date.now() + ms; !check(); await new Promise((r) => setTimeout(r, 10)))
    if (Date.now() > end) throw new Error('timed out');
};

interface Harness {
  router: ZmtpRouter;
  endpoint: string;
  messages: Buffer[][];
  refusals: string[];
}

const open: (ZmtpRouter | Dealer | Request | Push | TcpSocket)[] = [];
afterEach(() => {
  for (const s of open.splice(0)) {
    if ('destroy' in s) s.destroy();
    else s.close();
  }
});

async function router(options: Partial<ZmtpRouterOptions> = {}): Promise<Harness> {
  const messages: Buffer[][] = [];
  const refusals: string[] = [];
  const r = new ZmtpRouter({
    maxMessageBytes: 1024,
    onMessage: (f) => messages.push(f),
    onProtocolError: (why) => refusals.push(why),
    ...options,
  });
  open.push(r);
  await r.bind('tcp://127.0.0.1:*');
  return { router: r, endpoint: `tcp://127.0.0.1:${r.port}`, messages, refusals };
}

function dealer(endpoint: string, routingId?: string): Dealer {
  const d = new Dealer({ linger: 0, ...(routingId ? { routingId } : {}) });
  d.connect(endpoint);
  open.push(d);
  return d;
}

const closed = (s: TcpSocket) => new Promise((resolve) => s.once('close', resolve));

/** A TCP peer that reads (and ignores) whatever the router sends. */
function raw(port: number): TcpSocket {
  const s = tcpConnect(port, '127.0.0.1');
  s.on('error', () => undefined);
  s.on('data', () => undefined);
  open.push(s);
  return s;
}

describe('ZmtpRouter with libzmq peers', () => {
  it("gets a DEALER's messages under its routing id, and routes messages back by it", async () => {
    const h = await router();
    const d = dealer(h.endpoint, 'W1');
    await d.send(['', 'hello']);
    await until(() => h.messages.length === 1);
    expect(text(h.messages[0])).toEqual(['W1', '', 'hello']);
    h.router.send([Buffer.from('W1'), Buffer.from(''), Buffer.alloc(300, 0x61)]); // a long frame back
    const back = await d.receive();
    expect(back.map((f) => f.length)).toEqual([0, 300]);
  });

  it('gives a REQ without a routing id a generated one (a zero byte and four more), as libzmq does, and answers it', async () => {
    const h = await router();
    const req = new Request({ linger: 0 });
    open.push(req);
    req.connect(h.endpoint);
    await req.send('ping');
    await until(() => h.messages.length === 1);
    const [id, delimiter, body] = h.messages[0];
    expect(id.length).toBe(5);
    expect(id[0]).toBe(0);
    expect(text([delimiter, body])).toEqual(['', 'ping']);
    h.router.send([id, delimiter, Buffer.from('pong')]);
    expect(text(await req.receive())).toEqual(['pong']);
  });

  it('drops a message to a routing id it does not know, silently', async () => {
    const h = await router();
    expect(() => h.router.send([Buffer.from('nobody'), Buffer.from('x')])).not.toThrow();
  });

  it('with handover, lets a peer that reconnects under its id take it over; the old connection is closed, as libzmq does', async () => {
    const h = await router({ handover: true });
    const first = dealer(h.endpoint, 'W1');
    await first.send('from the first');
    await until(() => h.messages.length === 1);
    const second = dealer(h.endpoint, 'W1');
    await second.send('from the second');
    await until(() => h.messages.length === 2);
    expect(text(h.messages[1])).toEqual(['W1', 'from the second']);
    h.router.send([Buffer.from('W1'), Buffer.from('to W1')]);
    expect(text(await second.receive())).toEqual(['to W1']);
    await new Promise<void>((resolve) => onSocketEvents(first, (e) => e.type === 'disconnect' && resolve()));
  });

  it('says when the connection that went by a routing id is gone: handed over to a newcomer, or closed', async () => {
    const gone: string[] = [];
    const h = await router({ handover: true, onPeerGone: (id, replaced) => gone.push(`${replaced ? 'replaced' : 'closed'} ${id}`) });
    const first = dealer(h.endpoint, 'W1');
    await first.send('one');
    await until(() => h.messages.length === 1);
    const second = dealer(h.endpoint, 'W1');
    await second.send('two');
    await until(() => h.messages.length === 2);
    first.close(); // before libzmq dials again and takes the id back
    expect(gone).toEqual(['replaced W1']); // said before the newcomer's message
    const anonymous = new Request({ linger: 0 });
    open.push(anonymous);
    anonymous.connect(h.endpoint);
    await anonymous.send('three');
    await until(() => h.messages.length === 3);
    second.close();
    anonymous.close();
    await until(() => gone.length === 3);
    expect(gone.slice(1).map((g) => (g === 'closed W1' ? g : g.slice(0, 7)))).toEqual(expect.arrayContaining(['closed W1', 'closed ']));
  });

  it('without handover, refuses a second connection under a routing id in use, and keeps the first', async () => {
    const h = await router();
    const first = dealer(h.endpoint, 'C1');
    await first.send('one');
    await until(() => h.messages.length === 1);
    const second = dealer(h.endpoint, 'C1');
    await second.send('two');
    await until(() => h.refusals.length > 0);
    expect(h.refusals[0]).toBe('routing id already connected');
    h.router.send([Buffer.from('C1'), Buffer.from('still yours')]);
    expect(text(await first.receive())).toEqual(['still yours']);
    expect(h.messages.map(text)).toEqual([['C1', 'one']]);
  });

  it('disconnects a peer that sends a frame over the limit, and serves the others on', async () => {
    const h = await router({ maxMessageBytes: 100 });
    const big = dealer(h.endpoint, 'BIG');
    const small = dealer(h.endpoint, 'SMALL');
    await big.send(Buffer.alloc(101));
    await until(() => h.refusals.length > 0);
    expect(h.refusals[0]).toBe('a frame of 101 bytes is over the limit of 100');
    await small.send('fine');
    await until(() => h.messages.length === 1);
    expect(text(h.messages[0])).toEqual(['SMALL', 'fine']);
  });

  it('never takes a message from a socket a ROUTER does not talk to, nor from a CURVE peer (each side hangs up)', async () => {
    const h = await router();
    const push = new Push({ linger: 0 });
    const server = curveKeyPair();
    const own = curveKeyPair();
    const curved = new Dealer({
      linger: 0,
      curveServerKey: server.publicKey,
      curvePublicKey: own.publicKey,
      curveSecretKey: own.secretKey,
    });
    open.push(push, curved);
    const hungUp = (s: Push | Dealer) => new Promise<void>((resolve) => onSocketEvents(s, (e) => e.type === 'disconnect' && resolve()));
    const gone = Promise.all([hungUp(push), hungUp(curved)]);
    push.connect(h.endpoint);
    curved.connect(h.endpoint);
    void push.send('x');
    void curved.send('secret');
    await gone;
    await new Promise((r) => setTimeout(r, 100));
    expect(h.messages).toEqual([]);
  });
});

describe('ZmtpRouter with peers that break the protocol', () => {
  it('drops a peer that does not speak ZMTP, without a crash, and one that never finishes its handshake', async () => {
    const h = await router({ handshakeTimeoutMs: 200 });
    const http = raw(h.router.port);
    http.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    const silent = raw(h.router.port);
    await Promise.all([closed(http), closed(silent)]);
    expect(h.refusals.sort()).toEqual(['a ZMTP 1.0 peer (no greeting signature): 3.0 or later is needed', 'no handshake in time']);
  });

  it('refuses data before READY, and messages of more frames than any peer sends', async () => {
    const h = await router();
    const early = raw(h.router.port);
    early.write(Buffer.concat([greeting(), encodeMessage([Buffer.from('too early')])]));
    const many = raw(h.router.port);
    many.write(
      Buffer.concat([
        greeting(),
        readyCommand({ 'Socket-Type': 'DEALER' }),
        encodeMessage(Array.from({ length: 65 }, () => Buffer.from('f'))),
      ]),
    );
    await until(() => h.refusals.length === 2);
    expect(h.refusals.sort()).toEqual(['a message before the handshake', 'a message of more than 64 frames']);
    expect(h.messages).toEqual([]);
  });

  it('closes every connection when closed, one still in its handshake too, and frees its port', async () => {
    const h = await router();
    const d = dealer(h.endpoint, 'D');
    await d.send('x');
    await until(() => h.messages.length === 1);
    const silent = raw(h.router.port);
    await new Promise((r) => setTimeout(r, 50));
    h.router.close();
    await closed(silent);
    const rebound = new ZmtpRouter({ maxMessageBytes: 10, onMessage: () => undefined });
    open.push(rebound);
    await rebound.bind(h.endpoint); // the same port, free again
  });

  it('bounds what waits for a peer that stops reading: past the high-water mark its messages are dropped', async () => {
    const h = await router({ sendHighWaterBytes: 1 << 20 });
    const stuck = raw(h.router.port);
    stuck.write(
      Buffer.concat([greeting(), readyCommand({ 'Socket-Type': 'DEALER', Identity: 'STUCK' }), encodeMessage([Buffer.from('hi')])]),
    );
    stuck.removeAllListeners('data');
    stuck.pause(); // reads nothing more: the kernel's buffers fill, then the router's
    await until(() => h.messages.length === 1);
    const chunk = Buffer.alloc(64 * 1024);
    for (let i = 0; i < 1000; i++) {
      h.router.send([Buffer.from('STUCK'), chunk]); // 64 MiB in all
      if (i % 50 === 0) await new Promise((r) => setImmediate(r));
    }
    await new Promise((r) => setImmediate(r));
    expect(h.router.queuedBytes(Buffer.from('STUCK'))).toBeGreaterThan(0);
    expect(h.router.queuedBytes(Buffer.from('STUCK'))).toBeLessThanOrEqual((1 << 20) + 51 * (chunk.length + 9));
  });
});
