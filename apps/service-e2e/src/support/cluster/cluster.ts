import { spawnSync } from 'node:child_process';
import { randomBytes, createHash } from 'node:crypto';
import { appendFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type HostState, hostChanges, hostState } from './host-state';
import { RUN_PREFIX, STATE_ROOT, removeRun, runLeftovers, staleRuns } from './leftovers';
import { ownNetworkNamespace, spawnDetached } from './namespaces';
import { ClusterNode } from './node';
import { inNetns, lines, must } from './shell';

/**
 * A Docker Swarm of several real engines on this one machine, for the test suites.
 *
 * Each node is a `dockerd` in its own network, PID, mount and UTS namespaces (see node.ts); the
 * nodes are joined by a bridge that lives in one more network namespace of its own (the
 * "switch"), so the host's own links, addresses, routes and iptables rules are never touched and
 * the nodes have no route anywhere but to each other. `up()` starts the nodes, makes the first
 * one the swarm's manager and joins the others as workers, and loads the images (taken from the
 * main engine as they are, `docker save | docker load`). `down()` kills every process of the run
 * (a node's namespaces, mounts and tmpfs data go with its processes), removes the cgroups and the
 * run's folder, and reports anything of the run still on the host.
 */
export class Cluster {
  readonly runId = `${RUN_PREFIX}${randomBytes(3).toString('hex')}`;
  readonly dir = join(STATE_ROOT, this.runId);
  readonly nodes: ClusterNode[] = [];
  /**
   * The bridge's /24, 192.168.<n>: n from the run id, skipping any the host uses (the bridge is
   * in a namespace of its own, but a clash would still confuse whoever reads the addresses).
   */
  subnet = '';
  /** The switch namespace's process, holding the bridge. */
  private switchPid = 0;
  private hostBefore: HostState = {};
  /** Milliseconds per bring-up step. */
  readonly timings: Record<string, number> = {};

  constructor(private readonly size: number) {}

  get manager(): ClusterNode {
    return this.nodes[0];
  }

  node(name: string): ClusterNode {
    const n = this.nodes.find((x) => x.name === name);
    if (!n) throw new Error(`no node ${name}`);
    return n;
  }

  /** Nodes up, swarm formed, images loaded. Removes what killed runs left first. */
  async up(images: readonly string[]): Promise<void> {
    for (const stale of staleRuns()) await removeRun(stale);
    this.hostBefore = await hostState();
    this.subnet = freeSubnet(this.runId, [...this.hostBefore['addresses'], ...this.hostBefore['routes']].join('\n'));
    mkdirSync(this.dir, { recursive: true });
    writeFileSync(join(this.dir, 'owner'), String(process.pid));

    await this.step('nodes', async () => {
      this.switchPid = spawnDetached(['unshare', '--net', '--', 'sleep', 'infinity'], this.runId, join(this.dir, 'switch.log'));
      this.record(this.switchPid);
      await ownNetworkNamespace(this.switchPid);
      await inNetns(this.switchPid, ['ip', 'link', 'add', 'br0', 'type', 'bridge']);
      await inNetns(this.switchPid, ['ip', 'link', 'set', 'br0', 'up']);
      for (let i = 1; i <= this.size; i++) {
        const name = `n${i}`;
        this.nodes.push(new ClusterNode({ runId: this.runId, name, dir: join(this.dir, name), address: `${this.subnet}.${10 + i}/24` }));
      }
      for (const n of this.nodes) {
        await n.start();
        this.record(n.pid);
        await this.wire(n);
      }
      await Promise.all(this.nodes.map((n) => n.ready()));
    });

    await this.step('swarm', async () => {
      const m = this.manager;
      await m.docker('swarm', 'init', '--advertise-addr', m.ip, '--listen-addr', `${m.ip}:2377`);
      const token = await m.docker('swarm', 'join-token', '-q', 'worker');
      await Promise.all(
        this.nodes
          .slice(1)
          .map((n) =>
            n.docker('swarm', 'join', '--token', token, '--advertise-addr', n.ip, '--listen-addr', `${n.ip}:2377`, `${m.ip}:2377`),
          ),
      );
      await m.docker('node', 'ls'); // answers only with a working control plane
    });

    await this.step('images', async () => {
      const tar = join(this.dir, 'images.tar');
      await must('docker', ['save', '-o', tar, ...images]);
      await Promise.all(this.nodes.map((n) => n.docker('load', '-i', tar)));
    });
  }

