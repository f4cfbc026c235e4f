import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deploymentBrokerKey, ensureDeploymentKeys } from '@tsr/runtime';
import { ContainerDeployment } from '../../support/containers/service';
import {
  type RunResult,
  docker,
  eventually,
  freePort,
  image,
  labelsFor,
  logsOf,
  owner,
  removeLabelled,
  repoRoot,
  run,
  stateOf,
  version,
  waitForExit,
} from '../../support/containers/docker';
import { type LoadSummary, loadSummary } from '../../support/containers/chaos';

// docker/deploy/swarm/stack.yml on the live engine (a one-node swarm): the SLA adaptation of the seed's "several nodes" —
// workers scaled 3 → 5 → 2, replaced by a new image version, one killed — while clients on the
// stack's overlay network and on the host (through the broker's host-mode published port) keep
// getting every answer.
//
// Swarm mode: the suite runs `docker swarm init` only when the engine is not in swarm mode, marks
// the node with the label `tsr.e2e.swarm=<owner pid>`, and leaves swarm mode at the end only if it
// (or a killed run of it) initialized it, no service is left, and no plain container could be
// hurt. A swarm that was there before is used and left as it was.
//
// Why "could be hurt": `docker swarm leave` makes Docker's embedded DNS forget the names of the
// containers running on user-defined networks at that moment (moby/moby#45144, seen here on
// 20.10.24: `bro` no longer resolves, for the running containers and new ones alike; published
// ports and the networks themselves survive). Another run's containers may be running on this
// engine, so the suite leaves only while no container other than swarm tasks runs on a
// user-defined network; otherwise it stays in swarm mode (harmless on this engine) and a later
// run leaves. A network made before the init is checked to survive the leave and to work after it.
//
// Images are given to the stack by ID: a swarm node tries to pull a *tag* from a registry at every
// task start (even with --resolve-image never), which must not happen here; with an ID it does not.

const SUITE = 'swarm';
const stackFile = join(repoRoot, 'docker', 'deploy', 'swarm', 'stack.yml');
const monitoringFile = join(repoRoot, 'docker', 'deploy', 'swarm', 'monitoring.yml');
const clientMain = join(repoRoot, 'dist', 'apps', 'client', 'main.js');
const STACK_PREFIX = 'tsrswarm';
const SWARM_LABEL = 'tsr.e2e.swarm';
const WORKER_DELAY_MS = 100;
/** The stack's CURVE keys, as `npx nx run tools:keygen -- --dir <folder>` makes them: a folder of this run. */
const secrets = join(mkdtempSync(join(tmpdir(), 'tsr-swarm-')), 'secrets');
ensureDeploymentKeys(secrets);
const brokerPublicKey = deploymentBrokerKey(secrets);

const lines = (text: string) =>
  text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
};
/** An owner pid (a label's value or a name's part) whose run has ended, or that is not a pid. */
const gone = (pid: string | undefined) => pid !== owner() && !(Number.isInteger(Number(pid)) && Number(pid) > 0 && alive(Number(pid)));

const imageId = (ref: string) => docker('image', 'inspect', '-f', '{{.Id}}', ref);
const labelArgs = () => Object.entries(labelsFor(SUITE)).flatMap(([k, v]) => ['--label', `${k}=${v}`]);

async function swarmState(): Promise<{ state: string; nodeId: string; manager: boolean }> {
  const [state, nodeId, manager] = (
    await docker('info', '--format', '{{.Swarm.LocalNodeState}} {{.Swarm.NodeID}} {{.Swarm.ControlAvailable}}')
  ).split(' ');
  return { state, nodeId, manager: manager === 'true' };
}
/** The node label that says which run initialized the swarm (empty: none of ours). */
const swarmOwner = async (nodeId: string) => docker('node', 'inspect', nodeId, '-f', `{{index .Spec.Labels "${SWARM_LABEL}"}}`);
/** Whether docker_gwbridge existed before that run's init (recorded with it, for whoever leaves). */
const GWBRIDGE_LABEL = `${SWARM_LABEL}.gwbridge-before`;

