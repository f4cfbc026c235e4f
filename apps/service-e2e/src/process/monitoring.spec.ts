import { freePort, stopApp } from '@tsr/testing';
import { VERSION } from '@tsr/runtime';
import { eventually } from '../support/wait';
import { localDeployment, preload } from '../support/deployment';
import { BREAK_LOOP, BREAK_LOOP_PRELOAD, httpGet, metric, scrape } from '../support/monitoring';

/** Waits until `path` on `port` answers with `status`; returns the body. */
const answers = (port: number, path: string, status: number, timeoutMs = 10_000) =>
  eventually(
    `GET :${port}${path} -> ${status}`,
    async () => {
      const r = await httpGet(port, path);
      return r?.status === status ? r.body : undefined;
    },
    timeoutMs,
    50,
  );

describe('monitoring endpoints of real processes', () => {
  const deployment = localDeployment();

  it('the broker counts what it did and lists its workers; each worker counts what it served', async () => {
    await deployment.startBroker([], { http: true });
    const brokerHttp = deployment.httpPort;
    const workerHttp = [await freePort(), await freePort()];
    const ids: string[] = [];
    for (const port of workerHttp) ids.push((await deployment.startWorker(5, {}, ['--http-port', String(port), '--credit', '2'])).id);
    await eventually(
      '2 workers in /status',
      async () => JSON.parse((await httpGet(brokerHttp, '/status'))?.body ?? '{"workers":[]}').workers.length === 2,
    );

    const load = deployment.client(['--requests', '60', '--concurrency', '6']);
    expect(await load.exited).toBe(0);
    expect(await deployment.request('one more')).toMatchObject({ code: 0 }); // 61 in all

    const metrics = await scrape(brokerHttp);
    expect(metric(metrics, 'tsr_broker_requests_total')).toBe(61);
    expect(metric(metrics, 'tsr_broker_replies_total')).toBe(61);
    expect(metric(metrics, 'tsr_broker_rejected_total', { reason: 'overloaded' })).toBe(0);
    expect(metric(metrics, 'tsr_broker_malformed_frames_total', { socket: 'frontend' })).toBe(0);
    expect(metric(metrics, 'tsr_broker_protocol_errors_total', { socket: 'backend' })).toBe(0);
    expect(metric(metrics, 'tsr_broker_build_info', { version: VERSION, node: process.versions.node })).toBe(1);
    expect(metric(metrics, 'tsr_broker_workers', { state: 'idle' })).toBe(2);
    expect(metric(metrics, 'tsr_broker_pending_requests')).toBe(0);
    expect(metric(metrics, 'tsr_broker_request_duration_seconds_count')).toBe(61);
    expect(metric(metrics, 'tsr_broker_request_duration_seconds_bucket', { le: '+Inf' })).toBe(61);
    expect(metric(metrics, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(metric(metrics, 'tsr_broker_service_workers_idle', { service: 'default' })).toBe(2);
    expect(metric(metrics, 'tsr_broker_service_workers_busy', { service: 'default' })).toBe(0);
    expect(metric(metrics, 'tsr_broker_service_waiting_requests', { service: 'default' })).toBe(0);

    const status = JSON.parse((await httpGet(brokerHttp, '/status'))?.body ?? '{}');
    expect(status).toMatchObject({
      program: 'broker',
      version: expect.stringMatching(/^\d+\.\d+\.\d+/),
      queue: { pending: 0, inService: 0, bytes: 0 },
    });
    expect(status.workers.map((w: { id: string }) => w.id).sort()).toEqual([...ids].sort());
    for (const w of status.workers)
      expect(w).toMatchObject({ kind: 'TSR/1', service: 'default', credit: 2, outstanding: 0, lastHeardMsAgo: expect.any(Number) });
    expect(status.services).toEqual([{ name: 'default', workers: 2, ready: 2, busy: 0, waiting: 0 }]);

    let served = 0;
    for (const port of workerHttp) {
      const text = await scrape(port);
      served += metric(text, 'tsr_worker_requests_total') ?? NaN;
      expect(metric(text, 'tsr_worker_service_seconds_count')).toBe(metric(text, 'tsr_worker_requests_total'));
      expect(metric(text, 'tsr_worker_registered')).toBe(1);
      expect(metric(text, 'tsr_worker_protocol_errors_total')).toBe(0);
      expect(metric(text, 'tsr_worker_build_info', { version: VERSION, node: process.versions.node })).toBe(1);
      expect(await answers(port, '/readyz', 200)).toMatch(/^ok: registered/);
      expect(await answers(port, '/healthz', 200)).toBe('ok: receive loops alive: broker\n');
    }
    expect(served).toBe(61);
    expect(await answers(brokerHttp, '/healthz', 200)).toBe('ok: receive loops alive: frontend, backend\n');
    expect(await answers(brokerHttp, '/readyz', 200)).toBe('ok: frontend and backend bound\n');
  });

  it('a broker whose receive loop breaks exits 1 and its probe fails', async () => {
    const broker = await deployment.startBroker([], { http: true, env: preload(BREAK_LOOP_PRELOAD) });
    expect(await answers(deployment.httpPort, '/healthz', 200)).toMatch(/^ok/);
    await deployment.request(BREAK_LOOP, ['--timeout', '500', '--retries', '0']);
    expect(await broker.exited).toBe(1);
    expect(broker.stderr).toContain('broker: error: frontend receive loop failed: injected socket failure');
    expect(await httpGet(deployment.httpPort, '/healthz')).toBeUndefined();
  });

  it('a worker whose receive loop breaks exits 1 and its probe fails', async () => {
    await deployment.startBroker();
    const http = await freePort();
    const { worker } = await deployment.startWorker(0, preload(BREAK_LOOP_PRELOAD), ['--http-port', String(http)]);
    expect(await answers(http, '/readyz', 200)).toMatch(/^ok: registered/);
    await deployment.request(BREAK_LOOP, ['--timeout', '500', '--retries', '0']);
    expect(await worker.exited).toBe(1);
    expect(worker.stderr).toContain('worker: error: broker receive loop failed: injected socket failure');
    expect(await httpGet(http, '/healthz')).toBeUndefined();
  });

  it('a worker whose broker is gone turns not ready but stays live, and ready again when a broker is back', async () => {
    const broker = await deployment.startBroker(['--heartbeat', '100']);
    const http = await freePort();
    await deployment.startWorker(0, {}, ['--heartbeat', '100', '--http-port', String(http)]);
    expect(await answers(http, '/readyz', 200)).toMatch(/^ok: registered/);
    await stopApp(broker, 'SIGKILL');
    expect(await answers(http, '/readyz', 503, 5000)).toMatch(/^failing: (broker silent|not registered)/);
    expect(await answers(http, '/healthz', 200)).toMatch(/^ok/);
    await deployment.startBroker(['--heartbeat', '100']); // same ports
    expect(await answers(http, '/readyz', 200, 15_000)).toMatch(/^ok: registered/);
  });

  it("writes JSON lines with --log-format json, and has no HTTP endpoint unless asked (the seed's command lines)", async () => {
    const broker = await deployment.startBroker(['--log-format', 'json']);
    const lines = broker.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines[0]).toMatchObject({
      level: 'info',
      program: 'broker',
      instance: expect.any(String),
      msg: expect.stringMatching(/^frontend tcp/),
    });
    expect(Date.now() - Date.parse(lines[0].time)).toBeLessThan(60_000);
    expect(broker.stdout).not.toMatch(/status page/);
  });
});
