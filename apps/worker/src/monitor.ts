import { type Monitor, type Tracer, VERSION, createRegistry, scraped, startMonitor } from '@tsr/tsr';
import type { Worker } from './worker';

/** The worker's HTTP endpoint: metrics, probes and status JSON. */
export async function startWorkerMonitor(worker: Worker, port: number, host: string, trace: Tracer): Promise<Monitor> {
  const startedAt = performance.now();
  const registry = createRegistry();
  scraped(registry, 'counter', 'tsr_worker_requests_total', 'Requests served (replies sent)', () => worker.served);
  scraped(registry, 'counter', 'tsr_worker_reconnects_total', 'Reconnections after the broker fell silent', () => worker.reconnects);
  scraped(registry, 'gauge', 'tsr_worker_registered', '1 while registered with a broker that answers heartbeats', () => (worker.registration().ok ? 1 : 0));
  registry.registerMetric(worker.serviceTime as never);
  const monitor = await startMonitor(port, host, {
    registry,
    health: worker.health,
    ready: () => worker.registration(),
    status: () => ({ program: 'worker', version: VERSION, uptimeSeconds: Math.round((performance.now() - startedAt) / 1000), ...worker.status() }),
  });
  trace.info(`HTTP endpoint on port ${monitor.port}: /metrics /healthz /readyz /status`);
  return monitor;
}
