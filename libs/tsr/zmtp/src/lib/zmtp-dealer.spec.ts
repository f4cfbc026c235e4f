import { type AddressInfo, type Socket, createServer } from 'node:net';
import { Router } from 'zeromq';
import { greeting, readyCommand } from './zmtp-codec';
import { freePort } from '../testing';
import { ZmtpDealer, type ZmtpDealerOptions } from './zmtp-dealer';
import { idleWriteBytes } from './write-buffers';

/** Our DEALER against libzmq's ROUTER: connecting, retrying, lingering, and the limits. */

const text = (frames: Buffer[]) => frames.map((f) => f.toString('latin1'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const until = async (check: () => boolean, ms = 3000) => {
  for (const end = Date.now() + ms; !check(); await sleep(10)) if (Date.now() > end) throw new Error('timed out');
};

/**
 * A test server's end of a connection from our DEALER, which it hangs up on (or resets, closing
 * with the server's greeting unread) as the test provokes: a reset nobody listened for would be
 * thrown in whatever test file runs next, long after the test.
 */
const ignoreResets = (s: Socket): Socket => s.on('error', () => undefined);

const open: { close(): void }[] = [];
afterEach(() => {
  for (const s of open.splice(0)) s.close();
});

function dealer(port: number, options: Partial<ZmtpDealerOptions> = {}) {
  const messages: Buffer[][] = [];
  const problems: string[] = [];
  const d = new ZmtpDealer({
    routingId: 'W1',
    reconnectIntervalMs: 20,
    onMessage: (f) => messages.push(f),
    onProtocolError: (why) => problems.push(why),
    ...options,
  });
  open.push(d);
  d.connect(`tcp://127.0.0.1:${port}`);
  return { dealer: d, messages, problems };
}

/** A ROUTER as the broker's backend is: a peer back under its routing id takes over from its old connection. */
async function router(port: number): Promise<Router> {
  const r = new Router({ linger: 0, handover: true });
  open.push(r);
  await r.bind(`tcp://127.0.0.1:${port}`);
  return r;
}

describe('ZmtpDealer with a libzmq ROUTER', () => {
  it('talks under its routing id, both ways', async () => {
    const port = await freePort();
    const r = await router(port);
    const d = dealer(port);
    d.dealer.send([Buffer.from(''), Buffer.from('ready')]);
    expect(text(await r.receive())).toEqual(['W1', '', 'ready']);
    await r.send(['W1', '', Buffer.alloc(70_000, 1)]);
    await until(() => d.messages.length === 1);
    expect(d.messages[0].map((f) => f.length)).toEqual([0, 70_000]);
  });

  it('writes what one turn sends, large or small, whole and in order (over 64 KiB: the buffers as they are, in one writev)', async () => {
    const port = await freePort();
    const r = await router(port);
    const d = dealer(port);
    d.dealer.send([Buffer.from('hello')]);
    await r.receive();
    const sizes = [10, 300_000, 20, 1 << 20, 70_000];
    sizes.forEach((size, i) => d.dealer.send([Buffer.from(String(i)), Buffer.alloc(size, 0x61 + i)]));
    for (const [i, size] of sizes.entries()) {
      const [id, n, body] = await r.receive();
      expect([id.toString(), n.toString(), body.length, body.every((b) => b === 0x61 + i)]).toEqual(['W1', String(i), size, true]);
    }
  });

  it('writes large messages from memory it uses again, each one intact though the writes before it still wait', async () => {
    const port = await freePort();
    // a ROUTER that reads no further than 2 messages ahead of its user
    const r = new Router({ linger: 0, receiveHighWaterMark: 2 });
    open.push(r);
    await r.bind(`tcp://127.0.0.1:${port}`);
    const d = dealer(port, { sendHighWaterBytes: 64 << 20 });
    d.dealer.send([Buffer.from('hello')]);
    await r.receive();
    // eight turns of four messages, each its own byte: 20 MB in all, more than the kernel and libzmq
    // hold, so that later turns take memory while earlier writes still wait in the socket
    const sizes = [1 << 20, 1 << 20, 300_000, 65_536];
    const sent: { size: number; fill: number }[] = [];
    const taken: boolean[] = [];
    for (let turn = 0; turn < 8; turn++) {
      for (const size of sizes) {
        const fill = sent.length + 1;
        sent.push({ size, fill });
        taken.push(d.dealer.send([Buffer.from(String(sent.length - 1)), Buffer.alloc(size, fill)]));
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(taken.every(Boolean)).toBe(true);
    for (const [n, { size, fill }] of sent.entries()) {
      const [, id, body] = await r.receive();
      expect([id.toString(), body.length, body.every((b) => b === fill)]).toEqual([String(n), size, true]);
    }
    await until(() => idleWriteBytes() > 0); // given back once written, to be used again
  }, 15_000);

  it('keeps what is sent before the broker is up, and delivers it in order once it is', async () => {
    const port = await freePort();
    const d = dealer(port);
    for (const n of ['1', '2', '3']) d.dealer.send([Buffer.from(n)]);
    await sleep(100); // a few refused connections
    const r = await router(port);
    for (const n of ['1', '2', '3']) expect(text(await r.receive())).toEqual(['W1', n]);
  });

  it('connects again after the broker restarts, and talks on', async () => {
    const port = await freePort();
    const first = await router(port);
    const d = dealer(port);
    d.dealer.send([Buffer.from('before')]);
    expect(text(await first.receive())).toEqual(['W1', 'before']);
    first.close();
    await sleep(50);
    const second = await router(port);
    await sleep(100);
    d.dealer.send([Buffer.from('after')]);
    expect(text(await second.receive())).toEqual(['W1', 'after']);
  });

  it('delivers its last words when closed with a linger, resolving close once they are (before the linger runs out), and drops what waits when closed without, at once', async () => {
    const port = await freePort();
    const r = await router(port);
    const d = dealer(port);
    d.dealer.send([Buffer.from('hello')]);
    await r.receive();
    d.dealer.send([Buffer.from('goodbye')]);
    const started = performance.now();
    await d.dealer.close(5000);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(text(await r.receive())).toEqual(['W1', 'goodbye']);
    expect(d.dealer.send([Buffer.from('late')])).toBe(false);
    await expect(dealer(port).dealer.close()).resolves.toBeUndefined();
  });

  it('says when a connection is made and lost, and makes it again; not for one that never finished its handshake, nor on close', async () => {
    const port = await freePort();
    const events: string[] = [];
    const d = dealer(port, { onConnected: () => events.push('up'), onDisconnected: () => events.push('down') });
    await sleep(100); // dials that find nothing: no event
    expect(events).toEqual([]);
    const first = await router(port);
    await until(() => events.length === 1);
    first.close(); // the broker goes
    await until(() => events.length === 2);
    await router(port); // and comes back
    await until(() => events.length === 3);
    await d.dealer.close();
    expect(events).toEqual(['up', 'down', 'up']);
  });

  it('keeps at most its high-water mark of messages while it has no connection', async () => {
    const port = await freePort();
    const d = dealer(port, { highWaterMessages: 3 });
    expect([1, 2, 3, 4].map((n) => d.dealer.send([Buffer.from(String(n))]))).toEqual([true, true, true, false]);
  });

  it('drops what it is asked to send past its high-water mark while the broker does not read (a frozen broker)', async () => {
    // a broker that completes the handshake and then reads nothing
    const frozen = createServer((s) => {
      ignoreResets(s);
      s.write(Buffer.concat([greeting(), readyCommand({ 'Socket-Type': 'ROUTER' })]));
      s.pause();
    });
    open.push(frozen);
    await new Promise<void>((resolve) => frozen.listen(0, '127.0.0.1', resolve));
    const d = dealer((frozen.address() as AddressInfo).port, { sendHighWaterBytes: 1 << 20 });
    await sleep(100);
    const body = Buffer.alloc(64 * 1024);
    const sent: boolean[] = [];
    for (let i = 0; i < 400; i++) {
      sent.push(d.dealer.send([body])); // 25 MiB in all
      if (i % 20 === 0) await new Promise((r) => setImmediate(r));
    }
    expect(sent[0]).toBe(true);
    expect(sent.filter((ok) => !ok).length).toBeGreaterThan(200);
  });

  it('hangs up on a peer a DEALER does not talk to, and on a frame over its limit (then connects again)', async () => {
    // a server that greets and says it is a PUB (libzmq's own PUB would hang up first)
    const pub = createServer((s) => ignoreResets(s).end(Buffer.concat([greeting(), readyCommand({ 'Socket-Type': 'PUB' })])));
    open.push(pub);
    await new Promise<void>((resolve) => pub.listen(0, '127.0.0.1', resolve));
    const wrong = dealer((pub.address() as AddressInfo).port);
    await until(() => wrong.problems.length > 0);
    expect(wrong.problems[0]).toBe('a PUB cannot talk to a DEALER');

    const port = await freePort();
    const r = await router(port);
    const d = dealer(port, { maxMessageBytes: 100 });
    d.dealer.send([Buffer.from('hi')]);
    await r.receive();
    await r.send(['W1', Buffer.alloc(101)]);
    await until(() => d.problems.length > 0);
    expect(d.problems[0]).toBe('a frame of 101 bytes is over the limit of 100');
    await sleep(100);
    d.dealer.send([Buffer.from('again')]);
    expect(text(await r.receive())).toEqual(['W1', 'again']);
    expect(d.messages).toEqual([]);
  });
});
