/**
 * Support for the conformance suites: our sockets and libzmq's (and pyzmq's) under NULL or CURVE,
 * relays that can fall silent, raw ZMTP peers, and one place that closes everything a test opened.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Server, type Socket as TcpSocket, connect as tcpConnect, createServer } from 'node:net';
import { type Socket as ZmqSocket, curveKeyPair } from 'zeromq';
import { type CurveKeyPair, curveKeyBytes, curveKeyPairBytes } from '../../curve-keys';
import { ZmtpDealer, type ZmtpDealerOptions } from '../../zmtp-dealer';
import { ZmtpRouter, type ZmtpRouterOptions } from '../../zmtp-router';
import { freePort } from '../../../testing';

export { freePort };

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
export const text = (frames: Buffer[]) => frames.map((f) => f.toString('latin1'));

/** Waits until `check()` holds; throws after `ms`. */
export async function until(check: () => boolean, ms = 3000, what = 'condition'): Promise<void> {
  for (const end = Date.now() + ms; !check(); await sleep(5)) if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
}

/** Resolves with `p`'s value, or rejects after `ms`. */
export function within<T>(p: Promise<T>, ms: number, what = 'a result'): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms))),
  ]).finally(() => clearTimeout(timer));
}

/**
 * The sockets' options after the rewrite (heartbeats, frame and connection limits): spelled here
 * so the suites compile against the sockets as they are and as they will be.
 */
export interface Heartbeats {
  heartbeatIntervalMs?: number;
  heartbeatTimeoutMs?: number;
  heartbeatTtlMs?: number;
}
export type RouterOptions = Partial<ZmtpRouterOptions> &
  Heartbeats & {
    maxFrames?: number;
    maxConnections?: number;
    onConnectionLimit?: (address: string, limit: number) => void;
    ipv6?: boolean;
  };
export type DealerOptions = Partial<ZmtpDealerOptions> & Heartbeats & { maxFrames?: number };

/** Everything a test opens, closed after it (sockets of every kind, servers, child processes). */
const opened: (() => void)[] = [];
export function track<T>(thing: T, close: (t: T) => void): T {
  opened.push(() => {
    try {
      close(thing);
    } catch {
      // already closed
    }
  });
  return thing;
}
export const trackZmq = <T extends ZmqSocket>(s: T): T => track(s, (x) => x.close());
export function closeAll(): void {
  for (const close of opened.splice(0).reverse()) close();
}

/** NULL or CURVE, for `describe.each`: the options of each side. */
export interface Mechanism {
  name: 'NULL' | 'CURVE';
  server: CurveKeyPair | undefined;
  client: CurveKeyPair | undefined;
  /** libzmq options of a peer that connects to a server of this mechanism. */
  zmqClient: Record<string, string>;
  /** libzmq options of a peer that binds as the server. */
  zmqServer: Record<string, string | boolean>;
  /** Our ROUTER's `curve` option (server). */
  ourServer: Pick<ZmtpRouterOptions, 'curve'>;
  /** Our DEALER's `curve` option (client). */
  ourClient: Pick<ZmtpDealerOptions, 'curve'>;
}

export function mechanism(name: 'NULL' | 'CURVE'): Mechanism {
  if (name === 'NULL') return { name, server: undefined, client: undefined, zmqClient: {}, zmqServer: {}, ourServer: {}, ourClient: {} };
  const server = curveKeyPair();
  const client = curveKeyPair();
  return {
    name,
    server,
    client,
    zmqClient: { curveServerKey: server.publicKey, curvePublicKey: client.publicKey, curveSecretKey: client.secretKey },
    zmqServer: { curveServer: true, curveSecretKey: server.secretKey, curvePublicKey: server.publicKey },
    ourServer: { curve: { keys: curveKeyPairBytes(server), admit: () => true } },
    ourClient: { curve: { role: 'client', serverKey: curveKeyBytes(server.publicKey), keys: curveKeyPairBytes(client) } },
  };
}
export const MECHANISMS = (['NULL', 'CURVE'] as const).map((name) => [name] as const);

export interface OurRouter {
  router: ZmtpRouter;
  port: number;
  endpoint: string;
  messages: Buffer[][];
  problems: { why: string; address: string; inHandshake: boolean }[];
  limits: { address: string; limit: number }[];
}

/** Our ROUTER on loopback (any port unless told), recording what it gets; answers with `answer` if given. */
export async function ourRouter(
  m: Mechanism,
  options: RouterOptions = {},
  port: number | '*' = '*',
  answer?: (frames: Buffer[], router: ZmtpRouter) => void,
): Promise<OurRouter> {
  const messages: Buffer[][] = [];
  const problems: OurRouter['problems'] = [];
  const limits: OurRouter['limits'] = [];
  const full: RouterOptions = {
    maxMessageBytes: 4 * 1024 * 1024,
    onMessage: (frames) => {
      messages.push(frames);
      answer?.(frames, router);
    },
    onProtocolError: (why, address, inHandshake) => problems.push({ why, address, inHandshake }),
    onConnectionLimit: (address, limit) => limits.push({ address, limit }),
    ...m.ourServer,
    ...options,
  };
  const router: ZmtpRouter = track(new ZmtpRouter(full as ZmtpRouterOptions), (r) => r.close());
  await router.bind(`tcp://127.0.0.1:${port}`);
  return { router, port: router.port, endpoint: `tcp://127.0.0.1:${router.port}`, messages, problems, limits };
}

