import { Reply, type Socket } from 'zeromq';
import { receiveLoop } from '../receive-loop';
import type { Tracer } from '../trace';
import { AllowListWatcher, readAllowList } from './allow-list';
import { ClosedPeers, describePeers, kernelTablesExist } from './closed-peers';
import { onSocketEvents } from './curve-client';
import { z85Encode } from './z85';

/** One CURVE server socket's rule: who may connect to it. */
export interface CurveDomain {
  /** What connects there, for the logs: `worker`, `client`. */
  peer: string;
  /** File or folder of the public keys admitted; none: any peer that knows the server's public key. */
  allowList?: string;
}

export interface CurveServerSettings {
  /** The server's own key pair (its public key is what peers are given). */
  secretKey: string;
  publicKey: string;
  /** By socket name (`frontend`, `backend`): the ZAP domain of that socket. */
  domains: Record<string, CurveDomain>;
}

/** Why a connection was refused: its key is not allowed (ZAP), or the CURVE handshake failed (no CURVE, wrong server key). */
export type Refusal = 'key' | 'handshake';

/** Where libzmq looks for the ZAP handler of every socket in this process (RFC 27). */
const ZAP_ENDPOINT = 'inproc://zeromq.zap.01';
const REPORT_EVERY_MS = 5000;
/** A failed handshake is reported once libzmq has hung up on its peer; the kernel's table is read at most this often per socket. */
const HANGUP_SETTLE_MS = 50;
const LOOK_EVERY_MS = 1000;

interface Guarded {
  /** The socket of this domain now (a new one after each `reopen`). */
  socket?: Socket;
  allowed: ReadonlySet<string> | undefined;
  watcher?: AllowListWatcher;
  /** Who the socket hung up on, from the kernel's table (known once the socket is bound to a TCP port). */
  closed?: ClosedPeers;
  /** Failed handshakes counted, not yet reported: the reasons, the endpoint. */
  unreported: { reason: string; endpoint: string }[];
  reportTimer?: NodeJS.Timeout;
  /** When (Date.now) the kernel's table was last read, or the socket bound: hang-ups before it are not news. */
  lookedAt: number;
}

/**
 * CURVE on a server's sockets: their options (`socketOptions`), the ZAP handler that admits or
 * refuses each connecting key, allow-lists re-read when they change or on SIGHUP, and the count
 * and log of every refusal. A key removed from a list is refused at once also on connections it
 * already has: its owner replaces the socket (`reopen`), which drops every connection on it, and
 * the peers that are still allowed reconnect by themselves (libzmq retries every 100 ms) and are
 * checked again. Not an unbind and a bind of the same socket: zeromq runs those on a worker
 * thread while the socket's own poller may touch it on the main thread, and libzmq sockets are
 * not thread-safe (that aborted the process now and then).
 *
 * Refused peers never reach the socket: libzmq drops them in its I/O thread, before any message.
 */
export class CurveGuard {
  readonly refused: Record<string, Record<Refusal, number>> = {};
  readonly admitted: Record<string, number> = {};
  private readonly guarded = new Map<string, Guarded>();
  private readonly zap = new Reply({ linger: 0 });
  private readonly lastReport = new Map<string, number>();
  private reloading: Promise<void> = Promise.resolve();
  private reopen: (name: string) => Promise<void> = async () => undefined;
  private readonly onHangup = () => this.reload('SIGHUP');

  constructor(
    readonly settings: CurveServerSettings,
    private readonly trace: Tracer,
    /** The ZAP handler died or a socket could not be bound again: no connection can be checked any more. */
    private readonly onFatal: (error: Error) => void,
  ) {
    for (const name of Object.keys(settings.domains)) {
      this.refused[name] = { key: 0, handshake: 0 };
      this.admitted[name] = 0;
      this.guarded.set(name, { allowed: undefined, unreported: [], lookedAt: Date.now() });
    }
  }

  /**
   * Options of the socket named `name`. `zapEnforceDomain`: should the ZAP handler be gone, every
   * connection is refused rather than every one admitted.
   */
  socketOptions(name: string) {
    return { curveServer: true, curveSecretKey: this.settings.secretKey, zapDomain: name, zapEnforceDomain: true };
  }

