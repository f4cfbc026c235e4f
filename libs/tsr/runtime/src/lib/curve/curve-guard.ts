import type { Tracer } from '../trace';
import { type CurveKeyBytes, curveBoxesDescription, curveKeyPairBytes, z85Encode } from '@tsr/zmtp';
import { AllowListWatcher, readAllowList } from './allow-list';

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
  /** By socket name (`frontend`, `backend`): who may connect to that socket. */
  domains: Record<string, CurveDomain>;
}

/** Why a connection was refused: its key is not allowed, or the CURVE handshake failed (no CURVE, wrong server key). */
export type Refusal = 'key' | 'handshake';

const REPORT_EVERY_MS = 5000;

interface Guarded {
  allowed: ReadonlySet<string> | undefined;
  watcher?: AllowListWatcher;
}

/** What a CURVE server socket needs of the guard (our ZMTP ROUTER's `curve` option). */
export interface CurveServerRole {
  keys: CurveKeyBytes;
  admit(clientKey: Buffer, address: string): boolean;
}

/**
 * CURVE on a server's sockets: the key pair and the rule that admits or refuses each connecting
 * key (`serverRole`), allow-lists re-read when they change or on SIGHUP, and the count and log of
 * every refusal with the peer's address: a key not allowed, or a handshake that failed (a peer
 * without CURVE, or with another server key; `handshakeFailed`). A key removed from a list is
 * refused at once also on the connections it already has: the owner drops them (`start`'s
 * `dropPeers`); the other connections stay.
 *
 * Refused peers never reach the broker's logic: the socket drops them during the handshake.
 */
export class CurveGuard {
  readonly refused: Record<string, Record<Refusal, number>> = {};
  readonly admitted: Record<string, number> = {};
  private readonly guarded = new Map<string, Guarded>();
  private readonly keys: CurveKeyBytes;
  private readonly lastReport = new Map<string, number>();
  private reloading: Promise<void> = Promise.resolve();
  private dropPeers: (name: string, admitted: (clientKey: Buffer) => boolean) => number = () => 0;
  private readonly onHangup = () => this.reload('SIGHUP');

  constructor(
    readonly settings: CurveServerSettings,
    private readonly trace: Tracer,
  ) {
    this.keys = curveKeyPairBytes(settings);
    for (const name of Object.keys(settings.domains)) {
      this.refused[name] = { key: 0, handshake: 0 };
      this.admitted[name] = 0;
      this.guarded.set(name, { allowed: undefined });
    }
  }

  /** The CURVE side of the socket named `name`: our keys, and its admission rule. */
  serverRole(name: string): CurveServerRole {
    if (!this.guarded.has(name)) throw new Error(`no CURVE domain ${name}`);
    return { keys: this.keys, admit: (clientKey, address) => this.admit(name, clientKey, address) };
  }

  /** A connection to socket `name` that failed its handshake, and why: counted, and reported with its address. */
  handshakeFailed(name: string, why: string, address: string): void {
    this.refuse(name, 'handshake', `from ${address}`, why);
  }

  /**
   * Reads the allow-lists (a bad one throws: the program exits 2) and watches them; call before the
   * sockets bind. `dropPeers(name, admitted)` must disconnect the peers of socket `name` whose key
   * is no longer admitted, and say how many: the one way a removed key loses its connections.
   */
  async start(dropPeers: (name: string, admitted: (clientKey: Buffer) => boolean) => number): Promise<void> {
    this.dropPeers = dropPeers;
    for (const [name, domain] of Object.entries(this.settings.domains)) {
      const guarded = this.guarded.get(name) as Guarded;
      guarded.allowed = domain.allowList === undefined ? undefined : readAllowList(domain.allowList);
      if (domain.allowList !== undefined) {
        guarded.watcher = new AllowListWatcher(domain.allowList, () => this.reload(`${domain.allowList} changed`));
        guarded.watcher.rearm();
      }
      this.trace.info(
        `CURVE on ${name}: ${guarded.allowed ? `${guarded.allowed.size} ${domain.peer} key(s) allowed (${domain.allowList})` : `any ${domain.peer} that knows the server's public key`}`,
      );
    }
    this.trace.info(`CURVE boxes by ${curveBoxesDescription()}`);
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
          this.trace.warn(`${why}: allow-list of ${name} not reloaded, the previous one stays: ${(e as Error).message}`);
          continue;
        }
        const removed = [...guarded.allowed].filter((k) => !next.has(k));
        const added = [...next].filter((k) => !guarded.allowed?.has(k)).length;
        guarded.allowed = next;
        if (removed.length === 0 && added === 0 && why !== 'SIGHUP') continue; // a watch event that changed nothing
        this.trace.info(`${why}: allow-list of ${name} re-read: ${next.size} key(s), ${added} added, ${removed.length} removed`);
        if (removed.length > 0) {
          const dropped = this.dropPeers(name, (clientKey) => next.has(z85Encode(clientKey)));
          this.trace.info(`${name}: ${dropped} connection(s) of removed keys dropped`);
        }
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
    for (const g of this.guarded.values()) g.watcher?.close();
  }

  private admit(name: string, clientKey: Buffer, address: string): boolean {
    const publicKey = z85Encode(clientKey);
    const ok = this.guarded.get(name)?.allowed?.has(publicKey) ?? true;
    if (ok) this.admitted[name]++;
    else this.refuse(name, 'key', `from ${address}`, `its key ${publicKey} is not in the allow-list`);
    return ok;
  }

  private refuse(name: string, why: Refusal, from: string, reason: string): void {
    (this.refused[name] ??= { key: 0, handshake: 0 })[why]++;
    this.report(name, why, from, reason);
  }

  /** Traces each refusal, and logs at most one line per kind every 5 s, whatever a peer floods. */
  private report(name: string, why: Refusal, from: string, reason: string): void {
    const counts = this.refused[name];
    const peer = this.settings.domains[name]?.peer ?? 'peer';
    if (this.trace.tracing) this.trace.step('curve_refused', 'socket from reason', [name, from, reason]);
    const kind = `${name} ${why}`;
    const now = performance.now();
    if (now - (this.lastReport.get(kind) ?? -Infinity) < REPORT_EVERY_MS) return;
    this.lastReport.set(kind, now);
    this.trace.info(
      `refused a ${peer} ${from} on ${name}: ${reason}; refused so far: ${counts.key} by key, ${counts.handshake} in the handshake`,
    );
  }
}
