import { createConnection } from 'node:net';
import { Dealer } from 'zeromq';
import { appMain, freePort, isListening, spawnProgram, stopApp, waitForOutput } from '@tsr/testing';
import { localDeployment } from '../support/deployment';
import { sleep } from '../support/wait';

const REPLY = /^(\S+) (W \S+)\n$/;

describe('the service as real processes on loopback', () => {
  const deployment = localDeployment();

  it('answers each of 20 concurrent clients exactly once, spread over 3 workers', async () => {
    await deployment.startBroker();
    const ids = await Promise.all([0, 1, 2].map(async () => (await deployment.startWorker(50)).id));
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => deployment.request(`req-${i}`)));
    const servedBy = new Set<string>();
    results.forEach((r, i) => {
      expect(r.code).toBe(0);
      const match = r.stdout.match(REPLY);
      expect(match?.[1]).toBe(`req-${i}`); // exactly one line, answering this client's own request
      servedBy.add(match?.[2] ?? '');
    });
    expect([...servedBy].sort()).toEqual([...ids].sort());
  });

  it('answers through another worker when the one holding the request is killed with SIGKILL', async () => {
    await deployment.startBroker(['--answer-timeout', '1000']);
    const slow = await deployment.startWorker(5000, { TSR_LOG: 'trace' });
    const pending = deployment.request('survivor');
    await waitForOutput(slow.worker, /procesaPeticion/); // the request is in the slow worker's hands
    const spare = await deployment.startWorker(0);
    await stopApp(slow.worker, 'SIGKILL');
    const result = await pending;
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`survivor ${spare.id}\n`);
  });

  it('counts and drops garbage on both sockets and keeps serving correct clients', async () => {
    const broker = await deployment.startBroker();
    // Well-framed ZeroMQ messages that break the protocol (a DEALER's frames arrive after its routing id).
    const garbage = [
      ['x'],
      ['a', 'b', 'c', 'd'],
      ['', 'x', 'y'],
      ['nodelimiter', 'x'],
      [Buffer.alloc(100_000, 1)],
      ['', 'client', 'not-empty', 'body'],
    ];
    const fakeWorker = new Dealer({ linger: 0, routingId: 'W fake' });
    const prober = new Dealer({ linger: 0 });
    try {
      fakeWorker.connect(`tcp://127.0.0.1:${deployment.backendPort}`);
      for (const frames of garbage) await fakeWorker.send(frames);
      await fakeWorker.send(['', '', '', '']); // then a correct "ready": it serves like a worker
      void (async () => {
        for await (const [, client, , body] of fakeWorker) await fakeWorker.send(['', client, '', `${body} W fake`]);
      })().catch(() => undefined);
      prober.connect(`tcp://127.0.0.1:${deployment.frontendPort}`);
      for (const frames of garbage) await prober.send(frames);
      await prober.send(['', 'probe']);
      // ZeroMQ keeps order per connection: this answer means every frame above has been handled.
      const [, reply] = await prober.receive();
      expect(reply.toString()).toBe('probe W fake');
    } finally {
      prober.close();
    }
    for (const port of [deployment.frontendPort, deployment.backendPort]) {
      // Bytes that are not ZMTP at all: the broker hangs up (with CURVE, libzmq waits for the rest of a handshake, so hang up ourselves).
      await new Promise<void>((resolve) => {
        const raw = createConnection(port, '127.0.0.1', () => raw.write(Buffer.from('GET / HTTP/1.1\r\n\r\n'.repeat(50))));
        raw.on('error', () => undefined);
        setTimeout(() => resolve(void raw.destroy()), 200);
      });
    }
    await deployment.startWorker(0);
    const result = await deployment.request('still-there');
    expect(result.stdout).toMatch(/^still-there W \S+\n$/);
    fakeWorker.close();
    expect(broker.child.exitCode).toBeNull();
    await stopApp(broker);
    expect(broker.stdout).toMatch(/requests 2, replies 2, .*malformed frontend 6, malformed backend 6/);
  });

  describe('orderly shutdown', () => {
    it.each(['SIGTERM', 'SIGINT'] as const)('the broker exits 0 within 1 s on %s and frees its ports', async (signal) => {
      const broker = await deployment.startBroker();
      await deployment.startWorker(0);
      expect(await isListening(deployment.frontendPort)).toBe(true);
      const { code, ms } = await stopApp(broker, signal);
      expect(code).toBe(0);
      expect(ms).toBeLessThan(1000);
      expect(await isListening(deployment.frontendPort)).toBe(false);
      expect(await isListening(deployment.backendPort)).toBe(false);
    });

    it('a worker exits 0 within 1 s on SIGTERM, busy or not', async () => {
      await deployment.startBroker();
      const idle = await deployment.startWorker(0);
      const busy = await deployment.startWorker(10_000, { TSR_LOG: 'trace' });
      await stopApp(idle.worker);
      void deployment.request('x');
      await waitForOutput(busy.worker, /procesaPeticion/);
      for (const w of [idle.worker, busy.worker]) {
        const { code, ms } = await stopApp(w);
        expect(code).toBe(0);
        expect(ms).toBeLessThan(1000);
      }
    });

    it('a client waiting for its answer exits 0 within 1 s on SIGTERM', async () => {
      await deployment.startBroker(); // no worker: the request waits
      const client = deployment.client();
      await new Promise((r) => setTimeout(r, 300));
      const { code, ms } = await stopApp(client);
      expect(code).toBe(0);
      expect(ms).toBeLessThan(1000);
    });
  });

  describe('bad input', () => {
    it.each([
      ['broker', ['70000', '9999'], /--frontend-port must be a port number/],
      ['broker', ['9998', '9999', '--answer-timeout', '0'], /--answer-timeout must be an integer/],
      ['worker', ['host', 'port'], /--broker-port must be a port number/],
      ['client', ['localhost', '9998', '--bogus'], /unknown option --bogus/],
    ] as const)('%s %j exits 2 with one line and no stack trace', async (app, args, message) => {
      const proc = deployment.spawn(app, args);
      expect(await proc.exited).toBe(2);
      expect(proc.stderr).toMatch(message);
      expect(proc.stderr.trim().split('\n')).toHaveLength(1);
    });

    // The program's first dial comes once Node has started it (a few hundred ms, more on a loaded
    // machine); the line must follow within 1 s of that.
    it.each([
      ['client', ['--timeout', '10000']],
      ['worker', []],
    ] as const)('a %s pointed at a closed port says so once, with the address and the reason, and keeps trying', async (app, args) => {
      const port = await freePort();
      const started = Date.now();
      const proc = deployment.spawn(app, ['127.0.0.1', String(port), ...args]);
      const line = await waitForOutput(proc, /warning: cannot reach the broker at .*/, 5000);
      expect(line).toBe(
        `warning: cannot reach the broker at tcp://127.0.0.1:${port}: connection refused (nothing listens on that port) (connect ECONNREFUSED 127.0.0.1:${port}); trying again`,
      );
      expect(Date.now() - started).toBeLessThan(2000);
      await sleep(1500); // it dials again meanwhile, for the same reason
      expect(proc.stderr.match(/cannot reach the broker/g)).toHaveLength(1);
      expect(proc.child.exitCode).toBeNull();
      expect((await stopApp(proc)).code).toBe(0);
    });

    // In a network namespace of its own, which has no interface up: the look-up fails at once and
    // no query leaves this machine.
    it.each([
      ['client', '9998', ['--timeout', '10000']],
      ['worker', '9999', []],
    ] as const)(
      'a %s given a name that does not resolve says so once, with the name and the reason, and keeps trying',
      async (app, port, args) => {
        const started = Date.now();
        const proc = spawnProgram(
          `${app} (no network)`,
          'unshare',
          ['-n', process.execPath, appMain(app), 'no.such.host.invalid', port, ...args],
          {
            TSR_LOG: 'info',
          },
        );
        try {
          const line = await waitForOutput(proc, /warning: cannot reach the broker at .*/, 5000);
          expect(line).toMatch(
            new RegExp(
              `^warning: cannot reach the broker at tcp://no\\.such\\.host\\.invalid:${port}: the name does not resolve \\(yet\\) \\(getaddrinfo EAI_AGAIN no\\.such\\.host\\.invalid\\); trying again$`,
            ),
          );
          expect(Date.now() - started).toBeLessThan(2000);
          await sleep(1500);
          expect(proc.stderr.match(/cannot reach the broker/g)).toHaveLength(1);
          expect((await stopApp(proc)).code).toBe(0);
        } finally {
          proc.child.kill('SIGKILL');
        }
      },
    );

    it('a broker whose port is taken says so and exits 2', async () => {
      await deployment.startBroker();
      const second = deployment.spawn('broker', [String(deployment.frontendPort), '1']);
      expect(await second.exited).toBe(2);
      expect(second.stderr).toMatch(/cannot bind tcp:\/\/\*:\d+/);
    });

    it('a client that gets no answer gives up after its retries with exit 1 and one line', async () => {
      await deployment.startBroker(); // no worker will ever answer
      const result = await deployment.request('lost', ['--timeout', '200', '--retries', '2']);
      expect(result.code).toBe(1);
      expect(result.stderr.trim()).toMatch(/^client: error: no answer from tcp:\/\/127\.0\.0\.1:\d+ after 3 attempt\(s\) of 200 ms$/);
    });
  });
});
