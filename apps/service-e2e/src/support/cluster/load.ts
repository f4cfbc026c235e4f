import { type LoadSummary, loadSummary } from '../containers/chaos';
import { eventually, run, sleep } from '../containers/docker';
import type { ClusterNode } from './node';
import type { ClusterStack } from './stack';

/** One run of the client's load mode: where, when, and what it printed. */
export interface LoadRun {
  node: string;
  start: number;
  end: number;
  code: number;
  summary?: LoadSummary;
  output: string;
}

/**
 * Per attempt, a client waits 1 s (several times a request's usual wait here), then sends the
 * request again on a fresh connection to the next broker: a request held by a broker that died
 * or stopped, or by a worker that did, is answered by another broker about a second later,
 * without waiting for anyone to notice the death. 20 attempts ride over every broker being gone
 * for a while.
 */
export const CLIENT_TIMEOUT_MS = 1000;
const clientArgs = (requests: number) =>
  ['--requests', requests, '--concurrency', 2, '--timeout', CLIENT_TIMEOUT_MS, '--retries', 20, '--json'].map(String);

/**
 * Docker's own refusal to start the client because the node has, for a moment, no copy of the
 * overlay: a swarm worker node drops an attachable overlay when its last task on it leaves (workers
 * scaled down) and makes it again when asked. No client ran, so no request was sent.
 */
const NETWORK_NOT_ON_NODE = /network \S+ not found/i;
const DOCKER_REFUSED = 125;

/**
 * Clients under load, back to back, in containers on the stack's overlay network of each given
 * node (they reach the brokers as `bro`, which resolves to all of them, wherever they run), each
 * run `requests` requests, two at a time. Every answer is checked by the client itself: it
 * accepts only the answer that carries its request's id, counts the others as stray, and counts
 * a request that got no answer after its retries as an error.
 */
export class ContinuousLoad {
  readonly runs: LoadRun[] = [];
  /** Clients that Docker refused to start on a node that had, for a moment, no copy of the overlay. */
  refusedStarts = 0;
  private stopping = false;
  private done: Promise<unknown> = Promise.resolve();
  /** When the run going on now on each node started. */
  private readonly current = new Map<string, number>();

  constructor(
    private readonly stack: ClusterStack,
    private readonly requests = 20,
  ) {}

  start(nodes: readonly ClusterNode[]): void {
    this.done = Promise.all(nodes.map((n) => this.loop(n)));
  }

  private async loop(node: ClusterNode): Promise<void> {
    while (!this.stopping && node.running) {
      const start = Date.now();
      this.current.set(node.name, start);
      const r = await run(
        'docker',
        [
          '-H',
          node.socket,
          'run',
          '--rm',
          '--network',
          this.stack.network,
          '-e',
          'TSR_LOG=error',
          '-e',
          `CURVE_SERVER_KEY=${this.stack.brokerPublicKey}`,
          this.stack.images.client,
          'bro',
          '9998',
          ...clientArgs(this.requests),
        ],
        { timeoutMs: 180_000 },
      );
      this.current.delete(node.name);
      // A load on a node that died with it is no answer of the service's.
      if (!node.running) break;
      if (r.code === DOCKER_REFUSED && NETWORK_NOT_ON_NODE.test(r.stderr)) {
        this.refusedStarts++;
        await sleep(500);
        continue;
      }
      this.runs.push({
        node: node.name,
        start,
        end: Date.now(),
        code: r.code,
        summary: loadSummary(r.stdout),
        output: (r.stdout + r.stderr).trim().slice(-2000),
      });
    }
  }

  /** Waits until every node given has finished a load that started after `t`. */
  async waitForRunsAfter(t: number, nodes: readonly ClusterNode[], timeoutMs = 120_000): Promise<void> {
    await eventually(
      `a load started after ${new Date(t).toISOString()} finished on each of ${nodes.map((n) => n.name).join(', ')}`,
      async () => nodes.every((n) => this.runs.some((r) => r.node === n.name && r.start > t)),
      timeoutMs,
      200,
    );
  }

  /** Whether every node given has had a run going for `ms` (its clients started, mid-run). */
  runningFor(nodes: readonly ClusterNode[], ms: number): boolean {
    return nodes.every((n) => Date.now() - (this.current.get(n.name) ?? Infinity) >= ms);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.done;
  }

  /** Loads that ran while [from, to] did. */
  overlapping(from: number, to: number): LoadRun[] {
    return this.runs.filter((r) => r.start < to && r.end > from);
  }

  totals(runs: readonly LoadRun[] = this.runs): {
    loads: number;
    refusedStarts: number;
    requests: number;
    answered: number;
    errors: number;
    stray: number;
    retried: number;
    worstMs: number;
  } {
    const sum = (f: (s: LoadSummary) => number) => runs.reduce((a, r) => a + (r.summary ? f(r.summary) : 0), 0);
    return {
      loads: runs.length,
      refusedStarts: this.refusedStarts,
      requests: sum((s) => s.requests),
      answered: sum((s) => s.answered),
      errors: sum((s) => s.errors),
      stray: sum((s) => s.stray),
      retried: sum((s) => s.retried),
      worstMs: Math.round(Math.max(0, ...runs.map((r) => r.summary?.max ?? 0))),
    };
  }

  /**
   * Every load that ended: exit 0, every request answered, no answer dropped. A client takes an
   * answer only by its request's id; one it drops is counted stray (whose answer it was, the
   * brokers' traces tell: answersCheck), and none may be: an answer comes only on the connection
   * its request is waiting on.
   */
  failures(): { node: string; code: number; summary: LoadSummary | string }[] {
    return this.runs
      .filter(
        (r) => r.code !== 0 || !r.summary || r.summary.errors !== 0 || r.summary.stray !== 0 || r.summary.answered !== r.summary.requests,
      )
      .map((r) => ({ node: r.node, code: r.code, summary: r.summary ?? r.output }));
  }
}
