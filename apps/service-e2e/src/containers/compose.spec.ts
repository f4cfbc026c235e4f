import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DockerComposeEnvironment, type StartedDockerComposeEnvironment, type StartedTestContainer, Wait } from 'testcontainers';
import { ensureDeploymentKeys, writeKeyPair } from '@tsr/runtime';
import { metric } from '../support/monitoring';
import {
  composeProject,
  docker,
  eventually,
  freePort,
  image,
  labelsFor,
  logsOf,
  repoRoot,
  run,
  version,
  waitForLog,
} from '../support/containers/docker';
import { TO_BE, TO_BE_COUNTED } from '../support/wordcount';

const clientMain = join(repoRoot, 'dist', 'apps', 'client', 'main.js');

/** Compose v2 (`docker compose`) when the engine has it, else the standalone docker-compose (Debian's 1.29). */
async function composeExecutable(): Promise<{ executable?: { standalone: true } }> {
  return (await run('docker', ['compose', 'version'])).code === 0 ? {} : { executable: { standalone: true } };
}

/** Compose 1.x names containers `<project>_wor_1`, Compose 2 `<project>-wor-1`: Testcontainers keeps `wor_1` or `wor-1`. */
const spellings = (service: string, n: number) => [`${service}_${n}`, `${service}-${n}`];