  /** Copies an image made on one node to all the others (`docker save | docker load`: the same ID everywhere). */
  async spreadImage(ref: string, from: ClusterNode = this.manager): Promise<void> {
    const tar = join(this.dir, `spread-${randomBytes(3).toString('hex')}.tar`);
    await from.docker('save', '-o', tar, ref);
    try {
      await Promise.all(this.nodes.filter((n) => n !== from && n.running).map((n) => n.docker('load', '-i', tar)));
    } finally {
      rmSync(tar, { force: true });
    }
  }

  /** The node's end of a veth pair into its namespace, the other end on the switch's bridge. */
  private async wire(n: ClusterNode): Promise<void> {
    const port = `p${n.name}`;
    await inNetns(this.switchPid, ['ip', 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', String(n.pid)]);
    await inNetns(this.switchPid, ['ip', 'link', 'set', port, 'master', 'br0', 'up']);
    await n.net('ip', 'addr', 'add', n.o.address, 'dev', 'eth0');
    await n.net('ip', 'link', 'set', 'eth0', 'up');
  }

  private record(pid: number): void {
    appendFileSync(join(this.dir, 'pids'), `${pid}\n`);
  }

  private async step(name: string, f: () => Promise<void>): Promise<void> {
    const start = performance.now();
    await f();
    this.timings[name] = Math.round(performance.now() - start);
  }

  /** The swarm's node names that are `Ready` and `Active` (as the manager sees them). */
  async readyNodes(): Promise<string[]> {
    return lines(await this.manager.docker('node', 'ls', '--format', '{{.Hostname}} {{.Status}} {{.Availability}}'))
      .map((l) => l.split(' '))
      .filter(([, status, availability]) => status === 'Ready' && availability === 'Active')
      .map(([name]) => name);
  }

  /** Memory of all nodes: their processes (proportional share) and their in-memory data. */
  async memory(): Promise<{ processes: number; data: number }> {
    const all = await Promise.all(this.nodes.filter((n) => n.running).map((n) => n.memoryBytes()));
    return all.reduce((a, b) => ({ processes: a.processes + b.processes, data: a.data + b.data }), { processes: 0, data: 0 });
  }

  /**
   * Everything of the run goes; then the host is compared with how it was before `up()`.
   * `changed`: differences that are the run's (must be empty); `leftovers`: processes, cgroups,
   * folders of the run still there (must be empty); `othersChanged`: differences from other
   * people's containers on the main engine meanwhile (veths, bridges, their rules and mounts).
   */
  async down(): Promise<{ ms: number; changed: string[]; leftovers: string[]; othersChanged: number }> {
    const start = performance.now();
    await removeRun(this.runId);
    const ms = Math.round(performance.now() - start);
    // Nothing to compare with if `up()` failed before its first look at the host.
    const { ours, others } = Object.keys(this.hostBefore).length
      ? hostChanges(this.hostBefore, await hostState())
      : { ours: [], others: 0 };
    return { ms, changed: ours, leftovers: runLeftovers(this.runId), othersChanged: others };
  }
}

/** A 192.168.<n> prefix (n in 100..199, first try from the run id) that `inUse` does not mention. */
function freeSubnet(runId: string, inUse: string): string {
  const first = createHash('sha1').update(runId).digest()[0] % 100;
  for (let i = 0; i < 100; i++) {
    const prefix = `192.168.${100 + ((first + i) % 100)}`;
    if (!inUse.includes(`${prefix}.`)) return prefix;
  }
  throw new Error('no free 192.168.100-199.0/24 subnet on this host');
}

/**
 * Why a cluster cannot run on this machine, or undefined when it can: root, the commands, and
 * new namespaces (a container without the privilege to make them cannot).
 */
export function clusterUnsupported(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root: starting Docker engines in network namespaces needs root';
  for (const cmd of ['unshare', 'nsenter', 'ip', 'iptables', 'dockerd', 'docker-init', 'docker']) {
    if (spawnSync('sh', ['-c', `command -v ${cmd}`]).status !== 0)
      return `\`${cmd}\` is not installed (${cmd === 'ip' ? 'iproute2' : cmd === 'iptables' ? 'iptables' : cmd.startsWith('docker') ? 'docker.io' : 'util-linux'})`;
  }
  const probe = spawnSync('unshare', ['--fork', '--pid', '--mount', '--uts', '--net', '--mount-proc', 'ip', 'link', 'set', 'lo', 'up'], {
    encoding: 'utf8',
  });
  if (probe.status !== 0) return `cannot create namespaces here: ${(probe.stderr || '').trim() || `unshare exited ${probe.status}`}`;
  return undefined;
}
