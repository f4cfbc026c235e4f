import { hostname } from 'node:os';
import { type AppProcess, freePort, spawnApp, stopApp, waitForOutput } from '@tsr/testing';
import { LocalDeployment } from '../support/deployment';
import { spawnSeed } from '../support/seed';

describe('interoperability with programs written like the seed', () => {
  const started: AppProcess[] = [];
  const track = (p: AppProcess) => (started.push(p), p);
  afterEach(async () => {
    await Promise.all(started.splice(0).map((p) => stopApp(p, 'SIGKILL')));
  });

  it('seed-style REQ workers and clients work against our broker', async () => {
    const deployment = new LocalDeployment();
    try {
      await deployment.startBroker();
      const back = String(deployment.backendPort);
      for (const s of ['-a', '-b']) {
        await waitForOutput(track(spawnSeed('workerReq', ['127.0.0.1', back], { SUFIJO: s, RETARDO: '20' })), /worker listo/);
      }
      const clients = Array.from({ length: 6 }, (_, i) => track(spawnSeed('cliente', ['127.0.0.1', String(deployment.frontendPort)], { SUFIJO: `-${i}` })));
      for (const [i, c] of clients.entries()) {
        expect(await c.exited).toBe(0);
        expect(c.stdout).toMatch(new RegExp(`^Recibido: C \\S+-${i} W \\S+-[ab]\\. Adios\\n$`));
      }
      // And our client, side by side with the seed's workers.
      const ours = await deployment.request('mixed');
      expect(ours.stdout).toMatch(/^mixed W \S+-[ab]\n$/);
    } finally {
      await deployment.stop();
    }
  });

  it('our worker and client (in plain mode) work against a broker written like the seed', async () => {
    const front = await freePort();
    const back = await freePort();
    await waitForOutput(track(spawnSeed('broker', [String(front), String(back)])), /broker listo/);
    // Fast heartbeats: a seed broker never sends one, so the worker must never count it silent.
    const worker = track(spawnApp('worker', ['127.0.0.1', String(back), '--delay', '20', '--heartbeat', '50', '--liveness', '2']));
    const id = (await waitForOutput(worker, /W \S+ connecting/)).replace(/ connecting$/, '');
    await new Promise((r) => setTimeout(r, 500)); // the scenario: many liveness windows pass with no heartbeat
    const answers = await Promise.all(
      [1, 2, 3].map(async (i) => {
        const client = track(spawnApp('client', ['127.0.0.1', String(front), '--request', `seed-${i}`, '--plain'], { TSR_LOG: 'error' }));
        expect(await client.exited).toBe(0);
        return client.stdout;
      }),
    );
    expect(answers).toEqual([1, 2, 3].map((i) => `seed-${i} ${id}\n`));
    // A seed client through the seed broker to our worker.
    const seedClient = track(spawnSeed('cliente', ['127.0.0.1', String(front)]));
    expect(await seedClient.exited).toBe(0);
    expect(seedClient.stdout).toBe(`Recibido: C ${hostname()} ${id}. Adios\n`);
    expect(worker.stdout).not.toMatch(/reconnecting/);
    // Without --plain, our client says what is wrong at once instead of waiting for its timeout.
    const enveloped = track(spawnApp('client', ['127.0.0.1', String(front), '--timeout', '60000'], { TSR_LOG: 'error' }));
    expect(await enveloped.exited).toBe(2);
    expect(enveloped.stderr).toMatch(/^client: the broker at tcp:\/\/127\.0\.0\.1:\d+ answered outside the TSR\/1 envelope: a seed broker\? use plain mode \(client --plain\)\n$/);
  });

  it("a failing handler's error reaches a plain client through a seed broker as the seed's one reply", async () => {
    const front = await freePort();
    const back = await freePort();
    await waitForOutput(track(spawnSeed('broker', [String(front), String(back)])), /broker listo/);
    await waitForOutput(track(spawnApp('worker', ['127.0.0.1', String(back), '--handler', 'wordcount'])), /W \S+ connecting/);
    const refused = track(spawnApp('client', ['127.0.0.1', String(front), '--plain', '--request', '...'], { TSR_LOG: 'error' }));
    expect(await refused.exited).toBe(4);
    expect(refused.stderr).toBe('client: error: the service failed: no words to count: send some text\n');
  });
});
