import { request } from 'node:http';
import { Health } from './health';
import { createRegistry, scraped } from './metrics';
import { type Monitor, startMonitor } from './monitor';

const get = (port: number, path: string, method = 'GET') =>
  new Promise<{ status: number; type: string; body: string }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
    });
    req.on('error', reject);
    req.end();
  });

describe('startMonitor', () => {
  let monitor: Monitor | undefined;
  afterEach(async () => monitor?.close());

  async function start(ready = true, page?: string) {
    const registry = createRegistry();
    scraped(registry, 'counter', 't_requests_total', 'requests', () => 3);
    const health = new Health();
    const fatal = health.watch('frontend', () => undefined);
    monitor = await startMonitor(0, '127.0.0.1', {
      registry,
      live: () => health.liveness(),
      ready: () => ({ ok: ready, why: ready ? 'bound' : 'not bound' }),
      status: () => ({ workers: [] }),
      page,
    });
    return { port: monitor.port, fatal };
  }

  it('serves metrics in the Prometheus text format, status as JSON and the page', async () => {
    const { port } = await start(true, '<h1>page</h1>');
    const metrics = await get(port, '/metrics');
    expect(metrics).toMatchObject({ status: 200, type: expect.stringContaining('text/plain; version=0.0.4') });
    expect(metrics.body).toMatch(/^t_requests_total 3$/m);
    expect(JSON.parse((await get(port, '/status')).body)).toEqual({ workers: [] });
    expect(await get(port, '/')).toMatchObject({ status: 200, type: 'text/html; charset=utf-8', body: '<h1>page</h1>' });
  });

  it('answers the probes 200 when green and 503 with the reason when red', async () => {
    const { port, fatal } = await start(false);
    expect(await get(port, '/healthz')).toMatchObject({ status: 200, body: 'ok: receive loops alive: frontend\n' });
    expect(await get(port, '/readyz')).toMatchObject({ status: 503, body: 'failing: not bound\n' });
    fatal(new Error('frontend receive loop failed: boom'));
    expect(await get(port, '/healthz')).toMatchObject({ status: 503, body: 'failing: frontend receive loop failed: boom\n' });
  });

  it('has no page where the program has none, and refuses anything but GET and HEAD', async () => {
    const { port } = await start();
    expect((await get(port, '/')).status).toBe(404);
    expect((await get(port, '/nothing')).status).toBe(404);
    expect((await get(port, '/metrics', 'POST')).status).toBe(405);
    expect(await get(port, '/healthz', 'HEAD')).toMatchObject({ status: 200, body: '' });
  });
});