export interface OurDealer {
  dealer: ZmtpDealer;
  messages: Buffer[][];
  problems: string[];
}

export function ourDealer(m: Mechanism, endpoint: string, options: DealerOptions = {}): OurDealer {
  const messages: Buffer[][] = [];
  const problems: string[] = [];
  const full: DealerOptions = {
    maxMessageBytes: 4 * 1024 * 1024,
    reconnectIntervalMs: 50,
    onMessage: (f) => messages.push(f),
    onProtocolError: (why) => problems.push(why),
    ...m.ourClient,
    ...options,
  };
  const dealer = track(new ZmtpDealer(full as ZmtpDealerOptions), (d) => d.close());
  dealer.connect(endpoint);
  return { dealer, messages, problems };
}

/** Counts a libzmq socket's monitor events by type (`disconnect`, `handshake`, `handshake:error:protocol`, …). */
export function eventCounter(socket: ZmqSocket): Map<string, number> {
  const counts = new Map<string, number>();
  const events = socket.events;
  void (async () => {
    while (!events.closed) {
      try {
        const event = await events.receive();
        counts.set(event.type, (counts.get(event.type) ?? 0) + 1);
      } catch {
        return;
      }
    }
  })();
  return counts;
}
export const count = (counts: Map<string, number>, type: string) => counts.get(type) ?? 0;

/**
 * A TCP relay between a peer and a server: both directions forwarded until told to drop one
 * (`silence('up')`: the server hears nothing more from the peer; `'down'`: the peer from the
 * server). Records when each side closed.
 */
export class Relay {
  readonly server: Server;
  port = 0;
  private readonly silenced = { up: false, down: false };
  /** Times (Date.now) at which connections to the target were closed by the target, and peers' connections by the peer. */
  readonly targetClosed: number[] = [];
  readonly peerClosed: number[] = [];
  readonly pairs: { peer: TcpSocket; target: TcpSocket }[] = [];

  constructor(private readonly targetPort: number) {
    this.server = createServer((peer) => {
      const target = tcpConnect(this.targetPort, '127.0.0.1');
      this.pairs.push({ peer, target });
      peer.on('error', () => undefined);
      target.on('error', () => undefined);
      peer.on('data', (d: Buffer) => this.silenced.up || target.write(d));
      target.on('data', (d: Buffer) => this.silenced.down || peer.write(d));
      target.on('close', () => {
        this.targetClosed.push(Date.now());
        peer.destroy();
      });
      peer.on('close', () => {
        this.peerClosed.push(Date.now());
        target.destroy();
      });
    });
    track(this, (r) => r.close());
  }

  async listen(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  get endpoint(): string {
    return `tcp://127.0.0.1:${this.port}`;
  }

  silence(direction: 'up' | 'down'): void {
    this.silenced[direction] = true;
  }

  close(): void {
    for (const { peer, target } of this.pairs) {
      peer.destroy();
      target.destroy();
    }
    this.server.close();
  }
}

/** A relay to `targetPort`, listening. */
export const relay = (targetPort: number) => new Relay(targetPort).listen();

/**
 * A raw NULL peer over TCP: our own greeting and READY (with `properties`), then whatever the test
 * writes. Records every byte the other side sends and when the connection closed.
 */
export class RawPeer {
  readonly socket: TcpSocket;
  received = Buffer.alloc(0);
  closedAt: number | undefined;
  readonly openedAt = Date.now();
  readonly closed: Promise<number>;

  constructor(port: number, opening: Buffer | undefined) {
    this.socket = tcpConnect(port, '127.0.0.1');
    this.socket.on('error', () => undefined);
    this.socket.on('data', (d: Buffer) => (this.received = Buffer.concat([this.received, d])));
    this.closed = new Promise((resolve) =>
      this.socket.once('close', () => {
        this.closedAt = Date.now();
        resolve(this.closedAt);
      }),
    );
    if (opening) this.socket.write(opening);
    track(this.socket, (s) => s.destroy());
  }

