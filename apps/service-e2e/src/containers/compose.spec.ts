import { join } from 'node:path';
import { type RunResult, composeProject, docker, freePort, logsOf, repoRoot, run, version, waitForExit } from './support/docker';

const composeFile = join(repoRoot, 'docker', 'docker-compose.yml');
const clientMain = join(repoRoot, 'dist', 'apps', 'client', 'main.js');

/** Compose v2 (`docker compose`) when the engine has it, else Debian's docker-compose 1.29. */
async function composeCommand(): Promise<string[]> {
  if ((await run('docker', ['compose', 'version'])).code === 0) return ['docker', 'compose'];
  return ['docker-compose'];
}

describe('docker/docker-compose.yml (the seed\'s bro, wor, cli)', () => {
  const project = composeProject();
  let compose: (...args: string[]) => Promise<RunResult>;
  let port: number;

  beforeAll(async () => {
    const cmd = await composeCommand();
    port = await freePort();
    // Workers take 1.5 s (the broker allows 5 s): 3 requests sent together find all 3 workers free.
    const env = { ...process.env, COMPOSE_PROJECT_NAME: project, FRONTEND_PUBLISH: `127.0.0.1:${port}`, TSR_VERSION: version, WORKER_DELAY_MS: '1500', ANSWER_TIMEOUT_MS: '5000' };
    compose = (...args) => run(cmd[0], [...cmd.slice(1), '-f', composeFile, ...args], { env });
  });

  afterAll(async () => {
    await compose('down', '--remove-orphans', '-t', '10');
  });

  // -a: Compose v2 lists only running containers without it (the cli has exited).
  const idsOf = async (service: string) => (await compose('ps', '-a', '-q', service)).stdout.split('\n').filter(Boolean);

  it('comes up with --scale wor=3: one broker, three workers, the client container answered', async () => {
    const up = await compose('up', '-d', '--no-build', '--scale', 'wor=3');
    expect({ code: up.code, stderr: up.code === 0 ? '' : up.stderr }).toEqual({ code: 0, stderr: '' });

    expect(await idsOf('bro')).toHaveLength(1);
    const workers = await idsOf('wor');
    expect(workers).toHaveLength(3);
    const [cli] = await idsOf('cli');
    expect(await waitForExit(cli, 60_000)).toBe(0);
    // The seed's client sends "C <its hostname>" and prints the reply "C <hostname> W <worker>".
    const reply = (await logsOf(cli)).trim();
    const hostname = await docker('inspect', '-f', '{{.Config.Hostname}}', cli);
    expect(reply).toMatch(new RegExp(`^C ${hostname} W [0-9a-f]{12}-1-[0-9a-f]{6}$`));
    const workerHosts = await Promise.all(workers.map((id) => docker('inspect', '-f', '{{.Config.Hostname}}', id)));
    expect(workerHosts).toContain(/ W ([0-9a-f]{12})-/.exec(reply)?.[1]);
  });

  it('publishes the frontend on the host port: 3 host clients at once are served by the 3 workers', async () => {
    const workerHosts = await Promise.all((await idsOf('wor')).map((id) => docker('inspect', '-f', '{{.Config.Hostname}}', id)));
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
    const [bro] = await idsOf('bro');
    const ports = JSON.parse(await docker('inspect', '-f', '{{json .NetworkSettings.Ports}}', bro));
    expect(ports['9998/tcp']).toEqual([{ HostIp: '127.0.0.1', HostPort: String(port) }]);
    expect(ports['9999/tcp']).toBeNull();
  });

  it('is torn down by down: no container, no network left', async () => {
    const down = await compose('down', '--remove-orphans', '-t', '10');
    expect(down.code).toBe(0);
    expect(await docker('ps', '-aq', '--filter', `label=com.docker.compose.project=${project}`)).toBe('');
    expect(await docker('network', 'ls', '-q', '--filter', `name=${project}`)).toBe('');
  });
});
