import { hostname } from 'node:os';
import { localDeployment } from '../support/deployment';

describe('interoperability with programs written like the seed', () => {
  const deployment = localDeployment();

  it('seed-style REQ workers and clients work against our broker', async () => {
    await deployment.startBroker();
    for (const s of ['-a', '-b']) await deployment.startSeedWorker(s, 20);
    const clients = Array.from({ length: 6 }, (_, i) => deployment.seedClient(`-${i}`));
    for (const [i, c] of clients.entries()) {
      expect(await c.exited).toBe(0);
      expect(c.stdout).toMatch(new RegExp(`^Recibido: C \\S+-${i} W \\S+-[ab]\\. Adios\\n$`));
    }
    // And our client, side by side with the seed's workers.
    const ours = await deployment.request('mixed');
    expect(ours.stdout).toMatch(/^mixed W \S+-[ab]\n$/);
  });

  it('our worker and client (in plain mode) work against a broker written like the seed', async () => {
    await deployment.startSeedBroker();
    // Fast heartbeats: a seed broker never sends one, so the worker must never count it silent.
    const { worker, id } = await deployment.startWorker(20, {}, ['--heartbeat', '50', '--liveness', '2']);
    await new Promise((r) => setTimeout(r, 500)); // the scenario: many liveness windows pass with no heartbeat
    const answers = await Promise.all(
      [1, 2, 3].map(async (i) => {
        const client = deployment.client(['--request', `seed-${i}`, '--plain']);
        expect(await client.exited).toBe(0);
        return client.stdout;
      }),
    );
    expect(answers).toEqual([1, 2, 3].map((i) => `seed-${i} ${id}\n`));
    // A seed client through the seed broker to our worker.
    const seedClient = deployment.seedClient();
    expect(await seedClient.exited).toBe(0);
    expect(seedClient.stdout).toBe(`Recibido: C ${hostname()} ${id}. Adios\n`);
    expect(worker.stdout).not.toMatch(/reconnecting/);
    // Without --plain, our client says what is wrong at once instead of waiting for its timeout.
    const enveloped = deployment.client(['--timeout', '60000']);
    expect(await enveloped.exited).toBe(2);
    expect(enveloped.stderr).toMatch(
      /^client: the broker at tcp:\/\/127\.0\.0\.1:\d+ answered outside the TSR\/1 envelope: a seed broker\? use plain mode \(client --plain\)\n$/,
    );
  });

  it("a failing handler's error reaches a plain client through a seed broker as the seed's one reply", async () => {
    await deployment.startSeedBroker();
    await deployment.startWorker(0, {}, ['--handler', 'wordcount']);
    const refused = deployment.client(['--plain', '--request', '...']);
    expect(await refused.exited).toBe(4);
    expect(refused.stderr).toBe('client: error: the service failed: no words to count: send some text\n');
  });
});
