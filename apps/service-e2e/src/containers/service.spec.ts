import { join } from 'node:path';
import { ContainerDeployment, type Worker } from '../support/containers/service';
import { docker, eventually, image, repoRoot, run, sleep, stateOf } from '../support/containers/docker';

const clientMain = join(repoRoot, 'dist', 'apps', 'client', 'main.js');
const workerOf = (reply: string) => /(W \S+)$/.exec(reply)?.[1];

describe('broker, 3 workers and clients as containers on a private network', () => {
  const d = new ContainerDeployment('service');
  let workers: Worker[];
  let workerIds: Set<string>;
  let frontend: number;

  beforeAll(async () => {
    await d.start();
    await d.startBroker({}, true);
    workers = await d.startWorkers(3, 1000);
    workerIds = new Set(workers.map((w) => w.id));
    frontend = d.broker.getMappedPort(9998);
  });
  afterAll(() => d.cleanup());

  it('starts three distinct workers, each registered with the broker', () => {
    expect(workerIds.size).toBe(3);
    for (const w of workers) expect(w.id).toMatch(/^W [0-9a-f]{12}-1-[0-9a-f]{6}$/); // hostname = container id, pid 1
  });

  it('answers every client container: 6 at once, each gets "<its request> W <one of the workers>"', async () => {
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => d.runClient(['--request', `req-${i}`, '--timeout', '20000', '--retries', '0'])),
    );
    results.forEach((r, i) => {
      expect(r).toEqual({ code: 0, output: expect.stringMatching(new RegExp(`^req-${i} W \\S+$`)) });
      expect(workerIds).toContain(workerOf(r.output));
    });
    // The broker saw exactly these 6 requests and forwarded exactly 6 replies, none re-dispatched.
    const replies = await d.waitForBroker(/\[broker\] reply: client="C [^"]+" reply="req-\d W /, 6);
    expect(replies).toHaveLength(6);
  });

  it('answers a client on the host through the frontend port Testcontainers publishes', async () => {
    const r = await run('node', [
      clientMain,
      '127.0.0.1',
      String(frontend),
      '--request',
      'from-host',
      '--timeout',
      '20000',
      '--retries',
      '0',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^from-host W \S+$/);
    expect(workerIds).toContain(workerOf(r.stdout.trim()));
  });

  it('spreads a host load run over all three workers, every request answered', async () => {
    const before = (await docker('logs', d.broker.getId())).split('\n').length;
    const r = await run('node', [
      clientMain,
      '127.0.0.1',
      String(frontend),
      '--requests',
      '12',
      '--concurrency',
      '6',
      '--json',
      '--request',
      'load',
    ]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ requests: 12, answered: 12, errors: 0, retried: 0 });
    // 6 requests in flight and 3 free workers: the broker's first three dispatches go to all three.
    const tasks = (await docker('logs', d.broker.getId()))
      .split('\n')
      .slice(before - 1)
      .filter((l) => l.includes('new_task:'));
    expect(tasks).toHaveLength(12);
    const used = new Set(tasks.map((l) => /worker="(W [^"]+)"/.exec(l)?.[1]));
    expect(used).toEqual(workerIds);
  });

  /** The command of an image's HEALTHCHECK. */
  const healthcheck = async (img: string): Promise<string[]> => {
    const test: string[] = JSON.parse(await docker('image', 'inspect', '-f', '{{json .Config.Healthcheck.Test}}', img));
    expect(test[0]).toBe('CMD');
    return test.slice(1);
  };

  it("runs the images' HEALTHCHECK command on the HTTP endpoint: broker live and bound, workers live and registered, a worker without broker unhealthy", async () => {
    const broker = await d.broker.exec(await healthcheck(image('broker')));
    expect(broker).toMatchObject({
      exitCode: 0,
      output: 'healthy: /healthz ok: receive loops alive: frontend, backend; /readyz ok: frontend and backend bound\n',
    });
    for (const w of workers) {
      const r = await w.container.exec(await healthcheck(image('worker')));
      expect(r).toMatchObject({
        exitCode: 0,
        output: expect.stringMatching(/^healthy: \/healthz ok: receive loops alive: broker; \/readyz ok: registered/),
      });
    }
    // A worker pointed at a broker that does not exist is live but not registered.
    const lonely = await d.container('worker').withCommand(['no-broker-here', '9999']).withWaitStrategy(d.workerStarted).start();
    const check = await healthcheck(image('worker'));
    const r = await eventually('the lonely worker to say why it is not registered', async () => {
      const run = await lonely.exec(check);
      return run.output.includes('cannot reach') ? run : undefined; // once its first dial has failed
    });
    expect(r).toMatchObject({
      exitCode: 1,
      output: expect.stringMatching(
        /^unhealthy: \/readyz 503: failing: not registered: cannot reach the broker at tcp:\/\/no-broker-here:9999: (no such host|the name does not resolve \(yet\)) \(getaddrinfo \w+ no-broker-here\)\n$/,
      ),
    });
  });

  it('is reported healthy by Docker itself (HEALTHCHECK every 10 s)', async () => {
    for (const c of [d.broker, ...workers.map((w) => w.container)]) {
      await eventually(
        `${c.getId().slice(0, 12)} healthy`,
        async () => (await stateOf(c.getId())).Health?.Status === 'healthy',
        25_000,
        500,
      );
    }
  });

  // Last: the broker is stopped a while, and its workers may take it for gone meanwhile.
  it('counts a slow broker as healthy and a hung one as not: stopped 4 s during the check (a loaded node, a capped CPU), it answers once resumed; stopped longer than the check waits, it is unhealthy, and the check says why', async () => {
    const check = await healthcheck(image('broker'));
    // Docker lets the check run longer than it waits for an answer, so a failing check says why.
    const timeoutMs = Number(await docker('image', 'inspect', '-f', '{{json .Config.Healthcheck.Timeout}}', image('broker'))) / 1e6;
    expect(timeoutMs).toBe(10_000);
    const id = d.broker.getId();
    /** Runs the check while the broker is stopped, until `resumeAfter` has settled (node is PID 1: the broker itself stops). */
    const checkWhileStopped = async (resumeAfter: (running: Promise<unknown>) => Promise<unknown>) => {
      await docker('kill', '--signal', 'STOP', id);
      try {
        const running = d.broker.exec(check);
        await resumeAfter(running);
        return running;
      } finally {
        await docker('kill', '--signal', 'CONT', id);
      }
    };
    const slow = await checkWhileStopped(() => sleep(4000));
    expect(slow).toMatchObject({ exitCode: 0, output: expect.stringMatching(/^healthy: \/healthz ok: /) });
    const hung = await checkWhileStopped((running) => Promise.race([running, sleep(20_000)]));
    expect(hung).toMatchObject({ exitCode: 1, output: 'unhealthy: /healthz unreachable: no answer within 8 s\n' });
    expect(await d.broker.exec(check)).toMatchObject({ exitCode: 0 });
  });
});
