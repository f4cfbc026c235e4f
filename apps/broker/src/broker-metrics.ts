import { type Registry, createRegistry, registerCurveMetrics, scraped } from '@tsr/monitoring';
import type { BrokerServer } from './broker-server';

/**
 * The broker's Prometheus metrics. Every counter and gauge is read at scrape time from what the
 * core and the adapter count anyway, so the path of a message pays nothing for them; the one
 * per-message cost is the latency histogram's `observe`.
 */
export function brokerRegistry(server: BrokerServer): Registry {
  const registry = createRegistry('tsr_broker');
  const { stats } = server.core;
  const counter = (name: string, help: string, read: () => number | Record<string, number>, label?: string) =>
    scraped(registry, 'counter', `tsr_broker_${name}`, help, read, label);
  const gauge = (name: string, help: string, read: () => number | Record<string, number>, label?: string) =>
    scraped(registry, 'gauge', `tsr_broker_${name}`, help, read, label);
  counter('requests_total', 'Client requests received, accepted or not', () => stats.requests);
  counter('replies_total', 'Replies forwarded to clients', () => stats.replies);
  counter('dispatched_total', 'Requests sent to workers, first sends and re-dispatches', () => stats.dispatched);
  counter('redispatched_total', 'Requests sent again after their worker failed', () => stats.redispatched);
  counter('rejected_total', 'Requests answered with a TSR/1 ERR, by reason', () => ({ ...stats.rejected }), 'reason');
  counter(
    'deadline_passed_total',
    'Requests ended unanswered at their own deadline (their client had stopped waiting): dropped waiting, or their answer dropped',
    () => ({ waiting: stats.deadlinePassed.queue, answered: stats.deadlinePassed.answer }),
    'where',
  );
  counter(
    'abandoned_total',
    "Requests not dispatched because their client's connection was gone when their turn came (a client that retried on a new connection, or quit)",
    () => stats.abandoned,
  );
  counter('dropped_replies_total', 'Worker replies never forwarded: late, stale or foreign tickets', () => ({ ...stats.dropped }), 'kind');
  counter(
    'client_backlog_drops_total',
    'Messages to clients (answers, refusals) dropped because the client had more than its share (--max-client-bytes) and one reply waiting to be written: a client that does not read',
    () => server.frontend.backedUpDrops,
  );
  counter(
    'malformed_frames_total',
    'Messages dropped for breaking TSR/1 or the seed envelope, by socket',
    () => ({ ...server.malformed }),
    'socket',
  );
  counter(
    'protocol_errors_total',
    'Connections dropped for breaking ZMTP (greeting, handshake, framing, size bounds), by socket',
    () => ({ ...server.protocolErrors }),
    'socket',
  );
  counter(
    'connections_over_limit_total',
    'Connections closed on arrival because --max-connections were open, by socket',
    () => ({ ...server.overLimit }),
    'socket',
  );
  counter('worker_failures_total', 'Workers declared failed (deadline missed, silent, restarted)', () => stats.workerFailures);
  counter('workers_lost_total', 'Heartbeating workers that fell silent', () => stats.workersLost);
  counter('refused_workers_total', 'Readies refused (no routing id of its own, or --max-workers reached)', () => stats.refusedWorkers);
  counter('credit_moves_total', 'Windows workers of several brokers moved here (TSR/1 CREDIT)', () => stats.credits);
  counter('credit_wants_total', 'Demands for credit sent to workers of several brokers (TSR/1 WANT)', () => stats.wants);
  gauge(
    'workers',
    'Live workers by state: busy (holds requests) or idle',
    () => {
      const load = server.core.load();
      return { busy: load.busy, idle: load.workers - load.busy };
    },
    'state',
  );
  gauge(
    'workers_with_credit',
    'Workers that may be sent another request (a busy worker with credit left counts)',
    () => server.core.readyCount,
  );
  gauge('pending_requests', 'Requests waiting for a worker', () => server.core.pendingCount);
  gauge('in_service_requests', 'Requests sent to a worker and not answered yet', () => server.core.load().inService);
  gauge('held_bytes', 'Bytes of requests held, waiting or in service (bounded by --max-queue-bytes)', () => server.core.load().queueBytes);
  const perService = (field: 'ready' | 'busy' | 'waiting') => () =>
    Object.fromEntries(server.core.serviceSnapshot().map((s) => [s.name, s[field]]));
  gauge('service_workers_idle', 'Workers of each service holding no request', perService('ready'), 'service');
  gauge('service_workers_busy', 'Workers of each service holding at least one request', perService('busy'), 'service');
  gauge('service_waiting_requests', 'Requests waiting for a worker of each service', perService('waiting'), 'service');
  registry.registerMetric(server.latency as never);
  if (server.curve) registerCurveMetrics(registry, server.curve, 'tsr_broker');
  return registry;
}
