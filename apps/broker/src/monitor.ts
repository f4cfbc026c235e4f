import { type Tracer } from '@tsr/runtime';
import { type Monitor, startMonitor } from '@tsr/monitoring';
import { brokerRegistry } from './broker-metrics';
import type { BrokerServer } from './broker-server';
import { brokerStatus } from './broker-status';
import { STATUS_PAGE } from './status-page';

/** The broker's HTTP endpoint: metrics, probes, status JSON and the status page. */
export async function startBrokerMonitor(server: BrokerServer, port: number, host: string, trace: Tracer): Promise<Monitor> {
  const startedAt = performance.now();
  const monitor = await startMonitor(port, host, {
    registry: brokerRegistry(server),
    live: () => server.health.liveness(),
    ready: () => (server.bound ? { ok: true, why: 'frontend and backend bound' } : { ok: false, why: 'sockets not bound' }),
    status: () => brokerStatus(server, startedAt),
    page: STATUS_PAGE,
  });
  const shown = host === '*' || host === '0.0.0.0' ? 'localhost' : host;
  trace.info(`status page http://${shown}:${monitor.port}/ (also /metrics /healthz /readyz /status)`);
  return monitor;
}
