import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Probe } from './health';

/** What a program shows on its monitoring port. */
export interface MonitorSources {
  registry: Registry;
  /** `/healthz`: the receive loops alive, the event loop not stalled. */
  live: () => Probe;
  /** `/readyz`: the broker has bound its sockets; a worker is registered with a live broker. */
  ready: () => Probe;
  /** `/status`: a JSON snapshot of the program's state. */
  status: () => unknown;
  /** `/`: an HTML page, where the program has one. */
  page?: string;
}

export interface Monitor {
  readonly port: number;
  close(): Promise<void>;
}

type Reply = [status: number, type: string, body: string];

const probe = (p: Probe): Reply => [p.ok ? 200 : 503, 'text/plain; charset=utf-8', `${p.ok ? 'ok' : 'failing'}: ${p.why}\n`];

/**
 * The HTTP monitoring endpoint: `/metrics` (Prometheus text format), `/healthz` (liveness),
 * `/readyz` (readiness), `/status` (JSON) and `/` (the status page). Read-only: GET and HEAD.
 */
export function startMonitor(port: number, host: string, sources: MonitorSources): Promise<Monitor> {
  const routes: Record<string, () => Promise<Reply> | Reply> = {
    '/metrics': async () => [200, sources.registry.contentType, await sources.registry.metrics()],
    '/healthz': () => probe(sources.live()),
    '/readyz': () => probe(sources.ready()),
    '/status': () => [200, 'application/json', JSON.stringify(sources.status())],
  };
  if (sources.page !== undefined) routes['/'] = () => [200, 'text/html; charset=utf-8', sources.page as string];
  const server: Server = createServer((req, res) => {
    const route = routes[(req.url ?? '/').split('?')[0]];
    const reply = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(405, 'text/plain', 'GET only\n');
    if (!route) return reply(404, 'text/plain', `not found; try ${Object.keys(routes).join(' ')}\n`);
    Promise.resolve()
      .then(route)
      .then(([status, type, body]) => reply(status, type, body))
      .catch((e: Error) => reply(500, 'text/plain', `${e.message}\n`));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host === '*' ? undefined : host, () => {
      server.off('error', reject);
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () => new Promise((done) => server.close(() => done())),
      });
    });
  });
}
