import { FastHistogram, createRegistry, scraped } from './metrics';
import { VERSION } from '@tsr/runtime';

describe('FastHistogram', () => {
  it('counts each observation in the first bucket that holds it, with sum and count', () => {
    const h = new FastHistogram('t_seconds', 'test', [0.1, 1]);
    for (const v of [0.05, 0.1, 0.5, 3]) h.observe(v);
    expect(h.cumulative()).toEqual([
      { le: 0.1, count: 2 },
      { le: 1, count: 3 },
    ]);
    expect(h.count).toBe(4);
    expect(h.sum).toBeCloseTo(3.65);
  });

  it('is formatted by prom-client as a Prometheus histogram', async () => {
    const registry = createRegistry();
    const h = new FastHistogram('t_seconds', 'a test histogram', [0.1, 1]);
    registry.registerMetric(h as never);
    h.observe(0.5);
    const text = await registry.metrics();
    expect(text).toContain(
      '# TYPE t_seconds histogram\nt_seconds_bucket{le="0.1"} 0\nt_seconds_bucket{le="1"} 1\nt_seconds_bucket{le="+Inf"} 1\nt_seconds_sum 0.5\nt_seconds_count 1',
    );
  });
});

describe('scraped', () => {
  it('reads counters and labelled values when scraped, not before', async () => {
    const registry = createRegistry();
    const state = { requests: 0, rejected: { overloaded: 0, poison: 0 } };
    scraped(registry, 'counter', 't_requests_total', 'requests', () => state.requests);
    scraped(registry, 'counter', 't_rejected_total', 'rejected', () => ({ ...state.rejected }), 'reason');
    state.requests = 7;
    state.rejected.poison = 2;
    const text = await registry.metrics();
    expect(text).toContain('# TYPE t_requests_total counter\nt_requests_total 7');
    expect(text).toContain('t_rejected_total{reason="overloaded"} 0\nt_rejected_total{reason="poison"} 2');
  });

  it('comes with the process metrics', async () => {
    const text = await createRegistry().metrics();
    expect(text).toMatch(/^process_cpu_seconds_total \d/m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds \d/m);
  });
});

describe('createRegistry', () => {
  it('with a prefix, says which release and which Node this process runs, as <prefix>_build_info 1', async () => {
    const text = await createRegistry('x').metrics();
    expect(text).toContain(`x_build_info{version="${VERSION}",node="${process.versions.node}"} 1`);
    expect(await createRegistry().metrics()).not.toContain('_build_info');
  });
});
