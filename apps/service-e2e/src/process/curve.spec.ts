import { copyFileSync, cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Dealer } from 'zeromq';
import { type AppProcess, curveClientSocketOptions, escapeRegExp, stopApp, waitForOutput } from '@tsr/testing';
import { type CurveKeyPair, deploymentBrokerKey, ensureDeploymentKeys, keyPairFromText, newKeyPair, writeKeyPair } from '@tsr/runtime';
import { eventually } from '../support/wait';
import { echoTail } from '../support/echo';
import { localDeployment } from '../support/deployment';
import { httpGet, metric, scrape } from '../support/monitoring';
import { PlainClient, RawWorker, plainRequest } from '../support/plain-peers';
import { TcpRelay } from '../support/tcp-relay';

// CURVE between real processes: keys as `keygen` makes them, peers of ours and plain ones.
describe('CURVE: only trusted peers', () => {
  let keys: string;
  let brokerPub: string;
  const key = (name: string) => join(keys, `${name}.key`);
  const pair = (name: string): CurveKeyPair => keyPairFromText(readFileSync(key(name), 'utf8'), name);
  /** A plain peer's socket options: the broker's public key and a key pair (a fresh one unless given). */
  const curveOf = (own: CurveKeyPair = newKeyPair(), serverKey = brokerPub) => curveClientSocketOptions({ serverKey, ...own });
  const workerArgs = (name: string) => ['--curve-server-key-file', join(keys, 'broker.pub'), '--curve-secret-key-file', key(name)];
  const clientArgs = () => ['--curve-server-key-file', join(keys, 'broker.pub')];

  const deployment = localDeployment();
  const startBroker = (args: string[] = []) =>
    deployment.startBroker(['--curve-secret-key-file', key('broker'), '--curve-workers', join(keys, 'workers'), ...args], { http: true });
  const metrics = () => scrape(deployment.httpPort);
  const registered = (w: AppProcess) => waitForOutput(w, /registered: the broker speaks TSR\/1/);

  beforeAll(() => {
    keys = join(mkdtempSync(join(tmpdir(), 'tsr-curve-')), 'secrets');
    ensureDeploymentKeys(keys);
    writeKeyPair(keys, 'intruder');
    writeKeyPair(keys, 'late');
    brokerPub = deploymentBrokerKey(keys);
  });
  afterAll(() => rmSync(join(keys, '..'), { recursive: true, force: true }));

  it('serves the right keys, from files or the environment: our worker and client, and plain CURVE peers', async () => {
    await startBroker();
    const byFile = await deployment.startWorker(0, {}, workerArgs('worker'));
    const worker = pair('worker');
    const byEnv = await deployment.startWorker(0, { CURVE_SERVER_KEY: brokerPub, CURVE_SECRET_KEY: worker.secretKey });
    await Promise.all([registered(byFile.worker), registered(byEnv.worker)]);

    const answer = await deployment.request('by file', clientArgs());
    expect(answer).toMatchObject({ code: 0, stdout: expect.stringMatching(/^by file W \S+\n$/) });
    const load = deployment.client(['--requests', '200', '--concurrency', '4'], { CURVE_SERVER_KEY: brokerPub });
    expect(await load.exited).toBe(0);
    expect(await plainRequest(deployment.frontendPort, 'plain REQ with CURVE', 5000, undefined, curveOf())).toMatch(
      /^plain REQ with CURVE W \S+$/,
    );
    // A seed-style REQ worker given a listed key is a worker like any other.
    const raw = new RawWorker(deployment.backendPort, 'W raw', false, curveOf(worker));
    try {
      await raw.ready();
      byFile.worker.child.kill('SIGTERM');
      byEnv.worker.child.kill('SIGTERM');
      const pending = plainRequest(deployment.frontendPort, 'for the raw worker', 5000, undefined, curveOf());
      const request = await eventually('the raw worker to get a request', async () => raw.requests[0]);
      await raw.reply(request.envelope, `${request.body} W raw`);
      expect(await pending).toBe('for the raw worker W raw');
    } finally {
      await raw.close();
    }
    const m = await metrics();
    expect(metric(m, 'tsr_broker_replies_total')).toBe(203);
    expect(metric(m, 'tsr_broker_refused_keys_total', { socket: 'backend' })).toBe(0);
    expect(metric(m, 'tsr_broker_refused_handshakes_total', { socket: 'frontend' })).toBe(0);
    expect(metric(m, 'tsr_broker_curve_admitted_total', { socket: 'backend' })).toBe(3);
    expect(metric(m, 'tsr_broker_allowed_keys', { socket: 'backend' })).toBe(1);
  });

  it('gives a client without the broker key, or with a wrong one, nothing, and keeps serving the others', async () => {
    const broker = await startBroker();
    await registered((await deployment.startWorker(0, {}, workerArgs('worker'))).worker);
    const noKey = deployment.request('no key', ['--timeout', '700', '--retries', '1']);
    const wrongKey = deployment.request('wrong key', [
      '--timeout',
      '700',
      '--retries',
      '1',
      '--curve-server-key-file',
      join(keys, 'worker.pub'),
    ]);
    const plain = plainRequest(deployment.frontendPort, 'plain REQ', 1000);
    const plainWrong = plainRequest(
      deployment.frontendPort,
      'plain REQ, wrong key',
      1000,
      undefined,
      curveOf(newKeyPair(), pair('intruder').publicKey),
    );
    const good = deployment.client(['--requests', '300', '--concurrency', '3', '--json', ...clientArgs()]);
    for (const refused of await Promise.all([noKey, wrongKey])) {
      expect(refused).toMatchObject({ code: 1, stdout: '', stderr: expect.stringContaining('no answer from') });
    }
    expect(await Promise.all([plain, plainWrong])).toEqual([undefined, undefined]);
    expect(await good.exited).toBe(0);
    expect(JSON.parse(good.stdout)).toMatchObject({ requests: 300, errors: 0 });
    const m = await metrics();
    expect(metric(m, 'tsr_broker_requests_total')).toBe(300); // not one of the refused ever reached the broker's logic
    expect(metric(m, 'tsr_broker_refused_handshakes_total', { socket: 'frontend' })).toBeGreaterThanOrEqual(4);
    expect(broker.stdout).toMatch(/refused a client .* on frontend: /);
    expect(broker.child.exitCode).toBeNull();
  });

  it("logs the address of a peer refused in the handshake: a plain REQ with another server's key, and one without CURVE that hangs up at once", async () => {
    const broker = await startBroker();
    expect(
      await plainRequest(deployment.frontendPort, 'wrong key', 300, undefined, curveOf(newKeyPair(), pair('intruder').publicKey)),
    ).toBeUndefined();
    await waitForOutput(
      broker,
      /refused a client from 127\.0\.0\.1:\d+ on frontend: HELLO does not open: the client has another server key/,
    );
    expect(await plainRequest(deployment.backendPort, 'no CURVE', 300)).toBeUndefined();
    await waitForOutput(
      broker,
      /refused a worker from 127\.0\.0\.1:\d+ on backend: (security mechanism NULL is not offered here \(CURVE\)|hung up (during the CURVE handshake|before its greeting was read))/,
    );
  });

  it('never gives a request to a worker whose key is not allowed, nor to a worker without CURVE', async () => {
    const broker = await startBroker();
    const good = await deployment.startWorker(0, {}, workerArgs('worker'));
    await registered(good.worker);
    const intruder = await deployment.startWorker(0, {}, workerArgs('intruder'));
    const rawIntruder = new RawWorker(deployment.backendPort, 'W raw intruder', true, curveOf(pair('intruder')));
    const seedStyle = new RawWorker(deployment.backendPort, 'W seed style', true);
    try {
      rawIntruder.readyRefused(true);
      seedStyle.readyRefused();
      await waitForOutput(intruder.worker, /the broker refused this worker's CURVE key/);
      // all three refused (ours and the raw intruder by key, the seed-style peer at its greeting) before any request
      await eventually('the three refused', async () => {
        const m = await metrics();
        return (
          (metric(m, 'tsr_broker_refused_keys_total', { socket: 'backend' }) ?? 0) >= 2 &&
          (metric(m, 'tsr_broker_refused_handshakes_total', { socket: 'backend' }) ?? 0) >= 1
        );
      });
      const client = new PlainClient(deployment.frontendPort, 3000, undefined, curveOf());
      const answers: (string | undefined)[] = [];
      for (let i = 0; i < 30; i++) {
        answers.push(await client.request(`r${i}`));
        if (answers[i] === undefined) break; // each of the rest would wait out its timeout too
      }
      client.close();
      expect(answers).toEqual(Array.from({ length: 30 }, (_, i) => `r${i} ${good.id}`));
      expect([rawIntruder.requests, seedStyle.requests, rawIntruder.heartbeats]).toEqual([[], [], []]);
      expect(intruder.worker.stdout).not.toMatch(/registered/);
    } finally {
      await Promise.all([rawIntruder.close(), seedStyle.close()]);
    }
    expect(broker.stdout).toMatch(
      new RegExp(
        `refused a worker from 127\\.0\\.0\\.1:\\d+ on backend: its key ${escapeRegExp(pair('intruder').publicKey)} is not in the allow-list`,
      ),
    );
  });

  it('admits a key added to the allow-list while running, and refuses one removed, after the reload; SIGHUP re-reads it', async () => {
    const allowed = join(keys, '..', 'live-workers');
    cpSync(join(keys, 'workers'), allowed, { recursive: true });
    const broker = await startBroker(['--curve-workers', allowed, '--heartbeat', '300']);
    const first = await deployment.startWorker(0, {}, [...workerArgs('worker'), '--heartbeat', '300']);
    const late = await deployment.startWorker(0, {}, [...workerArgs('late'), '--heartbeat', '300']);
    await registered(first.worker);
    await waitForOutput(late.worker, /the broker refused this worker's CURVE key/);

    copyFileSync(join(keys, 'late.pub'), join(allowed, 'late.pub'));
    await waitForOutput(broker, /changed: allow-list of backend re-read: 2 key\(s\), 1 added, 0 removed/);
    await registered(late.worker); // its next attempt, within its liveness window
    const servedBy = async (n: number) => {
      const client = new PlainClient(deployment.frontendPort, 3000, undefined, curveOf());
      const by = new Set<string>();
      for (let i = 0; i < n; i++) by.add((await client.request(`q${i}`))?.replace(/^q\d+ /, '') ?? 'no answer');
      client.close();
      return [...by].sort();
    };
    expect(await servedBy(20)).toEqual([first.id, late.id].sort());

    rmSync(join(allowed, 'worker.pub'));
    await waitForOutput(broker, /allow-list of backend re-read: 1 key\(s\), 0 added, 1 removed/);
    await waitForOutput(broker, /backend: \d+ connection\(s\) of removed keys dropped/);
    await waitForOutput(first.worker, new RegExp(`refused this worker's CURVE key \\(${escapeRegExp(pair('worker').publicKey)}`));
    await eventually(
      'only the late worker known to the broker',
      async () => JSON.parse((await httpGet(deployment.httpPort, '/status'))?.body ?? '{}').workers?.length === 1,
    );
    expect(await servedBy(20)).toEqual([late.id]);

    broker.child.kill('SIGHUP');
    await waitForOutput(broker, /SIGHUP: allow-list of backend re-read: 1 key\(s\), 0 added, 0 removed/);
    expect(broker.child.exitCode).toBeNull();
    expect(metric(await metrics(), 'tsr_broker_refused_keys_total', { socket: 'backend' })).toBeGreaterThanOrEqual(2);
  });

  it("drops a removed key's connections under load without stopping or losing a request", async () => {
    const allowed = join(keys, '..', 'busy-workers');
    cpSync(join(keys, 'workers'), allowed, { recursive: true });
    copyFileSync(join(keys, 'late.pub'), join(allowed, 'late.pub'));
    const broker = await startBroker(['--curve-workers', allowed]);
    for (const name of ['worker', 'late']) await registered((await deployment.startWorker(0, {}, workerArgs(name))).worker);
    const load = deployment.client(['--requests', '3000', '--concurrency', '8', '--json', ...clientArgs()]);
    await eventually('the load under way', async () => (metric(await metrics(), 'tsr_broker_requests_total') ?? 0) > 300);
    rmSync(join(allowed, 'late.pub')); // the backend is replaced while requests and replies cross it
    await waitForOutput(broker, /backend: \d+ connection\(s\) of removed keys dropped/);
    expect(await load.exited).toBe(0);
    expect(JSON.parse(load.stdout)).toMatchObject({ requests: 3000, errors: 0 });
    expect(broker.child.exitCode).toBeNull();
  });

  it('passes large answers on intact, each to its own client, with many in flight', async () => {
    // The backend reads answers of 64 KiB and more into memory the broker uses again once it has
    // passed them on: a byte of one answer in another's would show here. Plain libzmq DEALERs,
    // which trust what arrives, each with requests of one repeated byte of its own.
    await startBroker();
    for (let i = 0; i < 2; i++) await registered((await deployment.startWorker(0, {}, workerArgs('worker'))).worker);
    const sizes = [200_000, 1024 * 1024 - 64, 70_000, 100];
    const clients = [0, 1, 2].map(() => {
      const dealer = new Dealer({ linger: 0, ...curveOf() });
      deployment.own(dealer);
      dealer.connect(`tcp://127.0.0.1:${deployment.frontendPort}`);
      return dealer;
    });
    const results = await Promise.all(
      clients.map(async (dealer, c) => {
        const sent = Array.from({ length: 12 }, (_, i) => Buffer.alloc(sizes[i % sizes.length], 0x41 + c * 12 + i));
        await Promise.all(sent.map((body) => dealer.send([Buffer.alloc(0), body])));
        const got: string[] = [];
        for (let i = 0; i < sent.length; i++) {
          const [, answer] = await dealer.receive();
          const request = answer.subarray(0, answer.length - echoTail(answer));
          got.push(sent.some((body) => body.equals(request)) ? 'a request of its own' : `${answer.length} B, not one of its requests`);
        }
        return got;
      }),
    );
    expect(results).toEqual(clients.map(() => Array(12).fill('a request of its own')));
    expect(metric(await metrics(), 'tsr_broker_replies_total')).toBe(36);
  });

  it('admits only listed clients when the frontend has an allow-list', async () => {
    await startBroker(['--curve-clients', join(keys, 'clients')]);
    await registered((await deployment.startWorker(0, {}, workerArgs('worker'))).worker);
    expect(await deployment.request('listed', [...clientArgs(), '--curve-secret-key-file', key('client')])).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/^listed W /),
    });
    expect(await deployment.request('a fresh key', [...clientArgs(), '--timeout', '700', '--retries', '1'])).toMatchObject({
      code: 1,
      stdout: '',
    });
    expect(await plainRequest(deployment.frontendPort, 'intruder', 1000, undefined, curveOf(pair('intruder')))).toBeUndefined();
    const m = await metrics();
    expect(metric(m, 'tsr_broker_refused_keys_total', { socket: 'frontend' })).toBeGreaterThanOrEqual(2);
    expect(metric(m, 'tsr_broker_requests_total')).toBe(1);
  });

  it.each([
    ['on', 'hides', true],
    ['off', 'shows', false],
  ])('with CURVE %s, what crosses the network %s the request and the answer (a TCP relay records it)', async (_on, _shows, curve) => {
    const secret = `confidential-${Math.random().toString(36).slice(2)}`;
    if (curve) await startBroker();
    else await deployment.startBroker();
    const [front, back] = await Promise.all([TcpRelay.start(deployment.frontendPort), TcpRelay.start(deployment.backendPort)]);
    try {
      const worker = await deployment.startWorker(0, {}, ['--broker-port', String(back.port), ...(curve ? workerArgs('worker') : [])]);
      await registered(worker.worker);
      const result = await deployment.request(secret, ['--broker-port', String(front.port), ...(curve ? clientArgs() : [])]);
      expect(result).toMatchObject({ code: 0, stdout: `${secret} ${worker.id}\n` });
      const seen = [front.bytes, back.bytes].map((b) => ({
        bytes: b.length > 0,
        request: b.includes(secret),
        worker: b.includes(worker.id),
      }));
      expect(seen).toEqual(
        curve
          ? [
              { bytes: true, request: false, worker: false },
              { bytes: true, request: false, worker: false },
            ]
          : [
              { bytes: true, request: true, worker: true },
              { bytes: true, request: true, worker: true },
            ],
      );
    } finally {
      await Promise.all([front.close(), back.close()]);
    }
  });

  it('neither slows nor breaks under a flood of refused peers', async () => {
    const broker = await startBroker();
    await registered((await deployment.startWorker(0, {}, workerArgs('worker'))).worker);
    const load = () => deployment.client(['--requests', '1000', '--concurrency', '4', '--json', ...clientArgs()]);
    const quiet = load();
    expect(await quiet.exited).toBe(0);
    // 150 peers at once, on both sockets: no CURVE, a wrong server key, a key not allowed.
    const flood = Array.from({ length: 150 }, (_, i) => {
      const port = i % 2 ? deployment.frontendPort : deployment.backendPort;
      const options = [{}, curveOf(newKeyPair(), pair('intruder').publicKey), curveOf(pair('intruder'))][i % 3];
      return deployment.own(new RawWorker(port, `F${i}`, false, options)); // closed by stop() even if the test fails
    });
    const flooded = load();
    for (const f of flood) f.readyRefused();
    expect(await flooded.exited).toBe(0);
    const [before, during] = [quiet, flooded].map((p) => JSON.parse(p.stdout));
    expect(during).toMatchObject({ requests: 1000, errors: 0 });
    process.stdout.write(
      `CURVE flood: 1000 requests at ${Math.round(before.requestsPerSecond)} req/s alone, ${Math.round(during.requestsPerSecond)} req/s with 150 refused peers (p99 ${before.p99.toFixed(2)} -> ${during.p99.toFixed(2)} ms)\n`,
    );
    const refused = async () => {
      const m = await metrics();
      return ['frontend', 'backend'].reduce(
        (sum, socket) =>
          sum +
          (metric(m, 'tsr_broker_refused_handshakes_total', { socket }) ?? 0) +
          (metric(m, 'tsr_broker_refused_keys_total', { socket }) ?? 0),
        0,
      );
    };
    await eventually('150 refusals counted', async () => (await refused()) >= 150, 10_000);
    await Promise.all(flood.map((f) => f.close()));
    expect((await httpGet(deployment.httpPort, '/healthz'))?.status).toBe(200);
    expect(broker.child.exitCode).toBeNull();
    // The log says so, but not once per refusal.
    expect(broker.stdout.split('\n').filter((l) => l.includes('refused a ')).length).toBeLessThan(10);
    await stopApp(broker);
  });
});