/** Running containers of a swarm service; `healthy` only those Docker reports healthy. */
const tasksOf = async (service: string, healthy = false) =>
  lines(
    await docker(
      'ps',
      '-q',
      '--no-trunc',
      '--filter',
      `label=com.docker.swarm.service.name=${service}`,
      ...(healthy ? ['--filter', 'health=healthy'] : []),
    ),
  );

/** Waits until exactly `n` containers of the service run, all healthy; returns their ids. */
async function converged(service: string, n: number, timeoutMs = 60_000): Promise<string[]> {
  return eventually(
    `${n} healthy running tasks of ${service}`,
    async () => {
      const [all, healthy] = await Promise.all([tasksOf(service), tasksOf(service, true)]);
      return all.length === n && healthy.length === n ? healthy : undefined;
    },
    timeoutMs,
    300,
  );
}

/** Removes a stack and waits until its services, containers and networks are gone. */
async function removeStack(name: string): Promise<void> {
  await run('docker', ['stack', 'rm', name]);
  const label = `label=com.docker.stack.namespace=${name}`;
  await eventually(
    `the services and running containers of stack ${name} to go`,
    async () => {
      const services = lines((await run('docker', ['service', 'ls', '-q', '--filter', label])).stdout);
      const running = lines((await run('docker', ['ps', '-q', '--filter', label])).stdout);
      return services.length === 0 && running.length === 0;
    },
    60_000,
    300,
  );
  // Swarm leaves the containers of completed job tasks (`cli`) behind, exited: they go too.
  const exited = lines((await run('docker', ['ps', '-aq', '--filter', label])).stdout);
  if (exited.length) await run('docker', ['rm', '-f', '-v', ...exited]);
  // `stack rm` asks for the network's removal at once; while the swarm still holds endpoints of
  // the stopped tasks (slow on a busy engine) that fails and the network stays: ask again.
  let asked = Date.now();
  await eventually(
    `the networks of stack ${name} to go`,
    async () => {
      const networks = lines((await run('docker', ['network', 'ls', '-q', '--filter', label])).stdout);
      if (networks.length && Date.now() - asked > 2000) {
        await run('docker', ['network', 'rm', ...networks]);
        asked = Date.now();
      }
      return networks.length === 0;
    },
    60_000,
    300,
  );
}

interface LoadRun {
  via: 'overlay' | 'host';
  start: number;
  end: number;
  code: number;
  summary?: LoadSummary;
  output: string;
}

interface Operation {
  what: string;
  start: number;
  end: number;
}

