import { join } from 'node:path';
import { DockerComposeEnvironment, type StartedDockerComposeEnvironment, type StartedTestContainer, Wait } from 'testcontainers';
import { composeProject, docker, freePort, logsOf, repoRoot, run, version } from './support/docker';

const clientMain = join(repoRoot, 'dist', 'apps', 'client', 'main.js');

/** Compose v2 (`docker compose`) when the engine has it, else the standalone docker-compose (Debian's 1.29). */
async function composeExecutable(): Promise<{ executable?: { standalone: true } }> {
  return (await run('docker', ['compose', 'version'])).code === 0 ? {} : { executable: { standalone: true } };
}

/** Compose 1.x names containers `<project>_wor_1`, Compose 2 `<project>-wor-1`: Testcontainers keeps `wor_1` or `wor-1`. */
const spellings = (service: string, n: number) => [`${service}_${n}`, `${service}-${n}`];

describe('docker/docker-compose.yml (the seed\'s bro, wor, cli)', () => {
  const project = composeProject();
  let environment: StartedDockerComposeEnvironment | undefined;
  let port: number;

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
    port = await freePort();
    const compose = new DockerComposeEnvironment(join(repoRoot, 'docker'), 'docker-compose.yml')
      .withProjectName(project)
      // Workers take 1.5 s (the broker allows 5 s): 3 requests sent together find all 3 workers free.
      .withEnvironment({ FRONTEND_PUBLISH: `127.0.0.1:${port}`, TSR_VERSION: version, WORKER_DELAY_MS: '1500', ANSWER_TIMEOUT_MS: '5000' })
      .withClientOptions({ ...(await composeExecutable()), commandOptions: ['--scale', 'wor=3', '--no-build'] })
      .withDefaultWaitStrategy(Wait.forLogMessage(/\[worker\] W \S+ connecting to/));
    for (const name of spellings('bro', 1)) compose.withWaitStrategy(name, Wait.forLogMessage(/\[broker\] frontend tcp:\/\/\*:9998/));
    for (const name of spellings('cli', 1)) compose.withWaitStrategy(name, Wait.forOneShotStartup());
    environment = await compose.up();
  });

  afterAll(async () => {
    await environment?.down({ timeout: 10_000 });
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
      [1, 2, 3].map((i) => run('node', [clientMain, '127.0.0.1', String(port), '--request', `remote-${i}`, '--timeout', '20000', '--retries', '0'])),
    );
    const answeredBy = replies.map((r, i) => {
      expect(r.code).toBe(0);
      expect(r.stdout.trim()).toMatch(new RegExp(`^remote-${i + 1} W [0-9a-f]{12}-1-[0-9a-f]{6}$`));
      return / W ([0-9a-f]{12})-/.exec(r.stdout)?.[1];
    });
    expect(new Set(answeredBy)).toEqual(new Set(workerHosts)); // three free workers, three requests
  });

  it('publishes only the frontend, on 127.0.0.1; the backend stays internal', async () => {
    const ports = JSON.parse(await docker('inspect', '-f', '{{json .NetworkSettings.Ports}}', instance('bro').getId()));
    expect(ports['9998/tcp']).toEqual([{ HostIp: '127.0.0.1', HostPort: String(port) }]);
    expect(ports['9999/tcp']).toBeNull();
  });

  it('is torn down by down: no container, no network left', async () => {
    await environment?.down({ timeout: 10_000 });
    environment = undefined;
    expect(await docker('ps', '-aq', '--filter', `label=com.docker.compose.project=${project}`)).toBe('');
    expect(await docker('network', 'ls', '-q', '--filter', `name=${project}`)).toBe('');
  });
});
