import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

/**
 * Who a refused handshake came from. libzmq's monitor (v1, what `zeromq` 6 uses) names only the
 * listening endpoint of a handshake that fails before ZAP (a peer without CURVE, or with another
 * server key), but libzmq hangs up on that peer itself, and a connection this host closed first
 * stays in the kernel's TCP table for a while with the peer's address: in TIME_WAIT for 60 s, the
 * table saying how long is left, so when it was closed. Linux only (`/proc/net/tcp*`, per network
 * namespace, so a container sees its own); elsewhere there is no table and no address.
 */

/** States of a connection whose close this host started: FIN_WAIT1, FIN_WAIT2, TIME_WAIT, CLOSING. */
const CLOSED_BY_US = new Set(['04', '05', '06', '0B']);
const TIME_WAIT = '06';
/** Linux keeps a connection in TIME_WAIT this long (TCP_TIMEWAIT_LEN), and counts its timer in USER_HZ (100 a second). */
const TIME_WAIT_MS = 60_000;
const TIMER_TICK_MS = 10;
const TABLES = ['/proc/net/tcp', '/proc/net/tcp6'];

/** A peer this host hung up on: `address:port`, and for a TIME_WAIT connection how long ago (ms). */
export interface ClosedPeer {
  peer: string;
  closedAgoMs?: number;
}

/** `0100007F` (IPv4, bytes in host order) or 32 hex digits (IPv6, four such words) → the address as people write it. */
function address(hex: string): string {
  const words = hex.match(/.{8}/g) ?? [];
  const bytes = words.flatMap((w) => (w.match(/../g) ?? []).reverse().map((b) => parseInt(b, 16)));
  if (bytes.length === 4) return bytes.join('.');
  const mappedV4 = bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  if (mappedV4) return bytes.slice(12).join('.');
  const groups = Array.from({ length: 8 }, (_, i) => ((bytes[2 * i] << 8) | bytes[2 * i + 1]).toString(16));
  return `[${groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::')}]`;
}

/** The connections to local `port` that this host closed first, from one kernel table's text. */
export function closedPeers(table: string, port: number): ClosedPeer[] {
  const local = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const peers: ClosedPeer[] = [];
  for (const line of table.split('\n')) {
    const [, localAddress, remote, state, , timer] = line.trim().split(/\s+/);
    if (!localAddress?.endsWith(local) || !CLOSED_BY_US.has(state ?? '')) continue;
    const [host, remotePort] = (remote ?? '').split(':');
    if (!host || !remotePort) continue;
    const peer = `${address(host)}:${parseInt(remotePort, 16)}`;
    const left = parseInt(timer?.split(':')[1] ?? '', 16) * TIMER_TICK_MS;
    peers.push(state === TIME_WAIT && Number.isFinite(left) ? { peer, closedAgoMs: Math.max(0, TIME_WAIT_MS - left) } : { peer });
  }
  return peers;
}

/** Whether this system has the tables (Linux). */
export const kernelTablesExist = (): boolean => existsSync(TABLES[0]);

async function readTables(): Promise<string[]> {
  return Promise.all(TABLES.map((t) => readFile(t, 'utf8').catch(() => '')));
}

/** The peers this host hung up on at one listening port, each named once. */
export class ClosedPeers {
  /** Peers already named that are still in the table (a connection's address and port are not reused while it is). */
  private named = new Set<string>();

  constructor(
    private readonly port: number,
    private readonly tables: () => Promise<string[]> = readTables,
    private readonly clock: () => number = Date.now,
  ) {}

  /**
   * The peers hung up on since `since` (on `clock`), not named before: TIME_WAIT connections by
   * when they were closed (to 10 ms: the table's timer), the others (a peer that has not answered
   * our close yet) when first seen.
   */
  async since(since: number): Promise<string[]> {
    const table = (await this.tables()).flatMap((t) => closedPeers(t, this.port));
    const now = this.clock(); // after the read: dates come out late rather than early, so none falls before `since`
    const fresh = table.filter(({ peer, closedAgoMs }) => !this.named.has(peer) && (closedAgoMs === undefined || now - closedAgoMs >= since - TIMER_TICK_MS)).map(({ peer }) => peer);
    const present = new Set(table.map(({ peer }) => peer));
    this.named = new Set([...this.named, ...fresh].filter((p) => present.has(p)));
    return fresh;
  }
}

/** `10.0.0.5:41220, 10.0.0.7:5011`; more than `most`: by address, the most seen first, `10.0.0.5 (30 connections), 10.0.0.7 (1 connection)`. */
export function describePeers(peers: readonly string[], most = 5): string {
  if (peers.length <= most) return peers.join(', ');
  const byHost = new Map<string, number>();
  for (const p of peers) {
    const host = p.slice(0, p.lastIndexOf(':'));
    byHost.set(host, (byHost.get(host) ?? 0) + 1);
  }
  const hosts = [...byHost].sort((a, b) => b[1] - a[1]);
  const named = hosts.slice(0, most).map(([host, n]) => `${host} (${n} connection${n === 1 ? '' : 's'})`);
  return named.join(', ') + (hosts.length > most ? ` and ${hosts.length - most} more address(es)` : '');
}