describe('docker/deploy/swarm/stack.yml on a swarm: scaling, a new worker version and a killed worker while clients keep getting answers', () => {
  const stack = `${STACK_PREFIX}${owner()}x${randomBytes(3).toString('hex')}`;
  const service = (s: 'bro' | 'wor' | 'cli') => `${stack}_${s}`;
  const network = `${stack}_tsr`;
  const newWorkerTag = `tsr-worker:e2e-${owner()}-${randomBytes(3).toString('hex')}`;
  // A network made before the init, used only after the leave.
  const after = new ContainerDeployment('swarm-after');
  const swarm = { initialized: false, owned: false, gwbridgeBefore: true, left: false, nodeId: '' };
  const images = { broker: '', worker: '', client: '', newWorker: '', prometheus: '' };
  let port = 0;
  let prometheusPort = 0;
  let stopLoads = () => {};
  let loadsDone: Promise<unknown> = Promise.resolve();

  beforeAll(async () => {
    const before = await swarmState();
    if (before.state === 'inactive') {
      await after.start({ internal: true });
      swarm.gwbridgeBefore = (await run('docker', ['network', 'inspect', 'docker_gwbridge'])).code === 0;
      // Loopback only: the swarm's control and gossip ports listen on 127.0.0.1, nothing else.
      const init = await run('docker', ['swarm', 'init', '--advertise-addr', '127.0.0.1', '--listen-addr', '127.0.0.1:2377']);
      if (init.code !== 0) throw new Error(`docker swarm init failed (${init.code}): ${init.stderr.trim()}`);
      swarm.initialized = true;
      swarm.owned = true;
      swarm.nodeId = (await swarmState()).nodeId;
      await docker(
        'node',
        'update',
        '--label-add',
        `${SWARM_LABEL}=${owner()}`,
        '--label-add',
        `${GWBRIDGE_LABEL}=${swarm.gwbridgeBefore}`,
        swarm.nodeId,
      );
    } else if (before.state === 'active') {
      if (!before.manager) throw new Error('this engine is a swarm worker, not a manager: it cannot deploy a stack');
      swarm.nodeId = before.nodeId;
      // A swarm initialized by a run of this suite that was killed is this run's to leave; a
      // swarm of anyone else (no label, or a run still going) is used and left alone.
      const by = await swarmOwner(swarm.nodeId);
      if (by !== '' && gone(by)) {
        await docker('node', 'update', '--label-add', `${SWARM_LABEL}=${owner()}`, swarm.nodeId);
        swarm.owned = true;
        swarm.gwbridgeBefore =
          (await docker('node', 'inspect', swarm.nodeId, '-f', `{{index .Spec.Labels "${GWBRIDGE_LABEL}"}}`)) !== 'false';
      }
      // Stacks of killed runs of this suite.
      for (const name of lines(await docker('stack', 'ls', '--format', '{{.Name}}'))) {
        const m = new RegExp(`^${STACK_PREFIX}(\\d+)x`).exec(name);
        if (m && gone(m[1])) await removeStack(name);
      }
    } else {
      throw new Error(`the engine's swarm state is "${before.state}": neither inactive (init) nor active (use)`);
    }
    // New-version images left by killed runs.
    for (const tag of lines(await docker('images', 'tsr-worker', '--format', '{{.Tag}}'))) {
      const m = /^e2e-(\d+)-/.exec(tag);
      if (m && gone(m[1])) await run('docker', ['rmi', `tsr-worker:${tag}`]);
    }

    images.broker = await imageId(image('broker'));
    images.worker = await imageId(image('worker'));
    images.client = await imageId(image('client'));
    // "A new version" of the worker: the same program in an image with its own ID and version
    // label, made locally (a container is created, not started, and committed).
    const draft = await docker('create', ...labelArgs(), image('worker'));
    try {
      images.newWorker = await docker(
        'commit',
        '--change',
        `LABEL org.opencontainers.image.version=${version}-e2e.${owner()}`,
        draft,
        newWorkerTag,
      );
    } finally {
      await run('docker', ['rm', '-f', draft]);
    }
    expect(images.newWorker).not.toBe(images.worker);

    // Prometheus: upstream's image where present, else Debian's prometheus packaged locally.
    const prometheus = await run('bash', [join(repoRoot, 'tools', 'docker', 'prometheus-image.sh')]);
    if (prometheus.code !== 0) throw new Error(`no Prometheus image: ${prometheus.stderr}`);
    images.prometheus = await imageId(prometheus.stdout.trim());

    port = await freePort();
    prometheusPort = await freePort();
    const env = {
      ...process.env,
      BROKER_IMAGE: images.broker,
      WORKER_IMAGE: images.worker,
      CLIENT_IMAGE: images.client,
      PROMETHEUS_IMAGE: images.prometheus,
      PROMETHEUS_PUBLISH: String(prometheusPort),
      FRONTEND_PUBLISH: String(port),
      // One node: one broker (at most one per node; a second would stay pending).
      BROKERS: '1',
      WORKERS: '3',
      WORKER_DELAY_MS: String(WORKER_DELAY_MS),
      TSR_LOG: 'trace',
      TSR_SECRETS: secrets,
    };
    // No --detach: detaching is the default, and older clients (Debian's 20.10) lack the flag.
    // The stack with its monitoring file, as deploy/README.md says: one stack, two files.
    const deploy = await run('docker', ['stack', 'deploy', '--resolve-image', 'never', '-c', stackFile, '-c', monitoringFile, stack], {
      env,
    });
    if (deploy.code !== 0) throw new Error(`docker stack deploy failed (${deploy.code}): ${deploy.stderr.trim()}`);
  });

  afterAll(async () => {
    stopLoads();
    await loadsDone.catch(() => undefined);
    const problems: string[] = [];
    const attempt = async (what: string, f: () => Promise<unknown>) => {
      try {
        await f();
      } catch (e) {
        problems.push(`${what}: ${(e as Error).message}`);
      }
    };
    if (swarm.nodeId) await attempt(`docker stack rm ${stack}`, () => removeStack(stack));
    await attempt('the load clients', () => removeLabelled(`tsr.e2e.suite=${labelsFor(SUITE)['tsr.e2e.suite']}`));
    rmSync(join(secrets, '..'), { recursive: true, force: true });
    await attempt(`docker rmi ${newWorkerTag}`, async () => {
      if ((await run('docker', ['image', 'inspect', newWorkerTag])).code === 0) await docker('rmi', newWorkerTag);
    });
    if (!swarm.left)
      await attempt('leaving swarm mode', async () => {
        const { left, why } = await leaveIfOurs();
        if (!left && swarm.owned) console.log(`swarm: staying in swarm mode (${why})`);
      });
    await attempt('the network made before the init', () => after.cleanup());
    if (problems.length) throw new Error(`cleanup of the swarm suite: ${problems.join('; ')}`);
  });

  /** Leaves swarm mode if this run owns it, no service is left and no plain container can be hurt. */
  async function leaveIfOurs(): Promise<{ left: boolean; why: string }> {
    if (!swarm.owned) return { left: false, why: "the swarm is not this run's" };
    const { state, nodeId } = await swarmState();
    if (state !== 'active') return { left: false, why: `swarm state ${state}` };
    const by = await swarmOwner(nodeId);
    if (by !== owner() && !gone(by)) return { left: false, why: `run ${by} took the swarm over` };
    const services = lines(await docker('service', 'ls', '--format', '{{.Name}}'));
    if (services.length) return { left: false, why: `services still there: ${services.join(', ')}` };
    // moby/moby#45144: a leave breaks name resolution for containers running on user-defined networks.
    const exposed = lines(await docker('ps', '--format', '{{.Names}}\t{{.Networks}}\t{{.Label "com.docker.swarm.task.id"}}'))
      .map((l) => l.split('\t'))
      .filter(([, networks, task]) => !task && (networks ?? '').split(',').some((n) => n && !['bridge', 'host', 'none'].includes(n)))
      .map(([name]) => name);
    if (exposed.length)
      return {
        left: false,
        why: `containers running on user-defined networks would lose their DNS names: ${exposed.slice(0, 5).join(', ')}${exposed.length > 5 ? ', …' : ''}`,
      };
    await docker('swarm', 'leave', '--force');
    swarm.left = true;
    // docker_gwbridge (made by the swarm for its containers) stays after a leave: ours to remove
    // if it was not there before and nothing uses it.
    if (!swarm.gwbridgeBefore) {
      const attached = await run('docker', ['network', 'inspect', '-f', '{{len .Containers}}', 'docker_gwbridge']);
      if (attached.code === 0 && attached.stdout.trim() === '0') await run('docker', ['network', 'rm', 'docker_gwbridge']);
    }
    return { left: true, why: '' };
  }

  it('deploys: one broker and three workers, healthy; the cli job gets its answer; only the frontend is published, in host mode', async () => {
    const [bro] = await converged(service('bro'), 1);
    const workers = await converged(service('wor'), 3);

    // The one-shot client job: "C <its hostname> W <a worker id>", exit 0.
    const [cli] = await eventually('the cli job container', async () => {
      const ids = lines((await run('docker', ['ps', '-aq', '--filter', `label=com.docker.swarm.service.name=${service('cli')}`])).stdout);
      return ids.length ? ids : undefined;
    });
    expect(await waitForExit(cli, 60_000)).toBe(0);
    const reply = (await logsOf(cli))
      .split('\n')
      .map((l) => l.trim())
      .find((l) => /^C \S+ W \S+$/.test(l));
    const hostname = await docker('inspect', '-f', '{{.Config.Hostname}}', cli);
    expect(reply).toMatch(new RegExp(`^C ${hostname} W [0-9a-f]{12}-1-[0-9a-f]{6}$`));
    const workerHosts = await Promise.all(workers.map((id) => docker('inspect', '-f', '{{.Config.Hostname}}', id)));
    expect(workerHosts).toContain(/ W ([0-9a-f]{12})-/.exec(reply ?? '')?.[1]);

    // The frontend in host mode on the chosen port; the backend is not published.
    const ports = JSON.parse(await docker('service', 'inspect', '-f', '{{json .Endpoint.Ports}}', service('bro')));
    expect(ports).toEqual([expect.objectContaining({ Protocol: 'tcp', TargetPort: 9998, PublishedPort: port, PublishMode: 'host' })]);
    const bound = JSON.parse(await docker('inspect', '-f', '{{json .NetworkSettings.Ports}}', bro));
    expect(bound['9998/tcp']).toEqual(expect.arrayContaining([expect.objectContaining({ HostPort: String(port) })]));
    expect(bound['9999/tcp'] ?? null).toBeNull();
    // CURVE: each service gets its keys as Swarm secrets (files of uid 1000, mode 0400), none in its environment.
    const secretsOf = async (s: 'bro' | 'wor' | 'cli') =>
      (
        JSON.parse(await docker('service', 'inspect', '-f', '{{json .Spec.TaskTemplate.ContainerSpec.Secrets}}', service(s))) as {
          File: { Name: string; UID: string; Mode: number };
        }[]
      )
        .map((x) => `${x.File.Name} ${x.File.UID} ${x.File.Mode.toString(8)}`)
        .sort();
    expect(await secretsOf('bro')).toEqual(['broker.key 1000 400', 'clients.pub 1000 400', 'workers.pub 1000 400']);
    expect(await secretsOf('wor')).toEqual(['broker.pub 1000 400', 'worker.key 1000 400']);
    expect(await secretsOf('cli')).toEqual(['broker.pub 1000 400', 'client.key 1000 400']);
    expect(await docker('inspect', '-f', '{{json .Config.Env}}', bro)).not.toContain(brokerPublicKey);
    // Hardened as in the stack file: uid 1000, read-only root, no capabilities.
    const hostConfig = JSON.parse(await docker('inspect', '-f', '{{json .HostConfig}}', bro));
    expect({
      user: await docker('inspect', '-f', '{{.Config.User}}', bro),
      readOnly: hostConfig.ReadonlyRootfs,
      capDrop: hostConfig.CapDrop,
    }).toEqual({
      user: '1000:1000',
      readOnly: true,
      capDrop: ['ALL'],
    });
  });

  it('is scraped by the Prometheus of monitoring.yml: the broker and every worker task are up targets, found by DNS', async () => {
    const workers = await converged(service('wor'), 3);
    const taskIps = await Promise.all(
      workers.map((id) => docker('inspect', '-f', `{{(index .NetworkSettings.Networks "${network}").IPAddress}}`, id)),
    );
    const query = async (q: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> => {
      const res = await fetch(`http://127.0.0.1:${prometheusPort}/api/v1/query?query=${encodeURIComponent(q)}`).catch(() => undefined);
      return res?.ok ? (await res.json()).data.result : [];
    };
    const up = await eventually(
      'the broker and 3 worker targets up',
      async () => {
        const r = await query('up == 1');
        return r.filter((t) => t.metric['job'] === 'worker').length === 3 && r.some((t) => t.metric['job'] === 'broker') ? r : undefined;
      },
      90_000,
      1000,
    );
    const workerTargets = up.filter((t) => t.metric['job'] === 'worker').map((t) => t.metric['instance'].replace(/:9180$/, ''));
    expect(workerTargets.sort()).toEqual([...taskIps].sort());
    // The cli job's request, at least, counted by the broker and scraped.
    await eventually(
      "the broker's request counter in Prometheus",
      async () => Number((await query('tsr_broker_requests_total'))[0]?.value[1]) >= 1,
      30_000,
      1000,
    );
  });

  it('keeps answering every request while workers are scaled 3 → 5 → 2, updated to a new image, and one is killed', async () => {
    const [bro] = await tasksOf(service('bro'));
    const loads: LoadRun[] = [];
    let stopping = false;
    stopLoads = () => {
      stopping = true;
    };
    const loop = async (via: LoadRun['via'], once: () => Promise<RunResult>) => {
      while (!stopping) {
        const start = Date.now();
        const r = await once();
        loads.push({
          via,
          start,
          end: Date.now(),
          code: r.code,
          summary: loadSummary(r.stdout),
          output: (r.stdout + r.stderr).trim().slice(-2000),
        });
      }
    };
    const loadArgs = (requests: number, concurrency: number) => [
      '--requests',
      String(requests),
      '--concurrency',
      String(concurrency),
      '--timeout',
      '10000',
      '--retries',
      '3',
      '--json',
    ];
    // Clients in containers on the stack's (attachable) overlay network, reaching `bro` by name...
    const overlay = loop('overlay', () =>
      // (A public key is no secret: the broker's travels in the environment here.)
      run(
        'docker',
        [
          'run',
          '--rm',
          ...labelArgs(),
          '--network',
          network,
          '-e',
          'TSR_LOG=error',
          '-e',
          `CURVE_SERVER_KEY=${brokerPublicKey}`,
          images.client,
          'bro',
          '9998',
          ...loadArgs(40, 4),
        ],
        { timeoutMs: 120_000 },
      ),
    );
    // ...and on the host, through the frontend the broker publishes in host mode.
    const host = loop('host', () =>
      run('node', [clientMain, '127.0.0.1', String(port), ...loadArgs(20, 2), '--curve-server-key-file', join(secrets, 'broker.pub')], {
        timeoutMs: 120_000,
        env: { ...process.env, TSR_LOG: 'error' },
      }),
    );
    loadsDone = Promise.all([overlay, host]);
    await eventually(
      'a first load of each kind',
      async () => loads.some((l) => l.via === 'overlay') && loads.some((l) => l.via === 'host'),
      60_000,
      200,
    );

    const ops: Operation[] = [];
    const op = async <T>(what: string, f: () => Promise<T>): Promise<T> => {
      const start = Date.now();
      const value = await f();
      ops.push({ what, start, end: Date.now() });
      return value;
    };
    const served = async (id: string) => ((await logsOf(id)).match(/procesaPeticion: /g) ?? []).length;
    const allServe = (ids: string[], what: string) =>
      eventually(`each of ${what} serving requests`, async () => (await Promise.all(ids.map(served))).every((n) => n > 0), 60_000, 500);

    // (a) Scale up: the two new workers take work.
    const five = await op('scale 3 → 5', async () => {
      await docker('service', 'scale', '--detach', `${service('wor')}=5`);
      const ids = await converged(service('wor'), 5);
      await allServe(ids, '5 workers');
      return ids;
    });
    // ... and down: three stop (SIGTERM, exit 0), the broker moves their requests on.
    const two = await op('scale 5 → 2', async () => {
      await docker('service', 'scale', '--detach', `${service('wor')}=2`);
      return converged(service('wor'), 2);
    });
    const stopped = five.filter((id) => !two.includes(id));
    expect(stopped).toHaveLength(3);
    expect(await Promise.all(stopped.map(async (id) => (await stateOf(id)).ExitCode))).toEqual([0, 0, 0]);

    // (b) A new version of the worker, start-first: never fewer than 2 workers.
    const updated = await op('update to the new image', async () => {
      await docker('service', 'update', '--detach', '--no-resolve-image', '--image', images.newWorker, service('wor'));
      await eventually(
        `the update of ${service('wor')}`,
        async () => {
          const state = await docker('service', 'inspect', '-f', '{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}', service('wor'));
          if (/rollback|paused/.test(state)) throw new Error(`the update of ${service('wor')} ended "${state}"`);
          return state === 'completed';
        },
        90_000,
        500,
      );
      const ids = await converged(service('wor'), 2);
      await allServe(ids, 'the 2 new-version workers');
      return ids;
    });
    expect(updated.filter((id) => two.includes(id))).toEqual([]);
    expect(await Promise.all(updated.map((id) => docker('inspect', '-f', '{{.Image}}', id)))).toEqual([images.newWorker, images.newWorker]);

    // (c) A worker fails: SIGKILL, no goodbye. Swarm starts another; the broker re-dispatches.
    const [victim] = updated;
    const replaced = await op('kill a worker', async () => {
      await docker('kill', '--signal', 'KILL', victim);
      return eventually(
        'a replacement for the killed worker',
        async () => {
          const ids = await converged(service('wor'), 2);
          return ids.includes(victim) ? undefined : ids;
        },
        60_000,
        300,
      );
    });
    expect((await stateOf(victim)).ExitCode).toBe(137);
    await allServe(replaced, 'the workers after the kill');

    // Let the loads running now finish, and one more of each start after the last operation.
    const lastOp = Math.max(...ops.map((o) => o.end));
    await eventually(
      'a load of each kind started after the last operation',
      async () => ['overlay', 'host'].every((via) => loads.some((l) => l.via === via && l.start > lastOp)),
      60_000,
      200,
    );
    stopLoads();
    await loadsDone;

    const total = (f: (s: LoadSummary) => number) => loads.reduce((a, l) => a + (l.summary ? f(l.summary) : 0), 0);
    console.log(
      `swarm: ${loads.length} loads (${loads.filter((l) => l.via === 'overlay').length} on the overlay, ${loads.filter((l) => l.via === 'host').length} via the host port), ` +
        `${total((s) => s.requests)} requests, ${total((s) => s.answered)} answered, ${total((s) => s.errors)} errors, ${total((s) => s.retried)} retried; ` +
        ops.map((o) => `${o.what} ${((o.end - o.start) / 1000).toFixed(1)} s`).join(', '),
    );
    // Every load: exit 0, every request answered.
    for (const l of loads) {
      expect({ via: l.via, code: l.code, summary: l.summary ?? l.output }).toEqual({
        via: l.via,
        code: 0,
        summary: expect.objectContaining({ errors: 0, answered: l.summary?.requests ?? -1 }),
      });
    }
    // The loads did run during each operation.
    for (const o of ops)
      expect({ op: o.what, overlappingLoads: loads.some((l) => l.start < o.end && l.end > o.start) }).toEqual({
        op: o.what,
        overlappingLoads: true,
      });
    // One broker throughout: the same container, never restarted.
    expect(await tasksOf(service('bro'))).toEqual([bro]);
  });

  it('is removed by docker stack rm: no service, container, secret or network of it left', async () => {
    await removeStack(stack);
    const label = `label=com.docker.stack.namespace=${stack}`;
    expect(await docker('service', 'ls', '-q', '--filter', label)).toBe('');
    expect(await docker('secret', 'ls', '-q', '--filter', label)).toBe('');
    expect(await docker('ps', '-aq', '--filter', label)).toBe('');
    expect(await docker('network', 'ls', '-q', '--filter', `name=${network}`)).toBe('');
  });

  it('leaves swarm mode only if it started it; networks made before work after it', async () => {
    const { left, why } = await leaveIfOurs();
    if (!swarm.owned) {
      console.log('swarm: the engine was in swarm mode before this suite: left in swarm mode');
      expect(left).toBe(false);
      expect((await swarmState()).state).toBe('active');
      return;
    }
    if (!left) {
      console.log(`swarm: staying in swarm mode for now (${why}); a later run of this suite leaves it`);
      return;
    }
    expect((await swarmState()).state).toBe('inactive');
    if (!swarm.initialized) return; // adopted from a killed run: no network was made before
    // The network made before the init is still there, and a broker, a worker and a client
    // started on it now find each other by name.
    expect(lines(await docker('network', 'ls', '-q', '--filter', `name=${after.network.getName()}`))).toHaveLength(1);
    await after.startBroker();
    await after.startWorker(0);
    const answer = await after.runClient(['--request', 'after-swarm', '--timeout', '10000', '--retries', '0']);
    expect(answer.code).toBe(0);
    expect(answer.output).toMatch(/^after-swarm W \S+$/m);
  });
});
