import { randomBytes } from 'node:crypto';
import { Dealer, Router, curveKeyPair, type Socket } from 'zeromq';
import { curveKeyBytes as keyBytes, curveKeyPairBytes as keyPairBytes } from './curve-keys';
import { z85Decode } from './z85';
import { ZmtpDealer } from './zmtp-dealer';
import { ZmtpRouter } from './zmtp-router';

/**
 * Our ROUTER and DEALER with CURVE, against libzmq's and each other: who is admitted, who is
 * refused and from which address, and messages both ways once admitted.
 */

const until = async (check: () => boolean, ms = 3000) => {
  for (const end = Date.now() + ms; !check(); await new Promise((r) => setTimeout(r, 10)))
    if (Date.now() > end) throw new Error('timed out');
};
const text = (frames: Buffer[]) => frames.map((f) => f.toString('latin1'));

const open: { close(): void }[] = [];
afterEach(() => open.splice(0).forEach((s) => s.close()));

async function curveRouter(allowed: (key: Buffer) => boolean = () => true, sendHighWaterBytes?: number, maxMessageBytes = 1024) {
  const server = curveKeyPair();
  const messages: Buffer[][] = [];
  const problems: { why: string; address: string }[] = [];
  const admissions: { key: Buffer; address: string; admitted: boolean }[] = [];
  const router = new ZmtpRouter({
    maxMessageBytes,
    sendHighWaterBytes,
    onMessage: (frames) => messages.push(frames),
    onProtocolError: (why, address) => problems.push({ why, address }),
    curve: {
      keys: keyPairBytes(server),
      admit: (key, address) => {
        const admitted = allowed(key);
        admissions.push({ key, address, admitted });
        return admitted;
      },
    },
  });
  open.push(router);
  await router.bind('tcp://127.0.0.1:*');
  return { router, server, endpoint: `tcp://127.0.0.1:${router.port}`, messages, problems, admissions };
}

/** A libzmq DEALER `W1` of a new key pair, a CURVE client of the server whose public key is `serverKey`. */
function curveDealer(endpoint: string, serverKey: string): { dealer: Dealer; client: { publicKey: string; secretKey: string } } {
  const client = curveKeyPair();
  const dealer = zmqDealer(endpoint, {
    routingId: 'W1',
    curveServerKey: serverKey,
    curvePublicKey: client.publicKey,
    curveSecretKey: client.secretKey,
  });
  return { dealer, client };
}

function zmqDealer(endpoint: string, options: ConstructorParameters<typeof Dealer>[0]): Dealer {
  const dealer = new Dealer({ linger: 0, ...options });
  dealer.connect(endpoint);
  open.push(dealer);
  return dealer;
}

