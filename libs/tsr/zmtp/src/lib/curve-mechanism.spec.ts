import { type AddressInfo, type Socket, connect, createServer } from 'node:net';
import fc from 'fast-check';
import * as zmq from 'zeromq';
import { z85Decode, z85Encode } from './z85';
import sodium from 'libsodium-wrappers-sumo';
import { CurveClient, type CurveCommand, CurveServer, type CurveSession, curveReady } from './curve-mechanism';
import {
  BOXED_COMMAND,
  BOXED_MORE,
  FrameReader,
  GREETING_BYTES,
  commandFrame,
  encodeMessage,
  greeting,
  parseCommand,
  parseProperties,
} from './zmtp-codec';

/** One end of a raw ZMTP connection: greeting, then frames and commands as they arrive. */
class Wire {
  private readonly arrived: { kind: 'frame' | 'command'; body: Buffer; more: boolean }[] = [];
  private waiter: (() => void) | undefined;
  private pending = Buffer.alloc(0);
  peerGreeting: Buffer | undefined;
  private readonly reader = new FrameReader(1 << 20, {
    frame: (body, more) => this.push({ kind: 'frame', body, more }),
    command: (body) => this.push({ kind: 'command', body, more: false }),
    problem: (why) => {
      throw new Error(why);
    },
  });

  constructor(readonly socket: Socket) {
    // libzmq closes with linger 0 when a test ends, which may reset the connection: not an error of
    // the test, and unheard it would be thrown in whatever test file runs next.
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      if (!this.peerGreeting) {
        this.pending = Buffer.concat([this.pending, chunk]);
        if (this.pending.length < GREETING_BYTES) return;
        this.peerGreeting = this.pending.subarray(0, GREETING_BYTES);
        chunk = this.pending.subarray(GREETING_BYTES);
        this.waiter?.();
      }
      this.reader.push(chunk);
    });
  }

  private push(item: { kind: 'frame' | 'command'; body: Buffer; more: boolean }): void {
    this.arrived.push(item);
    this.waiter?.();
  }

  async greeting(): Promise<Buffer> {
    while (!this.peerGreeting) await new Promise<void>((r) => (this.waiter = r));
    return this.peerGreeting;
  }

  async next(): Promise<{ kind: 'frame' | 'command'; body: Buffer; more: boolean }> {
    while (this.arrived.length === 0) await new Promise<void>((r) => (this.waiter = r));
    return this.arrived.shift() as { kind: 'frame' | 'command'; body: Buffer; more: boolean };
  }

  async command(name: string): Promise<Buffer> {
    const item = await this.next();
    const command = item.kind === 'command' ? parseCommand(item.body) : undefined;
    if (command?.name !== name)
      throw new Error(`expected ${name}, got ${item.kind} ${command?.name ?? item.body.toString('latin1', 0, 16)}`);
    return command.body;
  }

  send(command: CurveCommand): void {
    this.socket.write(commandFrame(command.name, command.body));
  }
}

const metadata = (properties: Record<string, string>): Buffer =>
  Buffer.concat(
    Object.entries(properties).map(([name, value]) => {
      const head = Buffer.alloc(1 + name.length + 4);
      head[0] = name.length;
      head.write(name, 1, 'latin1');
      head.writeUInt32BE(value.length, 1 + name.length);
      return Buffer.concat([head, Buffer.from(value, 'latin1')]);
    }),
  );
const pair = () => {
  const p = sodium.crypto_box_keypair();
  return { publicKey: Buffer.from(p.publicKey), secretKey: Buffer.from(p.privateKey) };
};
const z85 = (b: Uint8Array) => z85Encode(b);

