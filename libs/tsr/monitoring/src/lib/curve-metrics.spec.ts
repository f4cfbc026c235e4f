import { registerCurveMetrics } from './curve-metrics';
import { createRegistry } from './metrics';

describe('registerCurveMetrics', () => {
  it("reads a guard's counters per socket at scrape time", async () => {
    const guard = {
      admitted: { frontend: 1, backend: 0 },
      refused: { frontend: { key: 0, handshake: 2 }, backend: { key: 1, handshake: 0 } },
      allowedCount: (socket: string) => (socket === 'backend' ? 1 : -1),
    };
    const registry = createRegistry();
    registerCurveMetrics(registry, guard, 'x');
    guard.admitted.backend = 3; // counted after registration: read when scraped
    const text = await registry.metrics();
    expect(text).toContain('x_refused_keys_total{socket="backend"} 1');
    expect(text).toContain('x_refused_handshakes_total{socket="frontend"} 2');
    expect(text).toContain('x_curve_admitted_total{socket="frontend"} 1');
    expect(text).toContain('x_curve_admitted_total{socket="backend"} 3');
    expect(text).toContain('x_allowed_keys{socket="backend"} 1');
    expect(text).toContain('x_allowed_keys{socket="frontend"} -1');
  });
});
