import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { forkedChild, killAndWait, processTree, pssBytes, spawnDetached } from './namespaces';
import { alive, eventually, inNetns, must, run } from './shell';

/**
 * The first process of a node (after tini, which reaps the orphans of the node's PID namespace):
 * private mounts, then dockerd. In its own mount namespace nothing it mounts reaches the host,
 * and all of it goes when the node's processes die:
 * - a tmpfs on /run: dockerd's exec root, pid file and containerd socket (and no system
 *   containerd of the host's /run is found and shared);
 * - a fresh sysfs, so /sys/class/net shows the node's own interfaces (what `ip netns exec`
 *   does), with the host's cgroup mounts moved back under it (else "Devices cgroup isn't
 *   mounted");
 * - a tmpfs for the data root: images, containers and swarm state live in memory.
 */
const INIT = `set -e
hostname "$1"
mount -t tmpfs -o mode=755 tmpfs /run
mkdir /run/cgroup
mount --rbind /sys/fs/cgroup /run/cgroup
mount -t sysfs sysfs /sys
mount --move /run/cgroup /sys/fs/cgroup
mount -t tmpfs -o mode=711 tmpfs "$2/root"
ip link set lo up
exec dockerd --config-file "$2/daemon.json"
`;

export interface NodeOptions {
  runId: string;
  /** Host name inside the node, and the swarm's node name: n1, n2, … */
  name: string;
  /** This node's folder under the run's folder (socket, config, logs; its data in a tmpfs). */
  dir: string;
  /** Its address on the cluster's bridge, with the prefix length: 192.168.x.11/24. */
  address: string;
}

/** One Docker engine in its own network, PID, mount and UTS namespaces. */
export class ClusterNode {
  /** Process 1 of the node's PID namespace (tini), as the host sees it: all of the node dies with it. */
  pid = 0;
  readonly socket: string;

  constructor(readonly o: NodeOptions) {
    this.socket = `unix://${join(o.dir, 'docker.sock')}`;
  }

  get name(): string {
    return this.o.name;
  }

  get ip(): string {
    return this.o.address.split('/')[0];
  }

  /** Starts the node's engine (its own data root, exec root, pid file, socket and engine key). */
  async start(): Promise<void> {
    mkdirSync(join(this.o.dir, 'root'), { recursive: true });
    writeFileSync(
      join(this.o.dir, 'daemon.json'),
      JSON.stringify({
        'data-root': join(this.o.dir, 'root', 'docker'),
        'exec-root': '/run/docker',
        pidfile: '/run/docker.pid',
        hosts: [this.socket],
        // The engine id comes from this key: one per node, or all nodes share one id.
        'deprecated-key-path': join(this.o.dir, 'root', 'key.json'),
        // The containers' cgroups under a name of this run, so that cleanup finds what a killed
        // node leaves in the host's cgroup hierarchies.
        'cgroup-parent': `${this.o.runId}-${this.o.name}`,
        'storage-driver': 'overlay2',
        'log-driver': 'json-file',
      }),
    );
    const unshare = spawnDetached(
      [
        'unshare',
        '--fork',
        '--kill-child=SIGKILL',
        '--pid',
        '--mount',
        '--uts',
        '--net',
        '--mount-proc',
        'docker-init',
        '--',
        'sh',
        '-c',
        INIT,
        'node-init',
        this.o.name,
        this.o.dir,
      ],
      this.o.runId,
      join(this.o.dir, 'dockerd.log'),
    );
    this.pid = await forkedChild(unshare);
    writeFileSync(join(this.o.dir, 'pid'), String(this.pid));
  }

  /** Waits until the engine answers on its socket. */
  async ready(timeoutMs = 60_000): Promise<void> {
    await eventually(
      `the engine of ${this.name}`,
      async () => {
        if (!alive(this.pid)) throw new Error(`node ${this.name} died while starting; see ${join(this.o.dir, 'dockerd.log')}`);
        return (await run('docker', ['-H', this.socket, 'version', '--format', '{{.Server.Version}}'], { timeoutMs: 10_000 })).code === 0;
      },
      timeoutMs,
      100,
    );
  }

  /** `docker …` against this node's engine; resolves with the trimmed stdout. */
  docker(...args: string[]): Promise<string> {
    return must('docker', ['-H', this.socket, ...args]);
  }

  /** A command in the node's network namespace (a host-side client, `ip`, …). */
  net(...args: string[]): Promise<string> {
    return inNetns(this.pid, args);
  }

  /** Cuts the node off the cluster's network (its link down), or joins it again. */
  async link(up: boolean): Promise<void> {
    await this.net('ip', 'link', 'set', 'eth0', up ? 'up' : 'down');
  }

  /** The node dies as a machine does: its engine and every container at once (SIGKILL to all). */
  async kill(): Promise<void> {
    await killAndWait(this.pid, this.o.runId);
  }

  get running(): boolean {
    return this.pid > 0 && alive(this.pid);
  }

  /** Memory of the node's processes (engine, containerd, shims, containers) plus its tmpfs data. */
  async memoryBytes(): Promise<{ processes: number; data: number }> {
    const processes = pssBytes(processTree(this.pid));
    const df = await run('nsenter', ['-t', String(this.pid), '-m', '--', 'df', '-B1', '--output=used', join(this.o.dir, 'root')]);
    return { processes, data: Number(df.stdout.trim().split('\n').pop()) || 0 };
  }
}
