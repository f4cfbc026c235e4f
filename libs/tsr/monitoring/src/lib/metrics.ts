import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { VERSION } from '@tsr/runtime';

export type { Registry };

/**
 * A registry with the process metrics (CPU, memory, event loop lag, GC) and, with `prefix`,
 * `<prefix>_build_info{version, node}` 1: which release and which Node a target runs.
 */
export function createRegistry(prefix?: string): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  if (prefix) {
    const info = new Gauge({
      name: `${prefix}_build_info`,
      help: 'The release and the Node.js version this process runs; always 1',
      labelNames: ['version', 'node'],
      registers: [registry],
    });
    info.set({ version: VERSION, node: process.versions.node }, 1);
  }
  return registry;
}

/** Latency buckets in seconds: from sub-millisecond forwarding to the seed's 1 s service time and the 30 s TTL. */
export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 1.5, 2.5, 5, 10, 30];

interface Sample {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

interface Collectable {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  aggregator: 'sum';
  get(): { name: string; help: string; type: string; aggregator: 'sum'; values: Sample[] };
}

/**
 * A histogram for hot paths: `observe` is a scan of a small array, where prom-client's
 * labelled histogram hashes labels on every call (docs/benchmarks/README.md, "What metrics
 * cost"). Registered in a prom-client registry, it is formatted as any histogram.
 */
export class FastHistogram implements Collectable {
  readonly type = 'histogram' as const;
  readonly aggregator = 'sum' as const;
  private readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: readonly number[] = LATENCY_BUCKETS,
  ) {
    this.counts = new Float64Array(buckets.length);
  }

  /** One observation, in seconds. */
  observe(value: number): void {
    this.sum += value;
    this.count++;
    const b = this.buckets;
    for (let i = 0; i < b.length; i++) {
      if (value <= b[i]) {
        this.counts[i]++;
        return;
      }
    }
  }

  /** Cumulative counts per upper bound, as Prometheus' `le` buckets (the last is +Inf = count). */
  cumulative(): { le: number; count: number }[] {
    let running = 0;
    return this.buckets.map((le, i) => ({ le, count: (running += this.counts[i]) }));
  }

  get() {
    const values: Sample[] = this.cumulative().map(({ le, count }) => ({
      value: count,
      labels: { le },
      metricName: `${this.name}_bucket`,
    }));
    values.push({ value: this.count, labels: { le: '+Inf' }, metricName: `${this.name}_bucket` });
    values.push({ value: this.sum, labels: {}, metricName: `${this.name}_sum` });
    values.push({ value: this.count, labels: {}, metricName: `${this.name}_count` });
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}

/**
 * A counter or gauge whose values are read when Prometheus scrapes, from counters the program
 * keeps anyway: nothing is added to the path of a message. `read` returns one value, or values by
 * the one label `label`.
 */
export function scraped(
  registry: Registry,
  type: 'counter' | 'gauge',
  name: string,
  help: string,
  read: () => number | Record<string, number>,
  label = '',
): void {
  const metric: Collectable = {
    name,
    help,
    type,
    aggregator: 'sum',
    get() {
      const v = read();
      const values =
        typeof v === 'number' ? [{ value: v, labels: {} }] : Object.entries(v).map(([key, value]) => ({ value, labels: { [label]: key } }));
      return { name, help, type, aggregator: 'sum', values };
    },
  };
  registry.registerMetric(metric as never);
}
