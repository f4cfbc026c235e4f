import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Dealer, curveKeyPair } from 'zeromq';
import { createTracer } from '../trace';
import { ZmtpRouter } from '@tsr/zmtp';
import { curveClientSocketOptions, onSocketEvents } from '@tsr/zmtp/testing';
import { CurveGuard } from './curve-guard';
import { type CurveKeyPair, publicKeyFileText } from './keys';

describe('CurveGuard (our ROUTERs, libzmq peers, one process)', () => {
  const server = curveKeyPair();
  const [w1, w2] = [curveKeyPair(), curveKeyPair()];
  let dir: string;
  let guard: CurveGuard;
  const sockets = {} as Record<'frontend' | 'backend', ZmtpRouter>; // filled in beforeAll
  const received: Record<'frontend' | 'backend', string[]> = { frontend: [], backend: [] };
  const lines: string[] = [];
  const peers: Dealer[] = [];
  const until = async (what: string, check: () => boolean, ms = 4000) => {
    for (const end = Date.now() + ms; !check(); await new Promise((r) => setTimeout(r, 20)))
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}; the guard said:\n${lines.join('\n')}`);
  };

  /** A peer that sends `text` once connected; `refused` counts the server's refusals of its key. */
  const peer = (socket: ZmtpRouter, keys: Partial<CurveKeyPair> & { serverKey?: string }, text: string) => {
    const options = keys.serverKey
      ? curveClientSocketOptions({ serverKey: keys.serverKey, publicKey: keys.publicKey ?? '', secretKey: keys.secretKey ?? '' })
      : {};
    const d = new Dealer({ linger: 0, reconnectInterval: 50, sendTimeout: 3000, ...options });
    const state = { socket: d, refused: 0 };
    onSocketEvents(d, (e) => e.type === 'handshake:error:auth' && state.refused++);
    d.connect(`tcp://127.0.0.1:${socket.port}`);
    void d.send(text).catch(() => undefined);
    peers.push(d);
    return state;
  };
  /** What the broker does: a ROUTER per side with the guard's CURVE role, refused handshakes reported to it. */
  const open = (name: 'frontend' | 'backend') =>
    (sockets[name] = new ZmtpRouter({
      maxMessageBytes: 1024,
      curve: guard.serverRole(name),
      onMessage: ([, body]) => received[name].push(body.toString()),
      onProtocolError: (why, address, inHandshake) => inHandshake && guard.handshakeFailed(name, why, address),
    }));
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tsr-guard-'));
    mkdirSync(join(dir, 'workers'));
    writeFileSync(join(dir, 'workers', 'w1.pub'), publicKeyFileText(w1.publicKey, 'w1'));
    const trace = createTracer(
      'guard',
      'info',
      (l) => lines.push(l),
      (l) => lines.push(l),
    );
    guard = new CurveGuard(
      { ...server, domains: { frontend: { peer: 'client' }, backend: { peer: 'worker', allowList: join(dir, 'workers') } } },
      trace,
    );
    open('frontend');
    open('backend');
    await guard.start((name, admitted) => sockets[name as 'frontend' | 'backend'].dropPeers(admitted));
    await sockets.frontend.bind('tcp://127.0.0.1:*');
    await sockets.backend.bind('tcp://127.0.0.1:*');
  });

  afterAll(async () => {
    for (const p of peers) p.close();
    sockets.frontend.close();
    sockets.backend.close();
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
    await until(
      'the refusals',
      () => unlisted.refused === 1 && guard.refused['backend'].handshake >= 1 && guard.refused['frontend'].handshake >= 1,
    );
    expect(received).toEqual({ backend: ['from w1'], frontend: ['from a client'] });
    expect(guard.refused['backend'].key).toBe(1);
    expect(guard.admitted).toEqual({ frontend: 1, backend: 1 });
    expect(lines).toContainEqual(
      expect.stringMatching(
        new RegExp(
          `refused a worker from 127\\.0\\.0\\.1:\\d+ on backend: its key ${w2.publicKey.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not in the allow-list`,
        ),
      ),
    );
    // Every refusal in the handshake has the peer's address: a peer without CURVE (its greeting,
    // or its reset), and one with another server key.
    await until(
      'the handshake reports',
      () =>
        lines.some((l) => /on backend: (security mechanism NULL|hung up)/.test(l)) &&
        lines.some((l) => l.includes('on frontend: HELLO does not open')),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(/refused a client from 127\.0\.0\.1:\d+ on frontend: HELLO does not open: the client has another server key/),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(
        /refused a worker from 127\.0\.0\.1:\d+ on backend: (security mechanism NULL is not offered here \(CURVE\)|hung up (during the CURVE handshake|before its greeting was read))/,
      ),
    );
    expect(guard.allowedCount('backend')).toBe(1);
    expect(guard.allowedCount('frontend')).toBe(-1);
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
    // w1's connections, from this test and the one before; w2's stays.
    expect(lines).toContainEqual('[guard] backend: 2 connection(s) of removed keys dropped');
  }, 20_000);

  it('re-reads on SIGHUP, and keeps the list it has when the new one is broken', async () => {
    process.emit('SIGHUP'); // (the real signal: the process suite; Jest's sandbox has its own process object)
    await until('the SIGHUP line', () =>
      lines.some((l) => l.includes('SIGHUP: allow-list of backend re-read: 1 key(s), 0 added, 0 removed')),
    );
    writeFileSync(join(dir, 'workers', 'broken.pub'), 'no key here\n');
    await until('the error', () => lines.some((l) => l.includes('allow-list of backend not reloaded, the previous one stays')));
    expect(guard.allowedCount('backend')).toBe(1);
    expect(lines.filter((l) => l.startsWith('FATAL'))).toEqual([]);
  });
});