describe("docker/docker-compose.yml (the seed's bro, wor, cli, and the wordcount service wc), with CURVE on", () => {
  const project = composeProject();
  // The keys as `npx nx run tools:keygen -- --dir <folder>` makes them, in a folder of this run.
  const secrets = join(mkdtempSync(join(tmpdir(), 'tsr-compose-')), 'secrets');
  const withBrokerKey = ['--curve-server-key-file', join(secrets, 'broker.pub')];
  let environment: StartedDockerComposeEnvironment | undefined;
  let port: number;
  let statusPort: number;
  let prometheusPort: number;

  /** Instance `n` of a service, whichever Compose named it. */
  const instance = (service: string, n = 1): StartedTestContainer => {
    for (const name of spellings(service, n)) {
      try {
        return (environment as StartedDockerComposeEnvironment).getContainer(name);
      } catch {
        // the other spelling
      }
    }
    throw new Error(`no container ${service} #${n} in ${project}`);
  };
  const hostnameOf = (c: StartedTestContainer) => docker('inspect', '-f', '{{.Config.Hostname}}', c.getId());

  beforeAll(async () => {
    [port, statusPort, prometheusPort] = [await freePort(), await freePort(), await freePort()];
    ensureDeploymentKeys(secrets);
    // No registry here: Debian's prometheus packaged as a local image (upstream's where present).
    const prometheus = await run('bash', [join(repoRoot, 'tools', 'docker', 'prometheus-image.sh')]);
    if (prometheus.code !== 0) throw new Error(`no Prometheus image: ${prometheus.stderr}`);
    const compose = new DockerComposeEnvironment(join(repoRoot, 'docker'), 'docker-compose.yml')
      .withProjectName(project)
      // Workers take 1.5 s (the broker allows 5 s): 3 requests sent together find all 3 workers free.
      .withEnvironment({
        FRONTEND_PUBLISH: `127.0.0.1:${port}`,
        STATUS_PUBLISH: `127.0.0.1:${statusPort}`,
        PROMETHEUS_PUBLISH: `127.0.0.1:${prometheusPort}`,
        PROMETHEUS_IMAGE: prometheus.stdout.trim(),
        TSR_VERSION: version,
        TSR_SECRETS: secrets,
        WORKER_DELAY_MS: '1500',
        ANSWER_TIMEOUT_MS: '5000',
      })
      .withClientOptions({ ...(await composeExecutable()), commandOptions: ['--scale', 'wor=3', '--scale', 'wc=2', '--no-build'] })
      .withDefaultWaitStrategy(Wait.forLogMessage(/\[worker\] W \S+ connecting to/));
    for (const name of spellings('bro', 1)) compose.withWaitStrategy(name, Wait.forLogMessage(/\[broker\] frontend tcp:\/\/\*:9998/));
    for (const name of spellings('cli', 1)) compose.withWaitStrategy(name, Wait.forOneShotStartup());
    for (const name of spellings('prometheus', 1))
      compose.withWaitStrategy(name, Wait.forLogMessage(/Server is ready to receive web requests/));
    environment = await compose.up();
  });

  afterAll(async () => {
    await environment?.down({ timeout: 10_000 });
    rmSync(join(secrets, '..'), { recursive: true, force: true });
  });

  it('comes up with --scale wor=3: one broker, three workers, the client container answered', async () => {
    expect(() => instance('bro', 2)).toThrow();
    const workers = [1, 2, 3].map((n) => instance('wor', n));
    expect(() => instance('wor', 4)).toThrow();
    // The seed's client sends "C <its hostname>" and prints the reply "C <hostname> W <worker>".
    const cli = instance('cli');
    const reply = (await logsOf(cli.getId())).trim();
    expect(reply).toMatch(new RegExp(`^C ${await hostnameOf(cli)} W [0-9a-f]{12}-1-[0-9a-f]{6}$`));
    const workerHosts = await Promise.all(workers.map(hostnameOf));
    expect(workerHosts).toContain(/ W ([0-9a-f]{12})-/.exec(reply)?.[1]);
  });

  it('publishes the frontend on the host port: 3 host clients at once are served by the 3 workers', async () => {
    const workerHosts = await Promise.all([1, 2, 3].map((n) => hostnameOf(instance('wor', n))));
    const replies = await Promise.all(
      [1, 2, 3].map((i) =>
        run('node', [
          clientMain,
          '127.0.0.1',
          String(port),
          '--request',
          `remote-${i}`,
          '--timeout',
          '20000',
          '--retries',
          '0',
          ...withBrokerKey,
        ]),
      ),
    );
    const answeredBy = replies.map((r, i) => {
      expect(r.code).toBe(0);
      expect(r.stdout.trim()).toMatch(new RegExp(`^remote-${i + 1} W [0-9a-f]{12}-1-[0-9a-f]{6}$`));
      return / W ([0-9a-f]{12})-/.exec(r.stdout)?.[1];
    });
    expect(new Set(answeredBy)).toEqual(new Set(workerHosts)); // three free workers, three requests
  });

  it("is scraped by Prometheus: the broker's request counter equals the 4 requests sent, every scaled worker is an up target", async () => {
    const query = async (q: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> => {
      const res = await fetch(`http://127.0.0.1:${prometheusPort}/api/v1/query?query=${encodeURIComponent(q)}`).catch(() => undefined);
      return res?.ok ? (await res.json()).data.result : [];
    };
    const workerIps = await Promise.all(
      [1, 2, 3].map((n) => docker('inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', instance('wor', n).getId())),
    );
    // One cli container and three host clients above; Prometheus scrapes every 5 s.
    const requests = await eventually(
      'Prometheus to have scraped 4 requests from the broker',
      async () => {
        const [r] = await query('tsr_broker_requests_total');
        return r?.value[1] === '4' ? r : undefined;
      },
      60_000,
      1000,
    );
    expect(requests.metric).toMatchObject({ job: 'broker', instance: expect.stringMatching(/:9180$/) });
    const up = await eventually(
      '3 worker targets up',
      async () => {
        const r = await query('up{job="worker"} == 1');
        return r.length === 3 ? r : undefined;
      },
      60_000,
      1000,
    );
    expect(up.map((r) => r.metric['instance'].replace(/:9180$/, '')).sort()).toEqual([...workerIps].sort());
    await eventually('the wordcount worker a target too', async () => (await query('up{job="wordcount"} == 1')).length >= 1, 60_000, 1000);
    // Each target is scraped on its own schedule: the workers' counters catch up within a scrape.
    await eventually(
      'the workers to have served 4 requests in all',
      async () => (await query('sum(tsr_worker_requests_total)'))[0]?.value[1] === '4',
      30_000,
      1000,
    );
    // The alert rules are loaded (docker/prometheus/alerts.yml), and none fires on a healthy deployment.
    const rules = await (await fetch(`http://127.0.0.1:${prometheusPort}/api/v1/rules`)).json();
    const alerts = rules.data.groups.flatMap((g: { rules: { name: string; state: string }[] }) => g.rules);
    expect(alerts.map((r: { name: string }) => r.name)).toEqual(
      expect.arrayContaining(['TsrBrokerDown', 'TsrServiceWithoutWorkers', 'TsrWorkerNotRegistered']),
    );
    expect(alerts.filter((r: { state: string }) => r.state !== 'inactive')).toEqual([]);
  });

  it('serves the wordcount service beside the echo: discovery lists both with their workers, a text is counted, a bad one refused', async () => {
    const client = (...args: string[]) =>
      run('node', [clientMain, '127.0.0.1', String(port), '--timeout', '20000', '--retries', '0', ...withBrokerKey, ...args]);
    const listed = await eventually('both services listed with their workers', async () => {
      const r = await client('--services', '--json');
      const services = r.code === 0 ? JSON.parse(r.stdout) : [];
      return services.length === 2 ? services : undefined;
    });
    expect(listed).toEqual([
      { name: 'default', workers: 3, ready: 3, busy: 0, waiting: 0 },
      { name: 'wordcount', workers: 2, ready: 2, busy: 0, waiting: 0 },
    ]);
    const counted = await client('--service', 'wordcount', '--request', TO_BE);
    expect(counted.code).toBe(0);
    expect(JSON.parse(counted.stdout)).toEqual(TO_BE_COUNTED);
    const refused = await client('--service', 'wordcount', '--request', '...');
    expect({ code: refused.code, stderr: refused.stderr }).toEqual({
      code: 4,
      stderr: 'client: error: the service failed: no words to count: send some text\n',
    });
  });

  it('serves the status page on the published HTTP port', async () => {
    const page = await fetch(`http://127.0.0.1:${statusPort}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>tsr broker</title>');
    const status = await (await fetch(`http://127.0.0.1:${statusPort}/status`)).json();
    expect(status.workers).toHaveLength(5); // 3 wor, 2 wc
  });

  it('keeps the keys out of images and environments: each service gets its own, mounted read-only', async () => {
    const keys = readdirSync(secrets)
      .filter((f) => f.endsWith('.key') || f.endsWith('.pub'))
      .map((f) => readFileSync(join(secrets, f), 'utf8').match(/"(.{40})"/g) ?? [])
      .flat();
    expect(keys.length).toBeGreaterThanOrEqual(6);
    const mounted = { bro: ['broker.key', 'clients', 'workers'], wor: ['broker.pub', 'worker.key'], cli: ['broker.pub', 'client.key'] };
    for (const [service, files] of Object.entries(mounted)) {
      const id = instance(service).getId();
      const config = JSON.parse(await docker('inspect', '-f', '{{json .Config.Env}}', id)) as string[];
      expect({ service, leaked: keys.filter((k) => config.some((e) => e.includes(k.slice(1, -1)))) }).toEqual({ service, leaked: [] });
      const mounts = JSON.parse(await docker('inspect', '-f', '{{json .Mounts}}', id)) as { Destination: string; RW: boolean }[];
      const secretMounts = mounts.filter((m) => m.Destination.startsWith('/run/secrets/'));
      expect(secretMounts.map((m) => m.Destination.replace('/run/secrets/', '')).sort()).toEqual(files);
      expect(secretMounts.every((m) => !m.RW)).toBe(true);
    }
    for (const app of ['broker', 'worker', 'client'] as const) {
      expect(await docker('image', 'inspect', '-f', '{{json .Config.Env}}', image(app))).not.toMatch(/CURVE/);
    }
    expect(
      await docker(
        'exec',
        instance('bro').getId(),
        'node',
        '-e',
        'process.stdout.write(String(require("fs").readdirSync("/app").join(" ")))',
      ),
    ).not.toMatch(/secret|\.key/);
  });

  it("gives a host client without the broker's key, or with a wrong one, nothing; the broker counts them", async () => {
    const noKey = await run('node', [clientMain, '127.0.0.1', String(port), '--request', 'plain', '--timeout', '1000', '--retries', '0']);
    const wrongKey = await run('node', [
      clientMain,
      '127.0.0.1',
      String(port),
      '--request',
      'wrong',
      '--timeout',
      '1000',
      '--retries',
      '0',
      '--curve-server-key-file',
      join(secrets, 'worker.pub'),
    ]);
    expect([noKey, wrongKey].map((r) => ({ code: r.code, out: r.stdout }))).toEqual([
      { code: 1, out: '' },
      { code: 1, out: '' },
    ]);
    const metrics = await (await fetch(`http://127.0.0.1:${statusPort}/metrics`)).text();
    expect(metric(metrics, 'tsr_broker_refused_handshakes_total', { socket: 'frontend' })).toBeGreaterThanOrEqual(2);
    expect(metric(metrics, 'tsr_broker_allowed_keys', { socket: 'backend' })).toBe(1);
  });

  it('refuses a worker whose key is not listed, and admits it once its public key is dropped into secrets/workers', async () => {
    writeKeyPair(secrets, 'extra');
    const network = JSON.parse(await docker('inspect', '-f', '{{json .NetworkSettings.Networks}}', instance('bro').getId()));
    const labels = Object.entries(labelsFor('compose')).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
    // Its key pair through a read-only bind mount, as a secret would be.
    const extra = await docker(
      'run',
      '-d',
      ...labels,
      '--network',
      Object.keys(network)[0],
      '-v',
      `${join(secrets, 'extra.key')}:/run/secrets/worker.key:ro`,
      '-v',
      `${join(secrets, 'broker.pub')}:/run/secrets/broker.pub:ro`,
      '-e',
      'BROKER_HOST=bro',
      '-e',
      'BROKER_PORT=9999',
      '-e',
      'CURVE_SERVER_KEY_FILE=/run/secrets/broker.pub',
      '-e',
      'CURVE_SECRET_KEY_FILE=/run/secrets/worker.key',
      '-e',
      'HEARTBEAT_LIVENESS=1',
      image('worker'),
    );
    try {
      await waitForLog(extra, /the broker refused this worker's CURVE key/);
      await waitForLog(instance('bro').getId(), /refused a worker from \S+ on backend: its key \S+ is not in the allow-list/);
      copyFileSync(join(secrets, 'extra.pub'), join(secrets, 'workers', 'extra.pub'));
      await waitForLog(instance('bro').getId(), /allow-list of backend re-read: 2 key\(s\), 1 added, 0 removed/);
      await waitForLog(extra, /registered: the broker speaks TSR\/1/);
    } finally {
      await docker('rm', '-f', extra);
      rmSync(join(secrets, 'workers', 'extra.pub'), { force: true });
    }
  });

  it('restarts a broker that dies (restart: unless-stopped): killed with SIGKILL, it is back on its port and serves a host client', async () => {
    const bro = instance('bro').getId();
    const inspect = (format: string) => docker('inspect', '-f', format, bro);
    const restarts = Number(await inspect('{{.RestartCount}}'));
    process.kill(Number(await inspect('{{.State.Pid}}')), 'SIGKILL'); // its node, from the host: no stop, a death
    await eventually('the broker restarted by its policy', async () => Number(await inspect('{{.RestartCount}}')) > restarts, 30_000, 200);
    await waitForLog(bro, /\[broker\] frontend tcp:\/\/\*:9998/, 2);
    const r = await run('node', [
      clientMain,
      '127.0.0.1',
      String(port),
      '--request',
      'after-death',
      '--timeout',
      '5000',
      '--retries',
      '5',
      ...withBrokerKey,
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^after-death W [0-9a-f]{12}-1-[0-9a-f]{6}$/);
  });

  it('publishes only the frontend and the status page, on 127.0.0.1; the backend stays internal', async () => {
    const ports = JSON.parse(await docker('inspect', '-f', '{{json .NetworkSettings.Ports}}', instance('bro').getId()));
    expect(ports['9998/tcp']).toEqual([{ HostIp: '127.0.0.1', HostPort: String(port) }]);
    expect(ports['9180/tcp']).toEqual([{ HostIp: '127.0.0.1', HostPort: String(statusPort) }]);
    expect(ports['9999/tcp']).toBeNull();
  });

  it('is torn down by down: no container, no network left', async () => {
    await environment?.down({ timeout: 10_000 });
    environment = undefined;
    expect(await docker('ps', '-aq', '--filter', `label=com.docker.compose.project=${project}`)).toBe('');
    expect(await docker('network', 'ls', '-q', '--filter', `name=${project}`)).toBe('');
  });
});
