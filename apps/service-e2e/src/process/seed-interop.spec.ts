import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { type AppProcess, freePort, spawnApp, stopApp, waitForOutput } from '../../../../tools/support/processes';
import { LocalDeployment } from '../support/deployment';

/** Runs one of the seed-style programs in ./seed (plain REQ sockets, zeromq's v5 API). */
function spawnSeed(program: 'broker' | 'workerReq' | 'cliente', args: string[], env: NodeJS.ProcessEnv = {}): AppProcess {
  const child = spawn(process.execPath, [join(__dirname, 'seed', `${program}.js`), ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const proc = {
    child,
    app: 'client' as const,
    stdout: '',
    stderr: '',
    exited: new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1))),
  };
  child.stdout.on('data', (d: Buffer) => (proc.stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (proc.stderr += d.toString()));
  return proc;
}

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

  it('our worker and client work against a broker written like the seed', async () => {
    const front = await freePort();
    const back = await freePort();
    await waitForOutput(track(spawnSeed('broker', [String(front), String(back)])), /broker listo/);
    const worker = track(spawnApp('worker', ['127.0.0.1', String(back), '--delay', '20']));
    const id = (await waitForOutput(worker, /W \S+ connecting/)).replace(/ connecting$/, '');
    const answers = await Promise.all(
      [1, 2, 3].map(async (i) => {
        const client = track(spawnApp('client', ['127.0.0.1', String(front), '--request', `seed-${i}`], { TSR_LOG: 'error' }));
        expect(await client.exited).toBe(0);
        return client.stdout;
      }),
    );
    expect(answers).toEqual([1, 2, 3].map((i) => `seed-${i} ${id}\n`));
    // A seed client through the seed broker to our worker.
    const seedClient = track(spawnSeed('cliente', ['127.0.0.1', String(front)]));
    expect(await seedClient.exited).toBe(0);
    expect(seedClient.stdout).toBe(`Recibido: C ${hostname()} ${id}. Adios\n`);
  });
});
