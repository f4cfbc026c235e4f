import { randomBytes } from 'node:crypto';
import { type Server, Socket, connect as tcpConnect, createServer } from 'node:net';
import { Dealer, Router } from 'zeromq';
import * as socketReads from '../socket-reads';
import { SCRATCH_BYTES, SocketReads, adoptReading } from '../socket-reads';
import { MECHANISMS, closeAll, mechanism, ourDealer, ourRouter, track, trackZmq, until, within } from './__fixtures__/harness';

/**
 * Our sockets read into one scratch buffer that every socket shares (socket-reads.ts), not into
 * Buffers Node makes for each read. Against libzmq peers, several at once so that their reads
 * interleave in the scratch, with random bytes (a frame kept as a view of the scratch would be
 * overwritten by the next read) and sizes either side of the scratch's.
 */

jest.setTimeout(30_000);
afterEach(() => {
  jest.restoreAllMocks();
  closeAll();
});

const MiB = 1024 * 1024;
const SIZES = [0, 1, 255, 256, SCRATCH_BYTES - 1, SCRATCH_BYTES, SCRATCH_BYTES + 1, 2 * SCRATCH_BYTES + 7, 300_000, MiB];
const PEERS = 4;

/** Messages of random bytes: a tag frame naming the sender and the message, a frame of each size in turn, a short one. */
const messagesOf = (peer: number): Buffer[][] => SIZES.map((size, i) => [Buffer.from(`${peer}/${i}`), randomBytes(size), randomBytes(i)]);

/** Counts the chunks Node hands out as 'data' events: none for a socket that reads into our scratch. */
function countDataEvents(): { chunks: number } {
  const seen = { chunks: 0 };
  const emit = Socket.prototype.emit;
  jest.spyOn(Socket.prototype, 'emit').mockImplementation(function (this: Socket, event: string | symbol, ...args: unknown[]) {
    if (event === 'data') seen.chunks++;
    return emit.call(this, event, ...args);
  });
  return seen;
}

/** Each message sent arrived, frame for frame, byte for byte. */
function expectArrived(sent: Map<string, Buffer[]>, got: Buffer[][]): void {
  const byTag = new Map(got.map((m) => [m[0].toString(), m]));
  for (const [tag, message] of sent) expect(byTag.get(tag)?.map((f, i) => f.equals(message[i]))).toEqual(message.map(() => true));
}

describe.each(MECHANISMS)('with %s', (name) => {
  const m = mechanism(name);

  it(`our ROUTER reads ${PEERS} libzmq DEALERs at once byte for byte, through the scratch`, async () => {
    const data = countDataEvents();
    const h = await ourRouter(m);
    const sent = new Map<string, Buffer[]>();
    await Promise.all(
      Array.from({ length: PEERS }, async (_, peer) => {
        const d = trackZmq(new Dealer({ linger: 0, ...m.zmqClient }));
        d.connect(h.endpoint);
        for (const message of messagesOf(peer)) {
          sent.set(message[0].toString(), message);
          await d.send(message);
        }
      }),
    );
    await until(() => h.messages.length === PEERS * SIZES.length, 20_000, 'every message');
    expectArrived(
      sent,
      h.messages.map((frames) => frames.slice(1)),
    );
    expect(data.chunks).toBe(0);
  });

  it(`our DEALERs read a libzmq ROUTER byte for byte, ${PEERS} at once, through the scratch`, async () => {
    const data = countDataEvents();
    const router = trackZmq(new Router({ linger: 0, ...m.zmqServer }));
    await router.bind('tcp://127.0.0.1:*');
    const dealers = Array.from({ length: PEERS }, (_, peer) => ourDealer(m, router.lastEndpoint as string, { routingId: `peer-${peer}` }));
    for (const d of dealers) d.dealer.send([Buffer.from('hello')]);
    const sent = new Map<string, Buffer[]>();
    for (let i = 0; i < PEERS; i++) {
      const [id] = await within(router.receive(), 5000, 'a hello');
      const peer = Number(id.toString().slice('peer-'.length));
      for (const message of messagesOf(peer)) {
        sent.set(message[0].toString(), message);
        await router.send([id, ...message]);
      }
    }
    await until(() => dealers.every((d) => d.messages.length === SIZES.length), 20_000, 'every message');
    expectArrived(
      sent,
      dealers.flatMap((d) => d.messages),
    );
    expect(data.chunks).toBe(0);
  });
});

describe('an accepted connection taken over', () => {
  /** A server that accepts paused, as our ROUTER does, and hands each connection over. */
  async function listening(onSocket: (accepted: Socket) => void): Promise<{ server: Server; port: number }> {
    const server = track(createServer({ pauseOnConnect: true }, onSocket), (s) => s.close());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { server, port: (server.address() as { port: number }).port };
  }

  it('is read from its first byte by our socket, which Node counts instead of the server', async () => {
    const received: Buffer[] = [];
    const reads = new SocketReads();
    reads.attach((chunk) => received.push(Buffer.from(chunk)));
    let ours: Socket | undefined;
    const { server, port } = await listening((accepted) => {
      ours = adoptReading(accepted, reads);
      if (ours) track(ours, (s) => s.destroy());
    });
    const sent = randomBytes(MiB);
    const client = track(
      tcpConnect(port, '127.0.0.1', () => client.write(sent)),
      (s) => s.destroy(),
    );
    // the test's end destroys both ends in turn: a reset then is no failure, and unheard would be thrown
    client.on('error', () => undefined);
    await until(() => received.reduce((n, c) => n + c.length, 0) === MiB, 5000, 'the MiB read');
    expect(ours).toBeDefined();
    expect(Buffer.concat(received).equals(sent)).toBe(true);
    expect(Math.max(...received.map((c) => c.length))).toBeLessThanOrEqual(SCRATCH_BYTES);
    const connections = await new Promise<number>((resolve, reject) => server.getConnections((e, n) => (e ? reject(e) : resolve(n))));
    expect(connections).toBe(0);
    // writes go out on the same connection
    const answer = new Promise<Buffer>((resolve) => client.once('data', resolve));
    ours?.write('pong');
    expect((await within(answer, 3000, 'the answer')).toString()).toBe('pong');
  });

  it('is not taken where there is no handle to take (another runtime): our ROUTER reads it as Node gives it', async () => {
    expect(adoptReading(new Socket(), new SocketReads())).toBeUndefined();
    jest.spyOn(socketReads, 'adoptReading').mockReturnValue(undefined);
    const data = countDataEvents();
    const h = await ourRouter(mechanism('NULL'), {}, '*', (frames, router) => router.send(frames));
    const d = trackZmq(new Dealer({ linger: 0 }));
    d.connect(h.endpoint);
    const big = randomBytes(MiB);
    await d.send([big, Buffer.from('tail')]);
    const echoed = await within(d.receive(), 5000, 'the echo');
    expect(echoed[0].equals(big)).toBe(true);
    expect(echoed[1].toString()).toBe('tail');
    expect(data.chunks).toBeGreaterThan(0);
  });
});
