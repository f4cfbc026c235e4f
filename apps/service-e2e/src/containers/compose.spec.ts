import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DockerComposeEnvironment, type StartedDockerComposeEnvironment, type StartedTestContainer, Wait } from 'testcontainers';
import { ensureDeploymentKeys, writeKeyPair } from '@tsr/runtime';
import { loadSummary } from '../support/containers/chaos';
import { metric, scrape } from '../support/monitoring';
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
  stateOf,
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

const FRONTEND = /\[broker\] frontend tcp:\/\/\*:9998/;

describe("docker/docker-compose.yml (two brokers bro and bro2, the seed's wor and cli, the wordcount service wc), with CURVE on", () => {
  const project = composeProject();
  // The keys as `npx nx run tools:keygen -- --dir <folder>` makes them, in a folder of this run.
  const secrets = join(mkdtempSync(join(tmpdir(), 'tsr-compose-')), 'secrets');
  const withBrokerKey = ['--curve-server-key-file', join(secrets, 'broker.pub')];
  let environment: StartedDockerComposeEnvironment | undefined;
  // Each broker's published frontend and status page.
  let port: number;
  let port2: number;
  let statusPort: number;
  let statusPort2: number;
  let prometheusPort: number;
  /** Both frontends, as a host client is given them (docker/README.md). */
  const bothFrontends = () => `127.0.0.1:${port},127.0.0.1:${port2}`;
  /** Requests sent so far by the cli container and the host clients, each answered once (no retry). */
  let sent = 0;

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
  const addressOf = (c: StartedTestContainer) =>
    docker('inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', c.getId());
  /** What a name resolves to on the project's network, as a worker container's node sees it. */
  const lookup = async (name: string): Promise<string[]> =>
    JSON.parse(
      await docker(
        'exec',
        instance('wor').getId(),
        'node',
        '-e',
        `require("dns").lookup(${JSON.stringify(name)}, { all: true }, (e, a) => process.stdout.write(JSON.stringify(e ? [] : a.map((x) => x.address).sort())))`,
      ),
    );
  /** A broker's own /status (its published status port). */
  const statusAt = async (p: number) => (await fetch(`http://127.0.0.1:${p}/status`)).json();
  /** One request from a host client, no retry: the answer comes from the broker(s) given. */
  const request = (hosts: string[], text: string, ...more: string[]) =>
    run('node', [clientMain, ...hosts, '--request', text, '--timeout', '20000', '--retries', '0', ...withBrokerKey, ...more]);

  beforeAll(async () => {
    [port, port2, statusPort, statusPort2, prometheusPort] = [
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    ensureDeploymentKeys(secrets);
    // No registry here: Debian's prometheus packaged as a local image (upstream's where present).
    const prometheus = await run('bash', [join(repoRoot, 'tools', 'docker', 'prometheus-image.sh')]);
    if (prometheus.code !== 0) throw new Error(`no Prometheus image: ${prometheus.stderr}`);
    const compose = new DockerComposeEnvironment(join(repoRoot, 'docker'), 'docker-compose.yml')
      .withProjectName(project)
      // Workers take 1.5 s (the brokers allow 5 s): requests sent together are in service at once.
      .withEnvironment({
        FRONTEND_PUBLISH: `127.0.0.1:${port}`,
        FRONTEND2_PUBLISH: `127.0.0.1:${port2}`,
        STATUS_PUBLISH: `127.0.0.1:${statusPort}`,
        STATUS2_PUBLISH: `127.0.0.1:${statusPort2}`,
        PROMETHEUS_PUBLISH: `127.0.0.1:${prometheusPort}`,
        PROMETHEUS_IMAGE: prometheus.stdout.trim(),
        TSR_VERSION: version,
        TSR_SECRETS: secrets,
        WORKER_DELAY_MS: '1500',
        ANSWER_TIMEOUT_MS: '5000',
      })
      .withClientOptions({ ...(await composeExecutable()), commandOptions: ['--scale', 'wor=3', '--scale', 'wc=2', '--no-build'] })
      .withDefaultWaitStrategy(Wait.forLogMessage(/\[worker\] W \S+ connecting to/));
    for (const name of [...spellings('bro', 1), ...spellings('bro2', 1)]) compose.withWaitStrategy(name, Wait.forLogMessage(FRONTEND));
    for (const name of spellings('cli', 1)) compose.withWaitStrategy(name, Wait.forOneShotStartup());
    for (const name of spellings('prometheus', 1))
      compose.withWaitStrategy(name, Wait.forLogMessage(/Server is ready to receive web requests/));
    environment = await compose.up();
  });

  afterAll(async () => {
    await environment?.down({ timeout: 10_000 });
    rmSync(join(secrets, '..'), { recursive: true, force: true });
  });

  it('comes up with --scale wor=3: two brokers, both named `brokers`, three workers registered with each, the client container answered', async () => {
    const brokers = [instance('bro'), instance('bro2')];
    expect(() => instance('bro', 2)).toThrow();
    expect(() => instance('bro2', 2)).toThrow();
    const workers = [1, 2, 3].map((n) => instance('wor', n));
    expect(() => instance('wor', 4)).toThrow();
    // The name workers and clients are given resolves to both brokers, and to nothing else.
    expect(await lookup('brokers')).toEqual((await Promise.all(brokers.map(addressOf))).sort());
    // Every worker serves every broker: each lists the 3 echo workers and the 2 wordcount workers.
    for (const statusPortOf of [statusPort, statusPort2])
      await eventually(
        `the 5 workers registered with the broker on ${statusPortOf}`,
        async () => (await statusAt(statusPortOf)).workers.length === 5,
        30_000,
        500,
      );
    // CURVE's frames are boxed by native libsodium, the base image's sodium-native (not WebAssembly),
    // and the large ones' MACs by the image's Node (its OpenSSL passed RFC 8439's test vector).
    for (const program of [...brokers, workers[0]])
      expect(await logsOf(program.getId())).toContain(
        "CURVE boxes by native libsodium (sodium-native), the MACs of boxes from 128 KiB by Node's OpenSSL",
      );
    // The seed's client sends "C <its hostname>" and prints the reply "C <hostname> W <worker>".
    const cli = instance('cli');
    const reply = (await logsOf(cli.getId())).trim();
    expect(reply).toMatch(new RegExp(`^C ${await hostnameOf(cli)} W [0-9a-f]{12}-1-[0-9a-f]{6}$`));
    const workerHosts = await Promise.all(workers.map(hostnameOf));
    expect(workerHosts).toContain(/ W ([0-9a-f]{12})-/.exec(reply)?.[1]);
    sent += 1;
  });

  it('publishes both frontends on host ports: host clients of each broker, and one given both, are served by the workers', async () => {
    const workerHosts = await Promise.all([1, 2, 3].map((n) => hostnameOf(instance('wor', n))));
    const before = await Promise.all(
      [statusPort, statusPort2].map(async (p) => metric(await scrape(p), 'tsr_broker_requests_total') ?? NaN),
    );
    // Two requests at each broker at once, each client told only its broker's frontend.
    const replies = await Promise.all([port, port, port2, port2].map((p, i) => request(['127.0.0.1', String(p)], `remote-${i + 1}`)));
    replies.forEach((r, i) => {
      expect({ i, code: r.code, stderr: r.stderr }).toEqual({ i, code: 0, stderr: '' });
      expect(r.stdout.trim()).toMatch(new RegExp(`^remote-${i + 1} W [0-9a-f]{12}-1-[0-9a-f]{6}$`));
      expect(workerHosts).toContain(/ W ([0-9a-f]{12})-/.exec(r.stdout)?.[1]);
    });
    // Each broker took its own two.
    const after = await Promise.all(
      [statusPort, statusPort2].map(async (p) => metric(await scrape(p), 'tsr_broker_requests_total') ?? NaN),
    );
    expect(after.map((n, i) => n - before[i])).toEqual([2, 2]);
    // The host client of docker/README.md: both frontends in one argument, the port from each entry.
    const both = await request([bothFrontends()], 'both');
    expect({ code: both.code, stdout: both.stdout.trim() }).toEqual({
      code: 0,
      stdout: expect.stringMatching(/^both W [0-9a-f]{12}-1-[0-9a-f]{6}$/),
    });
    sent += 5;
  });

  it('is scraped by Prometheus: both brokers are up targets whose request counters add up to the requests sent, every scaled worker too', async () => {
    const query = async (q: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> => {
      const res = await fetch(`http://127.0.0.1:${prometheusPort}/api/v1/query?query=${encodeURIComponent(q)}`).catch(() => undefined);
      return res?.ok ? (await res.json()).data.result : [];
    };
    const brokerIps = await Promise.all([instance('bro'), instance('bro2')].map(addressOf));
    const workerIps = await Promise.all([1, 2, 3].map((n) => addressOf(instance('wor', n))));
    // Both brokers, found by the name `brokers`; Prometheus scrapes every 5 s.
    const brokers = await eventually(
      '2 broker targets up',
      async () => {
        const r = await query('up{job="broker"} == 1');
        return r.length === 2 ? r : undefined;
      },
      60_000,
      1000,
    );
    expect(brokers.map((r) => r.metric['instance'].replace(/:9180$/, '')).sort()).toEqual([...brokerIps].sort());
    // The cli container's request and the host clients' above, each counted by the broker that took it.
    await eventually(
      `Prometheus to have scraped ${sent} requests from the brokers`,
      async () => (await query('sum(tsr_broker_requests_total)'))[0]?.value[1] === String(sent),
      60_000,
      1000,
    );
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
      `the workers to have served ${sent} requests in all`,
      async () => (await query('sum(tsr_worker_requests_total)'))[0]?.value[1] === String(sent),
      30_000,
      1000,
    );
    // The alert rules are loaded (docker/prometheus/alerts.yml), and none fires on a healthy deployment
    // once they have been evaluated with every target up (an evaluation before the first scrape of
    // the brokers finds none up, and TsrNoBrokerUp is pending until the next one).
    const rules = async () => {
      const body = await (await fetch(`http://127.0.0.1:${prometheusPort}/api/v1/rules`)).json();
      return body.data.groups.flatMap((g: { rules: { name: string; state: string }[] }) => g.rules) as { name: string; state: string }[];
    };
    expect((await rules()).map((r) => r.name)).toEqual(
      expect.arrayContaining(['TsrBrokerDown', 'TsrNoBrokerUp', 'TsrServiceWithoutWorkers', 'TsrWorkerNotRegistered']),
    );
    const active = () => rules().then((all) => all.filter((r) => r.state !== 'inactive'));
    await eventually('no alert pending or firing', async () => (await active()).length === 0, 30_000, 1000).catch(async () =>
      expect(await active()).toEqual([]),
    );
  });

  it('serves the wordcount service beside the echo: each broker lists both with their workers, a text is counted, a bad one refused', async () => {
    const client = (hosts: string[], ...args: string[]) =>
      run('node', [clientMain, ...hosts, '--timeout', '20000', '--retries', '0', ...withBrokerKey, ...args]);
    for (const p of [port, port2]) {
      const listed = await eventually(`both services listed by the broker on ${p}`, async () => {
        const r = await client(['127.0.0.1', String(p)], '--services', '--json');
        const services = r.code === 0 ? JSON.parse(r.stdout) : [];
        return services.length === 2 ? services : undefined;
      });
      // How many are ready at one broker depends on where the workers' credit is lent at the moment.
      expect(listed).toEqual([
        expect.objectContaining({ name: 'default', workers: 3, waiting: 0 }),
        expect.objectContaining({ name: 'wordcount', workers: 2, waiting: 0 }),
      ]);
    }
    const counted = await client([bothFrontends()], '--service', 'wordcount', '--request', TO_BE);
    expect(counted.code).toBe(0);
    expect(JSON.parse(counted.stdout)).toEqual(TO_BE_COUNTED);
    const refused = await client([bothFrontends()], '--service', 'wordcount', '--request', '...');
    expect({ code: refused.code, stderr: refused.stderr }).toEqual({
      code: 4,
      stderr: 'client: error: the service failed: no words to count: send some text\n',
    });
  });

  it("serves each broker's status page on its published HTTP port", async () => {
    for (const p of [statusPort, statusPort2]) {
      const page = await fetch(`http://127.0.0.1:${p}/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<title>tsr broker</title>');
      expect((await statusAt(p)).workers).toHaveLength(5); // 3 wor, 2 wc
    }
  });

  it('keeps the keys out of images and environments: each service gets its own, mounted read-only', async () => {
    const keys = readdirSync(secrets)
      .filter((f) => f.endsWith('.key') || f.endsWith('.pub'))
      .map((f) => readFileSync(join(secrets, f), 'utf8').match(/"(.{40})"/g) ?? [])
      .flat();
    expect(keys.length).toBeGreaterThanOrEqual(6);
    const mounted = {
      bro: ['broker.key', 'clients', 'workers'],
      bro2: ['broker.key', 'clients', 'workers'],
      wor: ['broker.pub', 'worker.key'],
      cli: ['broker.pub', 'client.key'],
    };
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
      'BROKER_HOST=brokers',
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
      for (const broker of [instance('bro'), instance('bro2')])
        await waitForLog(broker.getId(), /allow-list of backend re-read: 2 key\(s\), 1 added, 0 removed/);
      await waitForLog(extra, /registered: the broker speaks TSR\/1/);
    } finally {
      await docker('rm', '-f', extra);
      rmSync(join(secrets, 'workers', 'extra.pub'), { force: true });
    }
  });

  it('keeps answering through bro2 when bro is killed (SIGKILL): a load given both frontends loses nothing, `brokers` names the survivor', async () => {
    const bro = instance('bro').getId();
    const bro2 = instance('bro2');
    const requestsAt = async (p: number) => metric(await scrape(p), 'tsr_broker_requests_total') ?? 0;
    const before = await requestsAt(statusPort);
    // A load across both brokers; a request that gets no answer within 10 s is sent to the next one.
    // Each of the 12 clients connects first to a broker picked at random: with 4, all of them picked
    // bro2 one run in 16, and bro took none of the load. 12 in flight wait at most 6 s for 3 workers.
    const load = run('node', [
      clientMain,
      bothFrontends(),
      '--requests',
      '24',
      '--concurrency',
      '12',
      '--json',
      '--timeout',
      '10000',
      '--retries',
      '5',
      '--request',
      'through-the-kill',
      ...withBrokerKey,
    ]);
    // Killed while it holds some of the load. `docker kill` (SIGKILL) counts as a stop for the
    // restart policy: bro stays down, and only bro2 can answer from here on.
    await eventually('bro to have taken some of the load', async () => (await requestsAt(statusPort)) >= before + 2, 30_000, 100);
    await docker('kill', bro);
    const outcome = await load;
    expect({ code: outcome.code, summary: loadSummary(outcome.stdout), stderr: outcome.stderr }).toEqual({
      code: 0,
      summary: expect.objectContaining({ requests: 24, answered: 24, errors: 0, stray: 0 }),
      stderr: expect.any(String), // progress lines; shown if the rest fails
    });
    const dead = await stateOf(bro);
    expect({ running: dead.Running, exit: dead.ExitCode }).toEqual({ running: false, exit: 137 });
    // The name now resolves to bro2 alone; a client on the project's network given it is answered.
    expect(await lookup('brokers')).toEqual([await addressOf(bro2)]);
    const network = Object.keys(JSON.parse(await docker('inspect', '-f', '{{json .NetworkSettings.Networks}}', bro2.getId())))[0];
    const labels = Object.entries(labelsFor('compose')).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
    const inside = await run('docker', [
      'run',
      '--rm',
      ...labels,
      '--network',
      network,
      '-v',
      `${join(secrets, 'broker.pub')}:/run/secrets/broker.pub:ro`,
      '-v',
      `${join(secrets, 'client.key')}:/run/secrets/client.key:ro`,
      '-e',
      'BROKER_HOST=brokers',
      '-e',
      'BROKER_PORT=9998',
      '-e',
      'CURVE_SERVER_KEY_FILE=/run/secrets/broker.pub',
      '-e',
      'CURVE_SECRET_KEY_FILE=/run/secrets/client.key',
      image('client'),
      '--request',
      'inside',
    ]);
    expect({ code: inside.code, stdout: inside.stdout.trim() }).toEqual({
      code: 0,
      stdout: expect.stringMatching(/^inside W [0-9a-f]{12}-1-[0-9a-f]{6}$/),
    });
    // Every worker still serves bro2.
    expect((await statusAt(statusPort2)).workers).toHaveLength(5);

    // bro back (same container): the workers find it again by the name and serve it.
    const starts = (await logsOf(bro)).match(new RegExp(FRONTEND.source, 'g'))?.length ?? 0;
    await docker('start', bro);
    await waitForLog(bro, FRONTEND, starts + 1);
    await eventually(
      'the 5 workers registered with bro again',
      async () => (await statusAt(statusPort).catch(() => ({ workers: [] }))).workers.length === 5,
      30_000,
      500,
    );
    const back = await request(['127.0.0.1', String(port)], 'bro-is-back');
    expect({ code: back.code, stdout: back.stdout.trim() }).toEqual({ code: 0, stdout: expect.stringMatching(/^bro-is-back W /) });
  });

  it('restarts a broker that dies (restart: unless-stopped): killed with SIGKILL, it is back on its port and serves a host client', async () => {
    const bro = instance('bro').getId();
    const inspect = (format: string) => docker('inspect', '-f', format, bro);
    const restarts = Number(await inspect('{{.RestartCount}}'));
    const starts = (await logsOf(bro)).match(new RegExp(FRONTEND.source, 'g'))?.length ?? 0;
    process.kill(Number(await inspect('{{.State.Pid}}')), 'SIGKILL'); // its node, from the host: no stop, a death
    await eventually('the broker restarted by its policy', async () => Number(await inspect('{{.RestartCount}}')) > restarts, 30_000, 200);
    await waitForLog(bro, FRONTEND, starts + 1);
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

  it("publishes only each broker's frontend and status page, on 127.0.0.1; the backends stay internal", async () => {
    for (const [name, frontend, status] of [
      ['bro', port, statusPort],
      ['bro2', port2, statusPort2],
    ] as const) {
      const ports = JSON.parse(await docker('inspect', '-f', '{{json .NetworkSettings.Ports}}', instance(name).getId()));
      expect({ name, ports }).toEqual({
        name,
        ports: {
          '9998/tcp': [{ HostIp: '127.0.0.1', HostPort: String(frontend) }],
          '9180/tcp': [{ HostIp: '127.0.0.1', HostPort: String(status) }],
          '9999/tcp': null,
        },
      });
    }
  });

  it('is torn down by down: no container, no network left', async () => {
    await environment?.down({ timeout: 10_000 });
    environment = undefined;
    expect(await docker('ps', '-aq', '--filter', `label=com.docker.compose.project=${project}`)).toBe('');
    expect(await docker('network', 'ls', '-q', '--filter', `name=${project}`)).toBe('');
  });
});
