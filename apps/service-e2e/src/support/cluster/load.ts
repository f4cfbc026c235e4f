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
 * Per attempt, the client waits 5 s (above the broker's answer timeout plus a worker's delay,
 * so a lost worker's request is moved on by the broker before the client gives up on it); 20
 * attempts ride over a broker rescheduled on another node.
 */
const CLIENT_ARGS = ['--requests', '20', '--concurrency', '2', '--timeout', '5000', '--retries', '20', '--json'];

/**
 * Docker's own refusal to start the client because the node has, for a moment, no copy of the
 * overlay: a swarm worker node drops an attachable overlay when its last task on it leaves (workers
 * scaled down) and makes it again when asked. No client ran, so no request was sent.
 */
const NETWORK_NOT_ON_NODE = /network \S+ not found/i;
const DOCKER_REFUSED = 125;

/**
 * Clients under load, back to back, in containers on the stack's overlay network of each given
 * node (they reach the broker as `bro`, wherever it runs). Every answer is checked by the client
 * itself: it accepts only the answer that carries its request's id, counts the others as stray, and counts a
 * request that got no answer after its retries as an error.
 */
export class ContinuousLoad {
  readonly runs: LoadRun[] = [];
  /** Clients that Docker refused to start on a node that had, for a moment, no copy of the overlay. */
  refusedStarts = 0;
  private stopping = false;
  private done: Promise<unknown> = Promise.resolve();

  constructor(private readonly stack: ClusterStack) {}

  start(nodes: readonly ClusterNode[]): void {
    this.done = Promise.all(nodes.map((n) => this.loop(n)));
  }

  private async loop(node: ClusterNode): Promise<void> {
    while (!this.stopping && node.running) {
      const start = Date.now();
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
          ...CLIENT_ARGS,
        ],
        { timeoutMs: 180_000 },
      );
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

  /** Every load that ended: exit 0, every request answered, none by a wrong answer. */
  failures(): { node: string; code: number; summary: LoadSummary | string }[] {
    return this.runs
      .filter(
        (r) => r.code !== 0 || !r.summary || r.summary.errors !== 0 || r.summary.stray !== 0 || r.summary.answered !== r.summary.requests,
      )
      .map((r) => ({ node: r.node, code: r.code, summary: r.summary ?? r.output }));
  }
}
