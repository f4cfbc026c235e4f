import { lookup as systemLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { type BrokerAddress, type BrokerHostPort, brokerHostPort } from './broker-address';
import { ConfigError } from './errors';
import { tcpEndpoint } from './endpoint';

/** One broker or several: an address, a list, or a string of addresses separated by commas (`host:port,host:port`). */
export type BrokerAddresses = BrokerAddress | readonly BrokerAddress[];

/** The brokers `addresses` names, each validated (a ConfigError says which is wrong), duplicates removed, in their order. */
export function brokerAddressList(addresses: BrokerAddresses): BrokerHostPort[] {
  const given: readonly BrokerAddress[] = typeof addresses === 'string' || !isList(addresses) ? [addresses] : addresses;
  const parts = given.flatMap((a): BrokerAddress[] => (typeof a === 'string' ? a.split(',').map((s) => s.trim()) : [a]));
  if (parts.length === 0) throw new ConfigError('no broker address given');
  const seen = new Map<string, BrokerHostPort>();
  for (const part of parts) {
    const address = brokerHostPort(part);
    const endpoint = tcpEndpoint(address.host, address.port);
    if (!seen.has(endpoint)) seen.set(endpoint, address);
  }
  return [...seen.values()];
}

const isList = (a: BrokerAddresses): a is readonly BrokerAddress[] => Array.isArray(a);

export interface BrokerSetOptions {
  /** ms between look-ups of the names among the addresses. Default 5000. */
  resolveIntervalMs?: number;
  /** A name's addresses. Default: the system's resolver (what a dial uses, /etc/hosts included), every address. */
  lookup?: (host: string) => Promise<string[]>;
}

interface Entry extends BrokerHostPort {
  /** An IP address: its one endpoint, never looked up. */
  literal: boolean;
  /** What it gave at the last look-up that found addresses; none before the first. */
  endpoints?: readonly string[];
}

/** Every address of `host` by the system's resolver: BrokerSet's default look-up. */
export const lookupAddresses = async (host: string): Promise<string[]> => (await systemLookup(host, { all: true })).map((a) => a.address);

/**
 * The brokers configured as addresses, as the current set of endpoints to dial, the names among
 * them looked up again and again as brokers come and go (Swarm's `tasks.<service>`, a Kubernetes
 * headless Service: one address per broker). The set is sorted, so that the order of a DNS answer
 * (often shuffled) is no change; `onChange` hears of it once it is first known, then of each change.
 */
export class BrokerSet {
  /** The brokers as configured, `tcp://host:port` each, in their order (names not looked up). */
  readonly configured: readonly string[];
  private readonly entries: Entry[];
  private readonly intervalMs: number;
  private readonly lookup: (host: string) => Promise<string[]>;
  private current: readonly string[] = [];
  private known = false;
  private started = false;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    addresses: BrokerAddresses,
    private readonly onChange: (endpoints: readonly string[]) => void,
    options: BrokerSetOptions = {},
  ) {
    const list = brokerAddressList(addresses);
    this.configured = list.map((a) => tcpEndpoint(a.host, a.port));
    this.entries = list.map((a, i) => (isIP(a.host) ? { ...a, literal: true, endpoints: [this.configured[i]] } : { ...a, literal: false }));
    this.intervalMs = options.resolveIntervalMs ?? 5000;
    if (!Number.isInteger(this.intervalMs) || this.intervalMs < 1 || this.intervalMs > 2 ** 31 - 1)
      throw new RangeError(`resolveIntervalMs must be an integer 1-${2 ** 31 - 1}, got ${this.intervalMs}`);
    this.lookup = options.lookup ?? lookupAddresses;
  }

  /** The current endpoints (`tcp://host:port`), sorted; empty until the first look-up has ended. */
  get endpoints(): readonly string[] {
    return this.current;
  }

  /**
   * Looks the names up now, then every interval (a timer that keeps no process alive). With no name
   * to look up, the set is known before this returns and no timer runs: one IP address behaves as
   * a single broker always has.
   */
  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    if (this.entries.every((e) => e.literal)) this.update();
    else void this.resolve();
  }

  /** Stops looking up; `onChange` is not called again. */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }

  /** One round: every name looked up at once; the next round an interval after this one ends, so rounds never overlap. */
  private async resolve(): Promise<void> {
    await Promise.all(this.entries.filter((e) => !e.literal).map((e) => this.resolveEntry(e)));
    if (this.closed) return;
    this.timer = setTimeout(() => void this.resolve(), this.intervalMs).unref();
    this.update();
  }

  private async resolveEntry(entry: Entry): Promise<void> {
    const found = await Promise.resolve(entry.host)
      .then((host) => this.lookup(host))
      .catch((): string[] => []);
    const addresses = usable(found);
    const named = [tcpEndpoint(entry.host, entry.port)];
    if (addresses.length === 0) {
      // A failed look-up (the resolver down, every broker gone a moment): the brokers last known stay.
      // A name never found is dialled by name, so that the dial says why ("no such host").
      entry.endpoints ??= named;
    } else if (addresses.length === 1 && this.entries.length === 1) {
      // One broker behind one name, as before several existed: the socket looks the name up at each
      // dial, so it follows a broker that comes back at a new address (a container restarted) at
      // once. Among several entries addresses are needed: two names for one broker are one broker.
      entry.endpoints = named;
    } else {
      entry.endpoints = addresses.map((a) => tcpEndpoint(a, entry.port));
    }
  }

  private update(): void {
    const next = [...new Set(this.entries.flatMap((e) => e.endpoints ?? []))].sort();
    if (this.known && next.length === this.current.length && next.every((e, i) => e === this.current[i])) return;
    this.known = true;
    this.current = next;
    this.onChange(next);
  }
}

/**
 * The addresses that stand for brokers, each once. A dual-stack broker has an IPv4 and an IPv6
 * address, so one family only, or each broker would count twice; IPv4 when there is any, as a
 * broker bound on every interface (`*`) listens on IPv4 only (libzmq's default, and ours).
 * Anything our endpoints cannot say (an IPv6 address with a zone, or with an IPv4 tail) is left out.
 */
function usable(addresses: readonly string[]): string[] {
  const dialable = [...new Set(addresses)].filter((a) => isIP(a) === 4 || (isIP(a) === 6 && /^[0-9a-fA-F:]+$/.test(a)));
  const v4 = dialable.filter((a) => isIP(a) === 4);
  return v4.length > 0 ? v4 : dialable;
}