/** Our client, over a raw TCP connection (ZMTP 3.1 greeting), through the CURVE handshake with a libzmq ROUTER. */
async function ourClientTo(
  router: zmq.Router,
  server: { publicKey: Buffer },
  closing: (() => void)[],
): Promise<{ socket: Socket; wire: Wire; session: CurveSession; closed: Promise<void> }> {
  await router.bind('tcp://127.0.0.1:0');
  const port = Number((router.lastEndpoint as string).split(':').pop());
  const socket = connect(port, '127.0.0.1');
  closing.push(() => socket.destroy());
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  const wire = new Wire(socket);
  const g = greeting('CURVE', false);
  g[11] = 1; // ZMTP 3.1: PING and PONG
  socket.write(g);
  await wire.greeting();
  const curve = new CurveClient(server.publicKey, pair());
  wire.send(curve.hello());
  const initiate = curve.initiate(await wire.command('WELCOME'), metadata({ 'Socket-Type': 'DEALER' }));
  if (typeof initiate === 'string') throw new Error(initiate);
  wire.send(initiate);
  const ready = curve.ready(await wire.command('READY'));
  if (typeof ready === 'string') throw new Error(ready);
  return { socket, wire, session: ready.session, closed };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('CURVE mechanism, against libzmq', () => {
  beforeAll(() => curveReady);
  const closing: (() => void)[] = [];
  afterEach(() => closing.splice(0).forEach((close) => close()));

  it('our client completes the handshake with a libzmq ROUTER and exchanges messages both ways, encrypted', async () => {
    const server = pair();
    const client = pair();
    const router = new zmq.Router({ curveServer: true, curveSecretKey: z85(server.secretKey), linger: 0 });
    closing.push(() => router.close());
    await router.bind('tcp://127.0.0.1:0');
    const port = Number((router.lastEndpoint as string).split(':').pop());
    const socket = connect(port, '127.0.0.1');
    closing.push(() => socket.destroy());
    const wire = new Wire(socket);
    socket.write(greeting('CURVE', false));
    const g = await wire.greeting();
    expect(g.toString('latin1', 12, 17)).toBe('CURVE');

    const curve = new CurveClient(server.publicKey, client);
    wire.send(curve.hello());
    const initiate = curve.initiate(await wire.command('WELCOME'), metadata({ 'Socket-Type': 'DEALER', Identity: 'our client' }));
    if (typeof initiate === 'string') throw new Error(initiate);
    wire.send(initiate);
    const ready = curve.ready(await wire.command('READY'));
    if (typeof ready === 'string') throw new Error(ready);
    expect((parseProperties(ready.metadata) as Map<string, Buffer>).get('socket-type')).toEqual(Buffer.from('ROUTER'));
    const session: CurveSession = ready.session;

    socket.write(encodeMessage([session.seal(Buffer.from('secret question'), 0)]));
    const [identity, question] = await router.receive();
    expect(identity.toString()).toBe('our client');
    expect(question.toString()).toBe('secret question');

    await router.send([identity, 'first', 'second']);
    const parts: string[] = [];
    for (let more = true; more; ) {
      const item = await wire.next();
      expect(item.kind).toBe('frame');
      const opened = session.open(item.body);
      if (typeof opened === 'string') throw new Error(opened);
      parts.push(opened.frame.toString());
      more = opened.more;
    }
    expect(parts).toEqual(['first', 'second']);
  });

  it('our server admits a libzmq DEALER that knows its key, learns its long-term key, and exchanges messages', async () => {
    const server = pair();
    const client = pair();
    const accepted = new Promise<Socket>((resolve) => {
      const listener = createServer(resolve);
      closing.push(() => listener.close());
      listener.listen(0, '127.0.0.1', () => {
        const dealer = new zmq.Dealer({
          curveServerKey: z85(server.publicKey),
          curvePublicKey: z85(client.publicKey),
          curveSecretKey: z85(client.secretKey),
          routingId: 'their dealer',
          linger: 0,
        });
        closing.push(() => dealer.close());
        dealer.connect(`tcp://127.0.0.1:${(listener.address() as AddressInfo).port}`);
        void dealer.send('over CURVE');
        (accepted as unknown as { dealer: zmq.Dealer }).dealer = dealer;
      });
    });
    const socket = await accepted;
    const dealer = (accepted as unknown as { dealer: zmq.Dealer }).dealer;
    const wire = new Wire(socket);
    socket.write(greeting('CURVE', true));
    const g = await wire.greeting();
    expect(g.toString('latin1', 12, 17)).toBe('CURVE');

    const curve = new CurveServer(server);
    const welcome = curve.welcome(await wire.command('HELLO'));
    if (typeof welcome === 'string') throw new Error(welcome);
    wire.send(welcome);
    const initiate = curve.initiate(await wire.command('INITIATE'));
    if (typeof initiate === 'string') throw new Error(initiate);
    expect(initiate.clientKey).toEqual(client.publicKey);
    expect(parseProperties(initiate.metadata)).toEqual(
      new Map([
        ['socket-type', Buffer.from('DEALER')],
        ['identity', Buffer.from('their dealer')],
      ]),
    );
    const { command, session } = curve.ready(metadata({ 'Socket-Type': 'ROUTER' }));
    wire.send(command);

    // libzmq sends each MESSAGE as a data frame, and takes ours only as one.
    const item = await wire.next();
    expect(item.kind).toBe('frame');
    const message = session.open(item.body);
    expect(message).toEqual({ frame: Buffer.from('over CURVE'), more: false, command: false });
    socket.write(encodeMessage([session.seal(Buffer.from('answer'), 0)]));
    const [answer] = await dealer.receive();
    expect(answer.toString()).toBe('answer');
  });

  it('refuses a HELLO made for another server key, and a replayed MESSAGE', () => {
    const server = pair();
    const stranger = new CurveClient(pair().publicKey, pair());
    expect(new CurveServer(server).welcome(stranger.hello().body)).toMatch(/another server key/);

    const client = new CurveClient(server.publicKey, pair());
    const ours = new CurveServer(server);
    const welcome = ours.welcome(client.hello().body) as CurveCommand;
    const initiate = client.initiate(welcome.body, Buffer.alloc(0)) as CurveCommand;
    expect(ours.initiate(initiate.body)).toMatchObject({ metadata: Buffer.alloc(0) });
    const { command, session: serverSide } = ours.ready(Buffer.alloc(0));
    const { session: clientSide } = client.ready(command.body) as { session: CurveSession };
    const sealed = clientSide.seal(Buffer.from('once'), 0);
    expect(serverSide.open(sealed)).toEqual({ frame: Buffer.from('once'), more: false, command: false });
    expect(serverSide.open(sealed)).toMatch(/did not grow/);
    const tampered = Buffer.from(clientSide.seal(Buffer.from('twice'), 0));
    tampered[tampered.length - 1] ^= 1;
    expect(serverSide.open(tampered)).toMatch(/does not open/);
  });

  it('refuses a HELLO of another version than 1.0, or with padding that is not zero, and still takes the same HELLO made right', () => {
    const server = pair();
    const hello = new CurveClient(server.publicKey, pair()).hello().body;
    const changed = (at: number, value: number): Buffer => {
      const copy = Buffer.from(hello);
      copy[at] = value;
      return copy;
    };
    for (const [major, minor] of [
      [1, 7],
      [2, 0],
      [0, 1],
    ]) {
      const crafted = Buffer.from(hello);
      crafted[0] = major;
      crafted[1] = minor;
      expect(new CurveServer(server).welcome(crafted)).toBe(`CURVE version ${major}.${minor} is not supported (1.0)`);
    }
    for (const at of [2, 40, 2 + 71]) expect(new CurveServer(server).welcome(changed(at, 1))).toBe('HELLO padding is not zero');
    expect(new CurveServer(server).welcome(changed(2 + 72, hello[2 + 72]))).toMatchObject({ name: 'WELCOME' });
  });

  it('makes no key pair for a connection before a HELLO that holds (server) or before HELLO (client)', () => {
    const server = pair();
    const keypair = jest.spyOn(sodium, 'crypto_box_keypair');
    try {
      const servers = Array.from({ length: 1000 }, () => new CurveServer(server));
      expect(keypair).not.toHaveBeenCalled();
      const client = new CurveClient(server.publicKey, pair());
      keypair.mockClear();
      new CurveClient(server.publicKey, pair());
      expect(keypair).toHaveBeenCalledTimes(1); // the test's own pair() only
      const stranger = new CurveClient(pair().publicKey, pair()).hello().body;
      const version2 = Buffer.from(stranger);
      version2[0] = 2;
      keypair.mockClear();
      expect(servers[0].welcome(version2)).toMatch(/version/);
      expect(servers[1].welcome(stranger)).toMatch(/another server key/);
      expect(servers[2].initiate(Buffer.alloc(400))).toMatch(/before HELLO/);
      expect(keypair).not.toHaveBeenCalled();
      const hello = client.hello();
      expect(keypair).toHaveBeenCalledTimes(1);
      expect(servers[2].welcome(hello.body)).toMatchObject({ name: 'WELCOME' });
      expect(keypair).toHaveBeenCalledTimes(2);
    } finally {
      keypair.mockRestore();
    }
  });

  it('refuses an INITIATE whose cookie another connection made, or that comes before HELLO', () => {
    const server = pair();
    const first = new CurveServer(server);
    const second = new CurveServer(server);
    const client = new CurveClient(server.publicKey, pair());
    const welcome = first.welcome(client.hello().body) as CurveCommand;
    const initiate = client.initiate(welcome.body, Buffer.alloc(0)) as CurveCommand;
    expect(second.initiate(initiate.body)).toMatch(/before HELLO/);
    second.welcome(new CurveClient(server.publicKey, pair()).hello().body);
    expect(second.initiate(initiate.body)).toMatch(/cookie/);
  });

  it('refuses a vouch made with another long-term key than the one INITIATE names', () => {
    const server = pair();
    const ours = new CurveServer(server);
    // A client that claims a key whose secret it lacks: its vouch is boxed with another secret.
    const liar = new CurveClient(server.publicKey, { publicKey: pair().publicKey, secretKey: pair().secretKey });
    const welcome = ours.welcome(liar.hello().body) as CurveCommand;
    const initiate = liar.initiate(welcome.body, Buffer.alloc(0)) as CurveCommand;
    expect(ours.initiate(initiate.body)).toMatch(/vouch/);
  });

  it('refuses a second HELLO or INITIATE on one connection', () => {
    const server = pair();
    const ours = new CurveServer(server);
    const client = new CurveClient(server.publicKey, pair());
    const hello = client.hello();
    const welcome = ours.welcome(hello.body) as CurveCommand;
    expect(ours.welcome(hello.body)).toMatch(/second HELLO/);
    const initiate = client.initiate(welcome.body, Buffer.alloc(0)) as CurveCommand;
    expect(ours.initiate(initiate.body)).toMatchObject({ metadata: Buffer.alloc(0) });
    expect(ours.initiate(initiate.body)).toMatch(/second INITIATE/);
  });

  it('opens the PINGs a libzmq peer boxes as commands, and libzmq takes our boxed PING and PONG as commands', async () => {
    const server = pair();
    const router = new zmq.Router({
      curveServer: true,
      curveSecretKey: z85(server.secretKey),
      heartbeatInterval: 100,
      heartbeatTimeout: 300,
      linger: 0,
    });
    closing.push(() => router.close());
    const { socket, wire, session, closed } = await ourClientTo(router, server, closing);
    let gone = false;
    void closed.then(() => (gone = true));
    let delivered = 0;
    void (async () => {
      for (;;) {
        await router.receive();
        delivered++;
      }
    })().catch(() => undefined);

    // libzmq's PING: a MESSAGE whose box has the COMMAND flag, '\x04PING', a 2-byte TTL and no context.
    const first = await wire.next();
    expect(first.kind).toBe('frame');
    const ping = session.open(first.body);
    if (typeof ping === 'string') throw new Error(ping);
    expect(ping.command).toBe(true);
    expect(ping.more).toBe(false);
    expect(ping.frame.toString('latin1', 0, 5)).toBe('\x04PING');

    // Our PING, boxed with the COMMAND flag: libzmq answers with a PONG carrying our context.
    socket.write(encodeMessage([session.seal(Buffer.from('\x04PING\x00\x00our context', 'latin1'), BOXED_COMMAND)]));
    for (;;) {
      const opened = session.open((await wire.next()).body);
      if (typeof opened === 'string') throw new Error(opened);
      expect(opened.command).toBe(true);
      if (opened.frame.toString('latin1', 0, 5) === '\x04PING') continue;
      expect(opened.frame.toString('latin1')).toBe('\x04PONGour context');
      break;
    }

    // Answering each PING with a boxed PONG that echoes its context keeps the connection past 1 s...
    let answering = true;
    void (async () => {
      while (answering && !gone) {
        const item = await wire.next();
        const opened = session.open(item.body);
        if (typeof opened === 'string' || !opened.command || opened.frame.toString('latin1', 0, 5) !== '\x04PING') continue;
        socket.write(
          encodeMessage([session.seal(Buffer.concat([Buffer.from('\x04PONG', 'latin1'), opened.frame.subarray(7)]), BOXED_COMMAND)]),
        );
      }
    })().catch(() => undefined);
    await sleep(1200);
    expect(gone).toBe(false);
    // ...and none of our commands reached the ROUTER's application as a message.
    expect(delivered).toBe(0);

    // ...while silence lets libzmq's heartbeat timeout (300 ms) drop it.
    answering = false;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([closed, new Promise((resolve) => (timer = setTimeout(resolve, 2000)))]);
    clearTimeout(timer);
    expect(gone).toBe(true);
  });

  /** Both ends of a session after a handshake between our own client and server. */
  function sessions(): { clientSide: CurveSession; serverSide: CurveSession } {
    const server = pair();
    const client = new CurveClient(server.publicKey, pair());
    const ours = new CurveServer(server);
    const welcome = ours.welcome(client.hello().body) as CurveCommand;
    ours.initiate((client.initiate(welcome.body, Buffer.alloc(0)) as CurveCommand).body);
    const { command, session: serverSide } = ours.ready(Buffer.alloc(0));
    const { session: clientSide } = client.ready(command.body) as { session: CurveSession };
    return { clientSide, serverSide };
  }

  it('seals and opens frames with either flag, or both', () => {
    const { clientSide, serverSide } = sessions();
    for (const flags of [0, BOXED_MORE, BOXED_COMMAND, BOXED_MORE | BOXED_COMMAND]) {
      const frame = Buffer.from(`\x04PING\x00\x01flags ${flags}`, 'latin1');
      expect(serverSide.open(clientSide.seal(frame, flags))).toEqual({
        frame,
        more: (flags & BOXED_MORE) !== 0,
        command: (flags & BOXED_COMMAND) !== 0,
      });
      expect(clientSide.open(serverSide.seal(frame, flags))).toEqual({
        frame,
        more: (flags & BOXED_MORE) !== 0,
        command: (flags & BOXED_COMMAND) !== 0,
      });
    }
  });

  it('passes frames on as a broker does: opened from one peer, boxed for others (twice, as a retry), they arrive whole with their flags', () => {
    const sizes = [0, 100, 16 * 1024 - 1, 16 * 1024, 16 * 1024 + 1, 65_536, 200_000, 1 << 20];
    fc.assert(
      fc.property(
        fc.constantFrom(...sizes),
        fc.nat(255),
        fc.constantFrom(0, BOXED_MORE),
        fc.constantFrom(0, BOXED_MORE),
        (size, seed, sent, passed) => {
          const fromClient = sessions();
          const toWorker = sessions();
          const toOtherWorker = sessions();
          const frame = Buffer.alloc(size);
          for (let i = 0; i < size; i++) frame[i] = (seed + i * 7) & 0xff;
          const opened = fromClient.serverSide.open(fromClient.clientSide.seal(frame, sent));
          if (typeof opened === 'string') throw new Error(opened);
          expect(opened.more).toBe(sent === BOXED_MORE);
          for (const hop of [toWorker, toOtherWorker]) {
            const arrived = hop.clientSide.open(hop.serverSide.seal(opened.frame, passed));
            if (typeof arrived === 'string') throw new Error(arrived);
            // Buffer.equals: Jest's deep equality walks a MiB byte by byte, for seconds
            expect({ ...arrived, frame: arrived.frame.equals(frame) }).toEqual({
              frame: true,
              more: passed === BOXED_MORE,
              command: false,
            });
            expect(opened.frame.equals(frame)).toBe(true);
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it("opens a MESSAGE larger than the scratch area without allocating in libsodium's memory", () => {
    const { clientSide, serverSide } = sessions();
    const frame = Buffer.alloc(200_000, 1);
    const sealed = clientSide.seal(frame, 0);
    const raw = (sodium as unknown as { libsodium: { _malloc(bytes: number): number } }).libsodium;
    const malloc = jest.spyOn(raw, '_malloc').mockReturnValue(0); // as past 2 GiB: large boxes go through the scratch area in chunks
    try {
      expect(serverSide.open(sealed)).toEqual({ frame, more: false, command: false });
      expect(malloc).not.toHaveBeenCalled();
    } finally {
      malloc.mockRestore();
    }
  });

  it('z85 keys round-trip', () => {
    const key = pair().publicKey;
    expect(z85Decode(z85(key))).toEqual(key);
  });
});
