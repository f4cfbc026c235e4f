import { hostname } from 'node:os';
import { VERSION } from '@tsr/runtime';
import type { BrokerServer } from './broker-server';

/** `/status`: what an operator (and the status page) wants to see at a glance, as JSON. */
export function brokerStatus(server: BrokerServer, startedAt: number) {
  const now = performance.now();
  const load = server.core.load();
  const { stats } = server.core;
  return {
    program: 'broker',
    version: VERSION,
    // Which broker this is, where several serve at once: its host and its instance (new at each start).
    host: hostname(),
    instance: server.instance.toString('hex'),
    uptimeSeconds: Math.round((now - startedAt) / 1000),
    services: server.core.serviceSnapshot(),
    workers: server.core
      .workerSnapshot()
      .map(({ lastHeard, ...w }) => ({ ...w, lastHeardMsAgo: Math.max(0, Math.round(now - lastHeard)) })),
    queue: { pending: load.pending, inService: load.inService, bytes: load.queueBytes, clients: load.clients },
    counters: {
      requests: stats.requests,
      replies: stats.replies,
      dispatched: stats.dispatched,
      redispatched: stats.redispatched,
      workerFailures: stats.workerFailures,
      rejected: { ...stats.rejected },
      dropped: { ...stats.dropped },
      malformed: { ...server.malformed },
    },
    latency: { count: server.latency.count, sumSeconds: server.latency.sum },
  };
}
