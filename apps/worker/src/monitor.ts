import type { Worker, WorkerBrokerStatus } from '@tsr-broker/worker';
import { type Tracer, VERSION } from '@tsr/runtime';
import { type FastHistogram, type Monitor, createRegistry, scraped, startMonitor } from '@tsr/monitoring';

/** What the program adds to the library's worker: its service time histogram and its delay. */
export interface EchoStats {
  serviceTime: FastHistogram;
  delayMs: number;
}

/** The worker's HTTP endpoint: metrics, probes and status JSON. */
export async function startWorkerMonitor(worker: Worker, echo: EchoStats, port: number, host: string, trace: Tracer): Promise<Monitor> {
  const startedAt = performance.now();
  const registry = createRegistry('tsr_worker');
  scraped(registry, 'counter', 'tsr_worker_requests_total', 'Requests served (replies sent)', () => worker.served);
  scraped(registry, 'counter', 'tsr_worker_failures_total', 'Requests whose handler failed (error answers sent)', () => worker.failed);
  scraped(
    registry,
    'counter',
    'tsr_worker_requests_expired_total',
    'Requests skipped because their deadline passed before their turn (failure answers sent, the handler not called)',
    () => worker.expired,
  );
  scraped(registry, 'counter', 'tsr_worker_reconnects_total', 'Reconnections after the broker fell silent', () => worker.reconnects);
  scraped(
    registry,
    'counter',
    'tsr_worker_malformed_messages_total',
    'Messages from the broker that broke TSR/1, ignored',
    () => worker.malformed,
  );
  scraped(
    registry,
    'counter',
    'tsr_worker_protocol_errors_total',
    'Connections to the broker dropped for breaking ZMTP',
    () => worker.protocolErrors,
  );
  // Which broker served what: answers sent back to each broker, and each one's share of the credit now.
  const byBroker = (pick: (b: WorkerBrokerStatus) => number) => () =>
    Object.fromEntries(worker.status().brokers.map((b) => [b.endpoint, pick(b)]));
  scraped(
    registry,
    'counter',
    'tsr_worker_broker_answers_total',
    'Answers sent to each broker',
    byBroker((b) => b.served),
    'broker',
  );
  scraped(
    registry,
    'gauge',
    'tsr_worker_broker_window',
    "Each broker's share of the credit now",
    byBroker((b) => b.window),
    'broker',
  );
  scraped(
    registry,
    'gauge',
    'tsr_worker_held',
    'Requests held now (queued or being served), all brokers together',
    () => worker.status().held,
  );
  scraped(registry, 'gauge', 'tsr_worker_registered', '1 while registered with a broker that answers heartbeats', () =>
    worker.registration().ok ? 1 : 0,
  );
  registry.registerMetric(echo.serviceTime as never);
  const monitor = await startMonitor(port, host, {
    registry,
    live: () => worker.liveness(),
    ready: () => worker.registration(),
    status: () => ({
      program: 'worker',
      version: VERSION,
      uptimeSeconds: Math.round((performance.now() - startedAt) / 1000),
      ...worker.status(),
      delayMs: echo.delayMs,
    }),
  });
  trace.info(`HTTP endpoint on port ${monitor.port}: /metrics /healthz /readyz /status`);
  return monitor;
}
