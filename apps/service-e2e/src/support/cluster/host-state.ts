import { existsSync, readFileSync } from 'node:fs';
import { lines, run } from './shell';

/**
 * What a cluster run could leave on the host, as lines per kind: network links, addresses,
 * routes, iptables rules, mounts, named network namespaces, and the main engine's identity.
 * Taken before the bring-up and after the teardown, compared by `hostChanges`.
 */
export type HostState = Record<string, string[]>;

const outputLines = async (file: string, args: string[]) => {
  const r = await run(file, args, { timeoutMs: 30_000 });
  return r.code === 0 ? lines(r.stdout) : [`(${file} ${args.join(' ')} failed: ${r.stderr.trim()})`];
};

export async function hostState(): Promise<HostState> {
  const [links, addresses, routes, iptables, netns, engine] = await Promise.all([
    // Without the counters and states that change on their own.
    outputLines('ip', ['-o', 'link', 'show']).then((ls) =>
      ls.map((l) => l.replace(/\s+(state|qlen|link-netnsid)\s+\S+/g, '').replace(/\\.*$/, '')),
    ),
    outputLines('ip', ['-o', 'addr', 'show']).then((ls) => ls.map((l) => l.replace(/\\.*$/, ''))),
    outputLines('ip', ['route', 'show', 'table', 'all']),
    outputLines('iptables-save', []).then((ls) => ls.filter((l) => !l.startsWith('#')).map((l) => l.replace(/\[\d+:\d+\]/, ''))),
    outputLines('ip', ['netns', 'list']),
    outputLines('docker', ['info', '--format', 'engine {{.ID}}']),
  ]);
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(' ').slice(3, 5).join(' ')); // root and mount point: ids are renumbered
  return { links, addresses, routes, iptables, mounts, netns, 'netns dir': [String(existsSync('/run/netns'))], engine };
}

/**
 * Lines of `after` not in `before` (+) and the reverse (-), per kind. Other people's containers
 * come and go on the main engine meanwhile (veth links, their addresses, bridges, iptables rules
 * and mounts of the engine's own): `isOthers` tells those apart; what remains is ours.
 */
export function hostChanges(
  before: HostState,
  after: HostState,
  isOthers: (line: string) => boolean = mainEngineChurn,
): { ours: string[]; others: number } {
  const ours: string[] = [];
  let others = 0;
  for (const kind of Object.keys({ ...before, ...after })) {
    const b = new Set(before[kind] ?? []);
    const a = new Set(after[kind] ?? []);
    const diff = [...[...a].filter((l) => !b.has(l)).map((l) => `+ ${l}`), ...[...b].filter((l) => !a.has(l)).map((l) => `- ${l}`)];
    for (const d of diff) {
      if (isOthers(d.slice(2))) others++;
      else ours.push(`${kind}: ${d}`);
    }
  }
  return { ours, others };
}

/** What the main engine does for other people's containers: never done by a cluster run. */
export function mainEngineChurn(line: string): boolean {
  return /\bveth[0-9a-f]+|\bbr-[0-9a-f]{12}\b|\bdocker0\b|docker_gwbridge|172\.(1[6-9]|2\d|3[01])\.|\/var\/lib\/docker\/|\/run\/docker\/|DOCKER/.test(
    line,
  );
}
