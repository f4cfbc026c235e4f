import { hostname } from 'node:os';
import { type AppProcess, stopApp, waitForOutput } from '@tsr/testing';
import { eventually } from '../support/wait';
import { localDeployment } from '../support/deployment';
import { TO_BE, TO_BE_COUNTED } from '../support/wordcount';

/**
 * Named services with our programs: the echo (the seed's service, `default`) and the wordcount
 * example behind one broker, our client calling each by name, seed-style peers on the default
 * service at the same time; a handler that fails; discovery against what runs.
 */
describe('two services behind one broker, with our worker and client', () => {
  const deployment = localDeployment();

  const discovery = async () => {
    const c = deployment.client(['--services', '--json']);
    expect(await c.exited).toBe(0);
    return JSON.parse(c.stdout) as { name: string; workers: number }[];
  };
  const wordcountWorker = () => deployment.startWorker(0, {}, ['--service', 'wordcount', '--handler', 'wordcount']);
  const loadSummary = async (load: AppProcess) => {
    expect({
      code: await load.exited,
      stderr: load.stderr
        .split('\n')
        .filter((l) => !/requests sent/.test(l))
        .join('\n'),
    }).toEqual({ code: 0, stderr: '' });
    return JSON.parse(load.stdout.trim().split('\n').pop() ?? '');
  };

  it('serves both under load, each by its own workers, while seed-style clients and workers use the default service', async () => {
    await deployment.startBroker(['--startup-grace', '0']);
    const echoIds = new Set<string>();
    for (let i = 0; i < 3; i++) echoIds.add((await deployment.startWorker(5)).id);
    for (const s of ['-a', '-b']) await deployment.startSeedWorker(s, 5);
    for (let i = 0; i < 3; i++) await wordcountWorker();
    await eventually(
      'every worker registered',
      async () => {
        const services = await discovery();
        return services.find((s) => s.name === 'default')?.workers === 5 && services.find((s) => s.name === 'wordcount')?.workers === 3;
      },
      15_000,
    );

    const text = TO_BE;
    const echoLoad = deployment.client(['--requests', '1500', '--concurrency', '6', '--json']);
    const wordLoad = deployment.client(['--service', 'wordcount', '--request', text, '--requests', '1500', '--concurrency', '6', '--json']);
    const seedClients = Array.from({ length: 8 }, (_, i) => deployment.seedClient(`-${i}`));
    const oneShots = await Promise.all(
      Array.from({ length: 12 }, async (_, i) => {
        const c = deployment.client(['--request', `echo-${i}`]);
        expect(await c.exited).toBe(0);
        return c.stdout.trim();
      }),
    );
    const counted = deployment.client(['--service', 'wordcount', '--request', text]);
    expect(await counted.exited).toBe(0);
    expect(JSON.parse(counted.stdout)).toEqual(TO_BE_COUNTED);

    for (const load of [await loadSummary(echoLoad), await loadSummary(wordLoad)])
      expect(load).toMatchObject({ requests: 1500, answered: 1500, errors: 0 });
    for (const [i, c] of seedClients.entries()) {
      expect(await c.exited).toBe(0);
      expect(c.stdout).toMatch(new RegExp(`^Recibido: C ${hostname()}-${i} W \\S+\\. Adios\\n$`));
    }
    // Echo answers come from echo workers only: ours or the seed's, never a wordcount worker.
    for (const [i, answer] of oneShots.entries())
      expect(answer).toMatch(new RegExp(`^echo-${i} (${[...echoIds].join('|')}|W ${hostname()}-[ab])$`));
  }, 90_000);

  it("answers a request its handler fails on with the handler's message (exit 4), and the worker serves on", async () => {
    await deployment.startBroker(['--startup-grace', '0']);
    const { worker } = await wordcountWorker();
    await waitForOutput(worker, /registered/);
    const failed = deployment.client(['--service', 'wordcount', '--request', '?!']);
    expect(await failed.exited).toBe(4);
    expect(failed.stderr).toBe('client: error: the service failed: no words to count: send some text\n');
    expect(worker.stderr).toContain('handler failed: no words to count: send some text');
    const served = deployment.client(['--service', 'wordcount', '--request', 'still here']);
    expect(await served.exited).toBe(0);
    expect(JSON.parse(served.stdout).words).toBe(2);
    expect(worker.stdout).not.toMatch(/reconnecting/);
  });

  it('lists what runs, follows workers that come and go, and answers a service with none left with exit 3', async () => {
    await deployment.startBroker(['--startup-grace', '0', '--service-grace', '400']);
    await deployment.startWorker(0);
    await deployment.startWorker(0);
    const { worker: counter } = await wordcountWorker();
    await eventually(
      'three workers listed',
      async () => {
        const services = await discovery();
        return (
          JSON.stringify(services) ===
          JSON.stringify([
            { name: 'default', workers: 2, ready: 2, busy: 0, waiting: 0 },
            { name: 'wordcount', workers: 1, ready: 1, busy: 0, waiting: 0 },
          ])
        );
      },
      15_000,
    );
    const table = deployment.client(['--services']);
    expect(await table.exited).toBe(0);
    expect(table.stdout).toBe(
      [
        'service    workers  ready  busy  waiting',
        'default          2      2     0        0',
        'wordcount        1      1     0        0',
        '',
      ].join('\n'),
    );

    await stopApp(counter); // its goodbye: the broker forgets it at once
    await eventually(
      'the wordcount worker gone',
      async () => !(await discovery()).some((s) => s.name === 'wordcount' && s.workers > 0),
      10_000,
    );
    const started = performance.now();
    const orphan = deployment.client(['--service', 'wordcount', '--request', 'anyone?']);
    expect(await orphan.exited).toBe(3);
    expect(orphan.stderr).toBe('client: error: no worker serves "wordcount"\n');
    expect(performance.now() - started).toBeLessThan(400 + 2000);
  });
});
