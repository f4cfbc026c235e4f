import {
  MECHANISMS,
  closeAll,
  freePort,
  mechanism,
  ourDealer,
  ourRouter,
  pyzmqMissing,
  runPython,
  text,
  until,
  within,
} from './__fixtures__/harness';

/**
 * A second, independent binding as the peer: Debian's pyzmq for /usr/bin/python3, in a child
 * process. Skipped (with the reason printed) where it cannot be imported.
 */

jest.setTimeout(20_000);
afterEach(closeAll);

const REQ_CLIENT = `
import json, sys, zmq
a = json.loads(sys.argv[1])
ctx = zmq.Context()
s = ctx.socket(zmq.REQ)
s.linger = 0
s.rcvtimeo = 5000
if a['heartbeats']:
    s.setsockopt(zmq.HEARTBEAT_IVL, 100)
    s.setsockopt(zmq.HEARTBEAT_TIMEOUT, 300)
if a['curve']:
    s.curve_serverkey = a['curve']['serverKey'].encode()
    s.curve_publickey = a['curve']['publicKey'].encode()
    s.curve_secretkey = a['curve']['secretKey'].encode()
s.connect(a['endpoint'])
for i in range(a['n']):
    s.send(('q%d' % i).encode())
    print(json.dumps([f.decode('latin1') for f in s.recv_multipart()]), flush=True)
`;

const ROUTER_SERVER = `
import json, sys, zmq
a = json.loads(sys.argv[1])
ctx = zmq.Context()
s = ctx.socket(zmq.ROUTER)
s.linger = 2000
s.rcvtimeo = 8000
if a['curve']:
    s.curve_server = True
    s.curve_publickey = a['curve']['publicKey'].encode()
    s.curve_secretkey = a['curve']['secretKey'].encode()
s.bind('tcp://127.0.0.1:%d' % a['port'])
print('bound', flush=True)
for i in range(a['n']):
    frames = s.recv_multipart()
    print(json.dumps([f.decode('latin1') for f in frames]), flush=True)
    s.send_multipart(frames + [b'reply'])
s.close()
ctx.term()
`;

const missing = pyzmqMissing();
if (missing) console.log(`pyzmq suite skipped: ${missing}`);
const maybe = missing ? describe.skip : describe;

maybe.each(MECHANISMS)('pyzmq peers, %s', (name) => {
  const m = mechanism(name);

  it.each([[false], [true]])(
    'a pyzmq REQ (heartbeats 100/300: %s) gets its replies from our ROUTER, delayed 700 ms when heartbeats are on',
    async (heartbeats) => {
      const reply = (frames: Buffer[], router: { send(f: Buffer[]): void }) => router.send([...frames, Buffer.from('reply')]);
      const h = await ourRouter(m, {}, '*', (frames, router) =>
        heartbeats ? setTimeout(() => reply(frames, router), 700) : reply(frames, router),
      );
      const curve =
        m.server && m.client ? { serverKey: m.server.publicKey, publicKey: m.client.publicKey, secretKey: m.client.secretKey } : null;
      const { done } = runPython(REQ_CLIENT, { endpoint: h.endpoint, curve, n: 5, heartbeats });
      const { code, stdout, stderr } = await within(done, 15_000, 'the pyzmq client');
      expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
      expect(
        stdout
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l)),
      ).toEqual([0, 1, 2, 3, 4].map((i) => [`q${i}`, 'reply']));
      expect(h.problems).toEqual([]);
    },
  );

  it('our DEALER, under its routingId, gets replies from a pyzmq ROUTER', async () => {
    const port = await freePort();
    const curve = m.server ? { publicKey: m.server.publicKey, secretKey: m.server.secretKey } : null;
    const py = runPython(ROUTER_SERVER, { port, curve, n: 5 });
    await until(() => py.stdoutSoFar().includes('bound'), 10_000, 'pyzmq to bind');
    const d = ourDealer(m, `tcp://127.0.0.1:${port}`, { routingId: 'from-ts' });
    for (let i = 0; i < 5; i++) d.dealer.send([Buffer.from(''), Buffer.from(`q${i}`)]);
    await until(() => d.messages.length === 5, 10_000, 'five replies');
    expect(d.messages.map(text)).toEqual([0, 1, 2, 3, 4].map((i) => ['', `q${i}`, 'reply']));
    const { code, stdout } = await within(py.done, 10_000, 'pyzmq to exit');
    expect(code).toBe(0);
    expect(JSON.parse(stdout.trim().split('\n')[1])).toEqual(['from-ts', '', 'q0']);
  });
});