describe('ZMTP with CURVE', () => {
  it('our ROUTER boxes large messages into memory it uses again, each one opening intact at libzmq though the writes before it still wait', async () => {
    const { server, endpoint, messages, router } = await curveRouter(() => true, 64 << 20);
    const client = curveKeyPair();
    const dealer = zmqDealer(endpoint, {
      routingId: 'W1',
      receiveHighWaterMark: 2, // reads no further than 2 messages ahead: the writes wait in the socket
      curveServerKey: server.publicKey,
      curvePublicKey: client.publicKey,
      curveSecretKey: client.secretKey,
    });
    await dealer.send('hello');
    await until(() => messages.length === 1);
    // eight turns of three messages, each its own byte: 18 MB, more than the kernel and libzmq hold
    const sizes = [1 << 20, 1 << 20, 100_000];
    const sent: { size: number; fill: number }[] = [];
    for (let turn = 0; turn < 8; turn++) {
      for (const size of sizes) {
        sent.push({ size, fill: sent.length + 1 });
        router.send([Buffer.from('W1'), Buffer.alloc(size, sent.length)]);
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    for (const { size, fill } of sent) {
      const [body] = await dealer.receive();
      expect([body.length, body.every((b) => b === fill)]).toEqual([size, true]);
    }
  }, 10_000);

  it('our ROUTER opens what a libzmq DEALER boxes, small and large (from 128 KiB our boxes open in two passes)', async () => {
    const { server, endpoint, messages, problems } = await curveRouter(() => true, undefined, 2 << 20);
    const { dealer } = curveDealer(endpoint, server.publicKey);
    const sent = [100, 128 * 1024 - 2, 128 * 1024 - 1, 200_000, 1 << 20].map((size) => randomBytes(size));
    for (const body of sent) await dealer.send([body, Buffer.from('end')]);
    await until(() => messages.length === sent.length);
    expect(problems).toEqual([]);
    messages.forEach((frames, i) => {
      expect(frames.length).toBe(3);
      expect(frames[1].equals(sent[i])).toBe(true);
      expect(frames[2].toString()).toBe('end');
    });
  });

  it("our ROUTER admits a libzmq DEALER that has its key, knows the client's key and address, and routes both ways", async () => {
    const { server, endpoint, messages, admissions, router } = await curveRouter();
    const { dealer, client } = curveDealer(endpoint, server.publicKey);
    await dealer.send(['hello', 'over CURVE']);
    await until(() => messages.length === 1);
    expect(text(messages[0])).toEqual(['W1', 'hello', 'over CURVE']);
    expect(admissions).toEqual([
      { key: z85Decode(client.publicKey), address: expect.stringMatching(/^127\.0\.0\.1:\d+$/), admitted: true },
    ]);
    router.send([Buffer.from('W1'), Buffer.from('answer'), Buffer.alloc(0), Buffer.from('three')]);
    expect(text(await dealer.receive())).toEqual(['answer', '', 'three']);
  });

  it('refuses, with the address, a peer without CURVE and one with another server key; neither gets a message through', async () => {
    const { endpoint, messages, problems } = await curveRouter();
    const plain = zmqDealer(endpoint, { routingId: 'plain' });
    void plain.send('let me in');
    const stranger = curveKeyPair();
    const wrongKey = zmqDealer(endpoint, {
      routingId: 'wrong',
      curveServerKey: curveKeyPair().publicKey,
      curvePublicKey: stranger.publicKey,
      curveSecretKey: stranger.secretKey,
    });
    void wrongKey.send('let me in too');
    // libzmq resets the connection on seeing our CURVE greeting, which may take its own greeting
    // with it; either way the address is known.
    await until(() => problems.some((p) => /NULL|hung up/.test(p.why)) && problems.some((p) => /another server key/.test(p.why)));
    for (const p of problems) expect(p.address).toMatch(/^127\.0\.0\.1:\d+$/);
    await new Promise((r) => setTimeout(r, 200));
    expect(messages).toEqual([]);
  });

  it('answers a key it does not admit with ERROR, and that client gets nothing through', async () => {
    const { server, endpoint, messages, admissions } = await curveRouter(() => false);
    const client = curveKeyPair();
    const dealer = zmqDealer(endpoint, {
      curveServerKey: server.publicKey,
      curvePublicKey: client.publicKey,
      curveSecretKey: client.secretKey,
    });
    const failures: string[] = [];
    watchHandshake(dealer, failures);
    void dealer.send('refused');
    await until(() => admissions.length > 0 && failures.length > 0);
    expect(admissions[0]).toMatchObject({ admitted: false });
    expect(failures[0]).toMatch(/^handshake:error:auth/);
    expect(messages).toEqual([]);
  });

  it('our DEALER talks to a libzmq CURVE ROUTER, and to ours; a removed key is dropped', async () => {
    const serverPair = curveKeyPair();
    const zmqRouter = new Router({ linger: 0, curveServer: true, curveSecretKey: serverPair.secretKey });
    open.push(zmqRouter);
    await zmqRouter.bind('tcp://127.0.0.1:*');
    const clientPair = curveKeyPair();
    const got: Buffer[][] = [];
    const ours = new ZmtpDealer({
      routingId: 'ours',
      curve: { role: 'client', serverKey: keyBytes(serverPair.publicKey), keys: keyPairBytes(clientPair) },
      onMessage: (f) => got.push(f),
    });
    open.push({ close: () => ours.close() });
    ours.connect(zmqRouter.lastEndpoint as string);
    ours.send([Buffer.from('to libzmq')]);
    const [id, body] = await zmqRouter.receive();
    expect([id.toString(), body.toString()]).toEqual(['ours', 'to libzmq']);
    await zmqRouter.send([id, 'from libzmq', 'two frames']);
    await until(() => got.length === 1);
    expect(text(got[0])).toEqual(['from libzmq', 'two frames']);

    let allowed = true;
    const { server, endpoint, messages, router } = await curveRouter(() => allowed);
    const again: Buffer[][] = [];
    const ourDealer = new ZmtpDealer({
      routingId: 'mine',
      reconnectIntervalMs: 50,
      curve: { role: 'client', serverKey: keyBytes(server.publicKey), keys: keyPairBytes(clientPair) },
      onMessage: (f) => again.push(f),
    });
    open.push({ close: () => ourDealer.close() });
    ourDealer.connect(endpoint);
    ourDealer.send([Buffer.from('between ours')]);
    await until(() => messages.length === 1);
    router.send([Buffer.from('mine'), Buffer.from('back')]);
    await until(() => again.length === 1);
    allowed = false;
    expect(router.dropPeers(() => allowed)).toBe(1);
    ourDealer.send([Buffer.from('after removal')]);
    await new Promise((r) => setTimeout(r, 300));
    expect(messages).toHaveLength(1);
  });
});

function watchHandshake(socket: Socket, failures: string[]): void {
  void (async () => {
    for await (const event of socket.events)
      if (event.type.startsWith('handshake:error')) failures.push(`${event.type} ${'error' in event ? event.error.message : ''}`);
  })().catch(() => undefined);
}
