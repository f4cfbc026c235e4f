import { Dealer, curveKeyPair } from 'zeromq';
import { curveKeyPairBytes } from './curve-keys';
import { CURVE_FRAME_OVERHEAD } from './curve-mechanism';
import { recycleFrame } from './recycled-frames';
import { POOLED_MIN_BYTES } from './write-buffers';
import { ZmtpRouter } from './zmtp-router';

/**
 * A ROUTER that recycles large frames, as the broker's backend does: each frame relayed back to its
 * libzmq sender, then given back, so the memory it lay in serves the next frames read and the next
 * messages written while earlier writes still wait. Every frame must arrive intact, plain or boxed.
 */

const open: { close(): void }[] = [];
afterEach(() => open.splice(0).forEach((s) => s.close()));

async function relay(curve: boolean) {
  const server = curveKeyPair();
  const given = new Set<ArrayBufferLike>();
  const seen = { recycled: 0, kept: 0, inGivenMemory: 0, twice: 0, views: 0 };
  const router: ZmtpRouter = new ZmtpRouter({
    maxMessageBytes: 2 << 20,
    sendHighWaterBytes: 256 << 20,
    recycleLargeFrames: true,
    curve: curve ? { keys: curveKeyPairBytes(server), admit: () => true } : undefined,
    onMessage: ([id, body]) => {
      if (given.has(body.buffer)) seen.inGivenMemory++;
      if (recycleFrame(body.subarray(1))) seen.views++; // a view is never taken back
      router.send([id, body]);
      if (!recycleFrame(body)) return void seen.kept++;
      seen.recycled++;
      given.add(body.buffer);
      if (recycleFrame(body)) seen.twice++; // nor is a frame taken back twice
    },
  });
  open.push(router);
  await router.bind('tcp://127.0.0.1:*');
  const client = curveKeyPair();
  const dealer = new Dealer({
    linger: 0,
    ...(curve ? { curveServerKey: server.publicKey, curvePublicKey: client.publicKey, curveSecretKey: client.secretKey } : {}),
  });
  dealer.connect(`tcp://127.0.0.1:${router.port}`);
  open.push(dealer);
  return { dealer, seen };
}

describe('large frames given back to the pool', () => {
  it.each([
    ['in the clear', false],
    ['boxed with CURVE', true],
  ])(
    'are read into memory used again and still arrive intact, %s',
    async (_, curve) => {
      const { dealer, seen } = await relay(curve);
      const sizes = [100, POOLED_MIN_BYTES - 1, POOLED_MIN_BYTES, 300_000, 1 << 20, 70_000];
      const sent = Array.from({ length: 48 }, (_, i) => Buffer.alloc(sizes[i % sizes.length], 1 + i));
      // all in flight at once: frames are read into memory given back by earlier ones while
      // messages written from that pool still wait for the socket
      await Promise.all(sent.map((body) => dealer.send(body)));
      for (const body of sent) {
        const [echo] = await dealer.receive();
        expect([echo.length, echo.equals(body)]).toEqual([body.length, true]);
      }
      // what is pooled is the frame as read: with CURVE, its box
      const large = sent.filter((b) => b.length + (curve ? CURVE_FRAME_OVERHEAD : 0) >= POOLED_MIN_BYTES).length;
      expect(seen).toEqual({
        recycled: large,
        kept: sent.length - large,
        inGivenMemory: expect.any(Number),
        twice: 0,
        views: 0,
      });
      expect(seen.inGivenMemory).toBeGreaterThan(0);
    },
    15_000,
  );

  it('are left to the garbage collector by a socket that does not recycle', async () => {
    const frames: Buffer[] = [];
    const router = new ZmtpRouter({ maxMessageBytes: 2 << 20, onMessage: ([, body]) => frames.push(body) });
    open.push(router);
    await router.bind('tcp://127.0.0.1:*');
    const dealer = new Dealer({ linger: 0 });
    dealer.connect(`tcp://127.0.0.1:${router.port}`);
    open.push(dealer);
    await dealer.send(Buffer.alloc(300_000, 7));
    for (const end = Date.now() + 3000; frames.length === 0 && Date.now() < end; ) await new Promise((r) => setTimeout(r, 10));
    expect([frames[0]?.length, recycleFrame(frames[0])]).toEqual([300_000, false]);
  });
});