  /** Takes `socket` as the socket of domain `name`: its refused handshakes are counted and reported. Call for every socket made, before it binds. */
  watch(name: string, socket: Socket): void {
    const guarded = this.guarded.get(name);
    if (!guarded) throw new Error(`no CURVE domain ${name}`);
    if (guarded.socket) guarded.lookedAt = Date.now(); // a replacement: the connections the old one dropped are not refusals
    guarded.socket = socket;
    guarded.closed = undefined;
    this.observeHandshakes(name, guarded, socket);
  }

  /**
   * Reads the allow-lists (a bad one throws: the program exits 2) and answers ZAP; call before the
   * sockets bind. `reopen(name)` must close that socket and put a new one in its place (watched,
   * bound to the same endpoint, served): the one way to drop the connections of a removed key.
   */
  async start(reopen: (name: string) => Promise<void>): Promise<void> {
    this.reopen = reopen;
    for (const [name, domain] of Object.entries(this.settings.domains)) {
      const guarded = this.guarded.get(name) as Guarded;
      guarded.allowed = domain.allowList === undefined ? undefined : readAllowList(domain.allowList);
      if (domain.allowList !== undefined) {
        guarded.watcher = new AllowListWatcher(domain.allowList, () => this.reload(`${domain.allowList} changed`));
        guarded.watcher.rearm();
      }
      this.trace.info(`CURVE on ${name}: ${guarded.allowed ? `${guarded.allowed.size} ${domain.peer} key(s) allowed (${domain.allowList})` : `any ${domain.peer} that knows the server's public key`}`);
    }
    await this.zap.bind(ZAP_ENDPOINT);
    void receiveLoop('ZAP handler', this.zap, (request) => this.answer(request), this.onFatal);
    process.on('SIGHUP', this.onHangup);
  }

  /** Re-reads every allow-list; one that cannot be read is kept as it was (and said so). */
  reload(why: string): Promise<void> {
    this.reloading = this.reloading.then(async () => {
      for (const [name, guarded] of this.guarded) {
        const path = this.settings.domains[name].allowList;
        if (path === undefined || !guarded.allowed) continue;
        guarded.watcher?.rearm();
        let next: Set<string>;
        try {
          next = readAllowList(path);
        } catch (e) {
          this.trace.error(`${why}: allow-list of ${name} not reloaded, the previous one stays: ${(e as Error).message}`);
          continue;
        }
        const removed = [...guarded.allowed].filter((k) => !next.has(k));
        const added = [...next].filter((k) => !guarded.allowed?.has(k)).length;
        guarded.allowed = next;
        if (removed.length === 0 && added === 0 && why !== 'SIGHUP') continue; // a watch event that changed nothing
        this.trace.info(`${why}: allow-list of ${name} re-read: ${next.size} key(s), ${added} added, ${removed.length} removed`);
        if (removed.length > 0) await this.dropConnections(name);
      }
    });
    return this.reloading;
  }

  /** Keys a socket's allow-list holds; -1 where any key is admitted. */
  allowedCount(name: string): number {
    return this.guarded.get(name)?.allowed?.size ?? -1;
  }

  close(): void {
    process.off('SIGHUP', this.onHangup);
    for (const g of this.guarded.values()) {
      g.watcher?.close();
      clearTimeout(g.reportTimer);
    }
    this.zap.close();
  }

  /** ZAP (RFC 27): `[version, id, domain, address, identity, mechanism, key]` → `[version, id, status, text, user, metadata]`. */
  private answer([version, id, domain, address, , mechanism, key]: Buffer[]): void {
    const name = domain?.toString() ?? '';
    const guarded = this.guarded.get(name);
    const publicKey = key?.length === 32 ? z85Encode(key) : '';
    const ok = guarded !== undefined && mechanism?.toString() === 'CURVE' && publicKey !== '' && (guarded.allowed?.has(publicKey) ?? true);
    if (ok) this.admitted[name]++;
    else this.refuse(name, 'key', `from ${address?.toString() || 'an unknown address'}`, `its key ${publicKey || '(none)'} is not in the allow-list`);
    // sendTimeout is irrelevant here: a Reply answers the one request it holds.
    this.zap.send([version, id, ok ? '200' : '400', ok ? 'OK' : 'key not allowed', ok ? publicKey : '', '']).catch((e: Error) => this.trace.error(`ZAP reply failed: ${e.message}`));
  }

  /**
   * Handshakes that fail before ZAP: a peer without CURVE, or with another server key. libzmq names
   * only our endpoint; the peer's address comes from the kernel's table of the connections libzmq
   * hung up on (`ClosedPeers`), read once the hang-up has happened and at most once a second.
   */
  private observeHandshakes(name: string, guarded: Guarded, socket: Socket): void {
    onSocketEvents(socket, (e) => {
      if (e.type === 'bind') {
        const port = /^tcp:\/\/.*:(\d+)$/.exec(e.address)?.[1];
        guarded.closed = port && kernelTablesExist() ? new ClosedPeers(Number(port)) : undefined;
        return;
      }
      let reason: string;
      if (e.type === 'handshake:error:protocol') reason = e.error.code === 'ERR_ZMTP_MECHANISM_MISMATCH' ? 'it does not speak CURVE' : `its handshake failed (${e.error.code}: a wrong server key?)`;
      else if (e.type === 'handshake:error:other') reason = `its handshake failed (${e.error.message})`;
      else return;
      this.count(name, 'handshake');
      guarded.unreported.push({ reason, endpoint: e.address });
      guarded.reportTimer ??= setTimeout(() => void this.reportHandshakes(name, guarded), Math.max(HANGUP_SETTLE_MS, guarded.lookedAt + LOOK_EVERY_MS - Date.now())).unref();
    });
  }

  /** Reports the failed handshakes counted since the last report, from the peers hung up on since then. */
  private async reportHandshakes(name: string, guarded: Guarded): Promise<void> {
    const since = guarded.lookedAt;
    guarded.lookedAt = Date.now();
    const peers = (await guarded.closed?.since(since).catch(() => [])) ?? [];
    guarded.reportTimer = undefined;
    const failed = guarded.unreported.splice(0);
    const unknown = guarded.closed ? 'address unknown: the peer hung up before the broker did' : 'libzmq names no peer address before ZAP';
    const from = (endpoint: string) => (peers.length === 0 ? `(at ${endpoint}; ${unknown})` : `from ${peers.length > 1 ? 'one of ' : ''}${describePeers(peers)}`);
    for (const { reason, endpoint } of failed) this.report(name, 'handshake', from(endpoint), reason);
  }

  private count(name: string, why: Refusal): void {
    (this.refused[name] ??= { key: 0, handshake: 0 })[why]++;
  }

  private refuse(name: string, why: Refusal, from: string, reason: string): void {
    this.count(name, why);
    this.report(name, why, from, reason);
  }

  /** Traces each refusal, and logs at most one line per kind every 5 s, whatever a peer floods. */
  private report(name: string, why: Refusal, from: string, reason: string): void {
    const counts = this.refused[name];
    const peer = this.settings.domains[name]?.peer ?? 'peer';
    if (this.trace.tracing) this.trace.traza('curve_refused', 'socket from reason', [name, from, reason]);
    const kind = `${name} ${why}`;
    const now = performance.now();
    if (now - (this.lastReport.get(kind) ?? -Infinity) < REPORT_EVERY_MS) return;
    this.lastReport.set(kind, now);
    this.trace.info(`refused a ${peer} ${from} on ${name}: ${reason}; refused so far: ${counts.key} by key, ${counts.handshake} in the handshake`);
  }

  /** Has the owner replace the socket: every connection is dropped, and the allowed peers come back through ZAP. */
  private async dropConnections(name: string): Promise<void> {
    try {
      await this.reopen(name);
      this.trace.info(`${name}: connections dropped, allowed peers reconnect and are checked again`);
    } catch (e) {
      this.onFatal(new Error(`${name} could not be opened again after a key was removed: ${(e as Error).message}`));
    }
  }
}