  /** A NULL peer of `type` that announces `properties` (a DEALER by default). */
  static null(port: number, properties: Record<string, Buffer | string> = { 'Socket-Type': 'DEALER' }): RawPeer {
    return new RawPeer(port, Buffer.concat([greeting(), readyCommand(properties)]));
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Frames the other side sent after its greeting (commands and message frames), parsed. */
  frames(): { command: boolean; more: boolean; body: Buffer }[] {
    const out = [];
    const b = this.received;
    for (let at = 64; at < b.length; ) {
      const flags = b[at];
      const long = (flags & 0x02) !== 0;
      if (at + (long ? 9 : 2) > b.length) break;
      const size = long ? Number(b.readBigUInt64BE(at + 1)) : b[at + 1];
      const start = at + (long ? 9 : 2);
      if (start + size > b.length) break;
      out.push({ command: (flags & 0x04) !== 0, more: (flags & 0x01) !== 0, body: b.subarray(start, start + size) });
      at = start + size;
    }
    return out;
  }
}

// --- ZMTP written by hand (RFC 23/37), independent of the codec under test ---------------------

/** One frame: flags (MORE 0x01, COMMAND 0x04; LONG added when needed) and body. */
export function frame(body: Buffer, flags = 0): Buffer {
  if (body.length <= 255) return Buffer.concat([Buffer.from([flags & ~0x02, body.length]), body]);
  const h = Buffer.alloc(9);
  h[0] = flags | 0x02;
  h.writeBigUInt64BE(BigInt(body.length), 1);
  return Buffer.concat([h, body]);
}

/** A 64-byte greeting: signature, version, mechanism, as-server. */
export function greeting(mechanism = 'NULL', asServer = false, major = 3, minor = 0): Buffer {
  const g = Buffer.alloc(64);
  g[0] = 0xff;
  g[9] = 0x7f;
  g[10] = major;
  g[11] = minor;
  g.write(mechanism, 12, 'latin1');
  g[32] = asServer ? 1 : 0;
  return g;
}

/** A command frame (READY, PING, PONG, …). */
export const commandFrame = (name: string, body: Buffer = Buffer.alloc(0)) =>
  frame(Buffer.concat([Buffer.from([name.length]), Buffer.from(name, 'latin1'), body]), 0x04);
export const command = commandFrame;

/** READY with properties (name-length, name, value-length u32 BE, value). */
export function readyCommand(properties: Record<string, Buffer | string>): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of Object.entries(properties)) {
    const v = typeof value === 'string' ? Buffer.from(value, 'latin1') : value;
    const len = Buffer.alloc(4);
    len.writeUInt32BE(v.length);
    parts.push(Buffer.from([name.length]), Buffer.from(name, 'latin1'), len, v);
  }
  return commandFrame('READY', Buffer.concat(parts));
}

/** A whole message: MORE on every frame but the last. */
export const encodeMessage = (frames: Buffer[]) => Buffer.concat(frames.map((f, i) => frame(f, i < frames.length - 1 ? 0x01 : 0)));
/** A PING: TTL in tenths of a second, and a context. */
export function ping(ttlDeciseconds: number, context: Buffer): Buffer {
  const body = Buffer.alloc(2 + context.length);
  body.writeUInt16BE(ttlDeciseconds, 0);
  context.copy(body, 2);
  return commandFrame('PING', body);
}
export const message = (frames: (string | Buffer)[]) => encodeMessage(frames.map((f) => (typeof f === 'string' ? Buffer.from(f) : f)));

/** A frame header claiming `size` bytes (long form), with `flags` (MORE by default). */
export function longHeader(size: bigint, flags = 0x01): Buffer {
  const h = Buffer.alloc(9);
  h[0] = flags | 0x02;
  h.writeBigUInt64BE(size, 1);
  return h;
}

/** Resident set size of this process, in bytes. */
export const rss = () => process.memoryUsage().rss;

// --- pyzmq -------------------------------------------------------------------------------------

const PYTHON = '/usr/bin/python3';
let pyzmq: string | undefined | null = null;
/** Why pyzmq cannot be used here, or undefined when it can. */
export function pyzmqMissing(): string | undefined {
  if (pyzmq === null) {
    const r = spawnSync(PYTHON, ['-c', 'import zmq; print(zmq.zmq_version())'], { encoding: 'utf8', timeout: 10_000 });
    pyzmq =
      r.status === 0 ? undefined : `pyzmq not importable by ${PYTHON}: ${(r.stderr || r.error?.message || '').trim().split('\n').pop()}`;
  }
  return pyzmq;
}

/** A python3 script run as a child with `args` (JSON on argv[1]); resolves with its stdout once it exits (or kills it after `timeoutMs`). */
export function runPython(
  script: string,
  args: unknown,
  timeoutMs = 10_000,
): { done: Promise<{ code: number | null; stdout: string; stderr: string }>; stdoutSoFar: () => string } {
  const dir = mkdtempSync(join(tmpdir(), 'zmtp-pyzmq-'));
  const file = join(dir, 'peer.py');
  writeFileSync(file, script);
  const child = spawn(PYTHON, [file, JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'pipe'] });
  track(child, (c) => c.exitCode === null && c.kill('SIGKILL'));
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
  return { done, stdoutSoFar: () => stdout };
}
