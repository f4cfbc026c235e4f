import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Dealer, Router, curveKeyPair } from 'zeromq';
import { createRegistry } from '../metrics';
import { bindWhenFree } from '../endpoint';
import { createTracer } from '../trace';
import { curveClientSocketOptions, onKeyRefused } from './curve-client';
import { CurveGuard } from './curve-guard';
import { registerCurveMetrics } from './curve-metrics';
import { type CurveKeyPair, publicKeyFileText } from './keys';


describe('CurveGuard (real sockets, one process)', () => {
  const server = curveKeyPair();
  const [w1, w2] = [curveKeyPair(), curveKeyPair()];
  let dir: string;
  let guard: CurveGuard;
  const sockets = {} as Record<'frontend' | 'backend', Router>; // filled by open() before any test
  const received: Record<'frontend' | 'backend', string[]> = { frontend: [], backend: [] };
  const lines: string[] = [];
  const peers: Dealer[] = [];
  const until = async (what: string, check: () => boolean, ms = 4000) => {
    for (const end = Date.now() + ms; !check(); await new Promise((r) => setTimeout(r, 20))) if (Date.now() > end) throw new Error(`timed out waiting for ${what}; the guard said:\n${lines.join('\n')}`);
  };

  /** A peer that sends `text` once connected; `refused` counts the server's refusals of its key. */
  const peer = (socket: Router, keys: Partial<CurveKeyPair> & { serverKey?: string }, text: string) => {
    const options = keys.serverKey ? curveClientSocketOptions({ serverKey: keys.serverKey, publicKey: keys.publicKey ?? '', secretKey: keys.secretKey ?? '' }) : {};
    const d = new Dealer({ linger: 0, reconnectInterval: 50, sendTimeout: 3000, ...options });
    const state = { socket: d, refused: 0 };
    onKeyRefused(d, keys.serverKey ? { serverKey: keys.serverKey, ...(keys as CurveKeyPair) } : undefined, () => state.refused++);
    d.connect(socket.lastEndpoint as string);
    void d.send(text).catch(() => undefined);
    peers.push(d);
    return state;
  };
  const listen = async (socket: Router, into: string[]) => {
    for await (const [, body] of socket) into.push(body.toString());
  };
  /** What a server does with its sockets: watched by the guard before they bind, then served. */
  const open = (name: 'frontend' | 'backend') => {
    const socket = new Router({ linger: 0, ...guard.socketOptions(name) });
    guard.watch(name, socket);
    return (sockets[name] = socket);
  };
  const serve = (name: 'frontend' | 'backend') => void listen(sockets[name], received[name]).catch(() => undefined);
  /** The server's side of a removed key: the socket is closed and a new one serves the same endpoint. */
  const reopen = async (name: string) => {
    const side = name as 'frontend' | 'backend';
    const endpoint = sockets[side].lastEndpoint as string;
    sockets[side].close();
    await bindWhenFree(open(side), endpoint);
    serve(side);
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tsr-guard-'));
    mkdirSync(join(dir, 'workers'));
    writeFileSync(join(dir, 'workers', 'w1.pub'), publicKeyFileText(w1.publicKey, 'w1'));
    const trace = createTracer('guard', 'info', (l) => lines.push(l), (l) => lines.push(l));
    guard = new CurveGuard({ ...server, domains: { frontend: { peer: 'client' }, backend: { peer: 'worker', allowList: join(dir, 'workers') } } }, trace, (e) => lines.push(`FATAL ${e.message}`));
    open('frontend');
    open('backend');
    await guard.start(reopen);
    await sockets.frontend.bind('tcp://127.0.0.1:*');
    await sockets.backend.bind('tcp://127.0.0.1:*');
    serve('frontend');
    serve('backend');
  });

  afterAll(async () => {
    // In order, each after the one before has settled: peers still retrying their handshakes would
    // otherwise race the ZAP handler's close inside libzmq's I/O thread.
    const settle = () => new Promise((r) => setTimeout(r, 100));
    for (const p of peers) p.close();
    await settle();
    sockets.frontend.close();
    sockets.backend.close();
    await settle();
    guard.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('admits listed keys and any key that knows the server key where there is no list; refuses the rest, counted and logged', async () => {
    peer(sockets.backend, { serverKey: server.publicKey, ...w1 }, 'from w1');
    peer(sockets.frontend, { serverKey: server.publicKey, ...curveKeyPair() }, 'from a client');
    const unlisted = peer(sockets.backend, { serverKey: server.publicKey, ...w2 }, 'from w2');
    peer(sockets.backend, {}, 'plain');
    peer(sockets.frontend, { serverKey: w1.publicKey, ...curveKeyPair() }, 'wrong server key');
    await until('the two admitted messages', () => received.backend.length + received.frontend.length === 2);
    await until('the refusals', () => unlisted.refused === 1 && guard.refused['backend'].handshake >= 1 && guard.refused['frontend'].handshake >= 1);
    expect(received).toEqual({ backend: ['from w1'], frontend: ['from a client'] });
    expect(guard.refused['backend'].key).toBe(1);
    expect(guard.admitted).toEqual({ frontend: 1, backend: 1 });
    expect(lines).toContainEqual(expect.stringContaining(`refused a worker from 127.0.0.1 on backend: its key ${w2.publicKey} is not in the allow-list`));
    // Handshakes refused before ZAP are reported once libzmq has hung up: with the peer's address
    // from the kernel's table when libzmq hung up first (always for a wrong server key; a peer
    // without CURVE may hang up first itself). The unlisted key's, dropped after ZAP, may be among them.
    await until('the handshake reports', () => lines.some((l) => l.includes('on backend: it does not speak CURVE')) && lines.some((l) => l.includes('on frontend: its handshake failed')));
    expect(lines).toContainEqual(expect.stringMatching(/refused a client from (one of )?127\.0\.0\.1(:\d+| \(\d+ connections?\)).* on frontend: its handshake failed \(ERR_ZMTP_CRYPTOGRAPHIC: a wrong server key\?\)/));
    expect(lines).toContainEqual(expect.stringMatching(/refused a worker (from (one of )?127\.0\.0\.1(:\d+| \(\d+ connections?\)).*|\(at tcp:\/\/127\.0\.0\.1:\d+; address unknown: the peer hung up before the broker did\)) on backend: it does not speak CURVE/));
    const registry = createRegistry();
    registerCurveMetrics(registry, guard, 'x');
    const text = await registry.metrics();
    expect(text).toContain('x_refused_keys_total{socket="backend"} 1');
    expect(text).toContain('x_curve_admitted_total{socket="frontend"} 1');
    expect(text).toContain('x_allowed_keys{socket="backend"} 1');
    expect(text).toContain('x_allowed_keys{socket="frontend"} -1');
  });

  it('admits a key added to the list; drops the connections of a removed one, whose peer is refused when it comes back', async () => {
    received.backend.length = 0;
    const first = peer(sockets.backend, { serverKey: server.publicKey, ...w1 }, 'w1 again');
    await until('w1', () => received.backend.includes('w1 again'));
    writeFileSync(join(dir, 'workers', 'w2.pub'), publicKeyFileText(w2.publicKey, 'w2'));
    await until('the reload', () => guard.allowedCount('backend') === 2);
    const second = peer(sockets.backend, { serverKey: server.publicKey, ...w2 }, 'w2 now listed');
    await until('w2', () => received.backend.includes('w2 now listed'));
    rmSync(join(dir, 'workers', 'w1.pub'));
    await until('w1 dropped and refused on its way back', () => first.refused === 1);
    await second.socket.send('w2 after the drop'); // w2 reconnects by itself and is admitted again
    await until('w2 again', () => received.backend.includes('w2 after the drop'));
    void first.socket.send('w1 after removal').catch(() => undefined); // no connection to send it on: it times out
    await new Promise((r) => setTimeout(r, 300));
    expect(received.backend).not.toContain('w1 after removal');
    expect(lines).toContainEqual(expect.stringMatching(/allow-list of backend re-read: 1 key\(s\), 0 added, 1 removed/));
    expect(lines).toContainEqual('[guard] backend: connections dropped, allowed peers reconnect and are checked again');
  }, 20_000);

  it('re-reads on SIGHUP, and keeps the list it has when the new one is broken', async () => {
    process.emit('SIGHUP'); // (the real signal: the process suite; Jest's sandbox has its own process object)
    await until('the SIGHUP line', () => lines.some((l) => l.includes('SIGHUP: allow-list of backend re-read: 1 key(s), 0 added, 0 removed')));
    writeFileSync(join(dir, 'workers', 'broken.pub'), 'no key here\n');
    await until('the error', () => lines.some((l) => l.includes('allow-list of backend not reloaded, the previous one stays')));
    expect(guard.allowedCount('backend')).toBe(1);
    expect(lines.filter((l) => l.startsWith('FATAL'))).toEqual([]);
  });
});
