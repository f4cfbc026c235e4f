// Checks of the deployment files without a cluster. Kubernetes: the kustomization as
// `kubectl kustomize` renders it, every object valid against Kubernetes' own OpenAPI schema
// (kubernetes-models), then the rules of this project: images, variables, ports, selectors and
// hardening agree with the programs and images of this repository. Docker Swarm: the stack file,
// against the same rules (it also runs for real in apps/service-e2e/src/swarm/one-node/stack.spec.ts).
// docker-compose: its brokers and how workers and clients find them (it runs for real in
// apps/service-e2e/src/containers/compose.spec.ts). Everywhere: two brokers or more, all found by one name.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isZ85Key } from '@tsr/runtime';
import { type Obj, hasKubectl, kustomize, parseYaml, schemaProblems, schemaProblemsOf } from './support/kubernetes';
import { PROMETHEUS_RULE, wantedPrometheusRule } from './support/prometheus-rule';
import {
  APPS,
  type App,
  brokerAddressEnv,
  envOf,
  healthcheckOf,
  imageHttpPort,
  imageUser,
  nxImages,
  read,
  root,
  version,
} from './support/repository';

const parseFile = (file: string) => parseYaml(readFileSync(file, 'utf8'), file);

/** The CURVE variables naming key files each program is given: its key pair and the public keys it needs. */
const CURVE_FILES: Record<App, string[]> = {
  broker: ['CURVE_SECRET_KEY_FILE', 'CURVE_WORKERS'],
  worker: ['CURVE_SERVER_KEY_FILE', 'CURVE_SECRET_KEY_FILE'],
  client: ['CURVE_SERVER_KEY_FILE', 'CURVE_SECRET_KEY_FILE'],
};
/** A key itself, rather than the name of its file, among some values. */
const keysIn = (values: readonly unknown[]) => values.flatMap((v) => String(v).split(/\s+/)).filter(isZ85Key);

let built: Set<string>;
beforeAll(async () => {
  built = await nxImages();
}, 60_000);

describe('what the deployment files are checked against', () => {
  it("finds the images, the programs' variables and health checks", () => {
    expect([...built].sort()).toEqual(['tsr-broker', 'tsr-client', 'tsr-worker', 'tsr-zmq']);
    expect([...envOf('broker')]).toEqual(
      expect.arrayContaining(['FRONTEND_PORT', 'BACKEND_PORT', 'ANSWER_TIMEOUT_MS', 'HEARTBEAT_MS', 'HEARTBEAT_LIVENESS', 'TSR_LOG']),
    );
    expect([...envOf('worker')]).toEqual(
      expect.arrayContaining([...brokerAddressEnv, 'WORKER_DELAY_MS', 'HEARTBEAT_MS', 'HEARTBEAT_LIVENESS', 'TSR_LOG']),
    );
    expect([...envOf('client')]).toEqual(expect.arrayContaining([...brokerAddressEnv, 'CLIENT_REQUESTS', 'CLIENT_JSON', 'TSR_LOG']));
    expect(envOf('broker').has('BROKER_HOST')).toBe(false);
    expect([...envOf('broker')]).toEqual(expect.arrayContaining(['HTTP_PORT', 'TSR_LOG_FORMAT']));
    expect([...envOf('worker')]).toEqual(expect.arrayContaining(['HTTP_PORT', 'TSR_LOG_FORMAT']));
    expect(envOf('client').has('HTTP_PORT')).toBe(false);
    expect(healthcheckOf('broker')).toEqual(['node', '/app/healthcheck.js', 'http', '/healthz', '/readyz']);
    expect(healthcheckOf('worker')).toEqual(['node', '/app/healthcheck.js', 'http', '/healthz', '/readyz']);
    expect(imageHttpPort('broker')).toBe(imageHttpPort('worker'));
    expect(read('docker', 'base', 'Dockerfile')).toMatch(/^COPY docker\/base\/healthcheck\.js \/app\/healthcheck\.js$/m);
  });
});

describe('the Kubernetes schema check itself', () => {
  it('accepts a valid object and names what is wrong in an invalid one', () => {
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'x' },
      spec: { selector: {}, template: { spec: { containers: [{ name: 'a', image: 'i' }] } } },
    };
    expect(schemaProblems(deployment)).toEqual([]);
    const broken = { ...deployment, spec: { ...deployment.spec, replicas: '3' } };
    expect(schemaProblems(broken)).toEqual([expect.stringContaining('spec/replicas must be integer')]);
    expect(schemaProblems({ ...deployment, apiVersion: 'apps/v9' })).toEqual(['no schema for apiVersion "apps/v9"']);
  });
});

// ---- Kubernetes --------------------------------------------------------------------------------

const k8sDir = join(root, 'docker', 'deploy', 'k8s');
const kubectl = hasKubectl();
if (!kubectl) {
  // Not a failure: the rendered manifests cannot be checked here, say so once.
  process.stderr.write('deploy: kubectl not found on PATH: the Kubernetes manifest tests are skipped (install kubectl to run them)\n');
}

const k8sSuite = 'docker/deploy/k8s, as `kubectl kustomize` renders it';
if (!kubectl) describe(k8sSuite, () => it.todo('kubectl is not on PATH: install it to check the Kubernetes manifests'));
else
  describe(k8sSuite, () => {
    const files = readdirSync(k8sDir)
      .filter((f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml')
      .sort();
    const objects = kustomize(k8sDir);
    const kustomization = parseFile(join(k8sDir, 'kustomization.yaml'))[0];
    const namespace = objects.find((o) => o.kind === 'Namespace')?.metadata?.name as string;
    const all = (kind: string) => objects.filter((o) => o.kind === kind);
    const one = (kind: string, name: string) => {
      const found = objects.filter((o) => o.kind === kind && o.metadata?.name === name);
      expect({ kind, name, count: found.length }).toEqual({ kind, name, count: 1 });
      return found[0];
    };
    const configMaps = new Map(all('ConfigMap').map((c) => [c.metadata.name as string, (c.data ?? {}) as Record<string, string>]));
    const workloads = [...all('Deployment'), ...all('Job')];
    const podLabels = (w: Obj): Record<string, string> => w.spec.template.metadata.labels;
    const matches = (selector: Record<string, string>, labels: Record<string, string>) =>
      Object.entries(selector).every(([k, v]) => labels[k] === v);
    const appOf = (image: string): App => {
      const app = /^tsr-(broker|worker|client):/.exec(image)?.[1];
      if (!app) throw new Error(`image ${image} is not one of tsr-broker, tsr-worker, tsr-client`);
      return app as App;
    };
    /** The environment a container gets: its ConfigMaps (envFrom) and its own env entries. */
    const envOfContainer = (c: Obj): Record<string, string> => {
      const env: Record<string, string> = {};
      for (const from of c.envFrom ?? []) {
        const data = configMaps.get(from.configMapRef?.name);
        if (!data) throw new Error(`container ${c.name}: envFrom a ConfigMap that does not exist: ${JSON.stringify(from)}`);
        Object.assign(env, data);
      }
      for (const e of c.env ?? []) env[e.name] = e.value ?? `<${JSON.stringify(e.valueFrom)}>`;
      return env;
    };
    const broker = one('Deployment', 'bro');
    const worker = one('Deployment', 'wor');
    const wordcount = one('Deployment', 'wc');
    const client = one('Job', 'cli');
    const brokerService = one('Service', 'bro');
    const containerOf = (w: Obj) => w.spec.template.spec.containers[0];

    it('renders objects that are all valid against the Kubernetes schema', () => {
      expect(objects.length).toBeGreaterThan(0);
      const problems = schemaProblemsOf(objects).flatMap((list, i) =>
        list.map((p) => `${objects[i].kind}/${objects[i].metadata?.name}: ${p}`),
      );
      expect(problems).toEqual([]);
    });

    it('puts every object but the Namespace into it, once', () => {
      expect(namespace).toBe('tsr');
      for (const o of objects.filter((o) => o.kind !== 'Namespace'))
        expect(`${o.kind}/${o.metadata.name} in ${o.metadata.namespace}`).toBe(`${o.kind}/${o.metadata.name} in ${namespace}`);
      const names = objects.map((o) => `${o.kind}/${o.metadata.name}`);
      expect(new Set(names).size).toBe(names.length);
    });

    it('has a kustomization that lists every manifest, the namespace and the image versions', () => {
      expect(kustomization.kind).toBe('Kustomization');
      expect(kustomization.namespace).toBe(namespace);
      expect([...kustomization.resources].sort()).toEqual(files);
      expect(kustomization.images).toEqual(expect.arrayContaining(APPS.map((a) => ({ name: `tsr-${a}`, newTag: version }))));
    });

    it('runs the images the Nx image targets build, at the repository version, pulled only if not present', () => {
      const apps = workloads.map((w) => {
        const containers: Obj[] = w.spec.template.spec.containers;
        expect(containers).toHaveLength(1);
        const [c] = containers;
        expect(built.has(c.image.split(':')[0])).toBe(true);
        expect(c.image).toBe(`${c.image.split(':')[0]}:${version}`);
        expect(c.imagePullPolicy).toBe('IfNotPresent');
        return appOf(c.image);
      });
      expect(apps.sort()).toEqual(['broker', 'client', 'worker', 'worker']); // wor and wc: the worker image, two services
    });

    it('gives each program only variables it reads, from ConfigMaps that exist', () => {
      for (const w of workloads) {
        const c = containerOf(w);
        const reads = envOf(appOf(c.image));
        const unknown = Object.keys(envOfContainer(c)).filter((n) => !reads.has(n));
        expect({ workload: w.metadata.name, unknown }).toEqual({ workload: w.metadata.name, unknown: [] });
      }
      // Every ConfigMap is used by some container.
      const used = new Set(workloads.flatMap((w) => (containerOf(w).envFrom ?? []).map((f: Obj) => f.configMapRef.name)));
      expect([...configMaps.keys()].filter((n) => !used.has(n))).toEqual([]);
    });

    it('wires the ports: broker variables = container ports = Service ports = what workers and clients connect to', () => {
      const b = containerOf(broker);
      const env = envOfContainer(b);
      const containerPort = (name: string) => b.ports.find((p: Obj) => p.name === name)?.containerPort;
      expect(containerPort('frontend')).toBe(Number(env['FRONTEND_PORT'] ?? 9998));
      expect(containerPort('backend')).toBe(Number(env['BACKEND_PORT'] ?? 9999));
      const servicePort = (name: string) => brokerService.spec.ports.find((p: Obj) => p.name === name);
      for (const name of ['frontend', 'backend']) {
        expect(servicePort(name)).toEqual(expect.objectContaining({ port: containerPort(name), targetPort: name, protocol: 'TCP' }));
      }
      expect(brokerService.spec.type ?? 'ClusterIP').toBe('ClusterIP');
      // Workers reach the backend, clients the frontend, through the Service's name: headless, so
      // that it resolves to every broker pod (a virtual IP would give each connection to one).
      const cl = envOfContainer(containerOf(client));
      for (const w of [worker, wordcount].map((d) => envOfContainer(containerOf(d)))) {
        expect({ host: w['BROKER_HOST'], port: Number(w['BROKER_PORT']) }).toEqual({
          host: brokerService.metadata.name,
          port: servicePort('backend').port,
        });
      }
      expect(envOfContainer(containerOf(wordcount))).toMatchObject({ WORKER_SERVICE: 'wordcount', WORKER_HANDLER: 'wordcount' });
      expect({ host: cl['BROKER_HOST'], port: Number(cl['BROKER_PORT']) }).toEqual({
        host: brokerService.metadata.name,
        port: servicePort('frontend').port,
      });
      // Only the frontend leaves the cluster.
      for (const s of all('Service').filter((s) => s.spec.type === 'NodePort' || s.spec.type === 'LoadBalancer')) {
        expect(s.spec.ports.map((p: Obj) => p.targetPort)).toEqual(['frontend']);
        for (const p of s.spec.ports.filter((p: Obj) => p.nodePort !== undefined)) expect(p.nodePort).toBeGreaterThanOrEqual(30000);
      }
    });

    it('selects the right pods: Deployments their templates, Services only the brokers, each budget and spread its own pods', () => {
      for (const w of all('Deployment')) expect(matches(w.spec.selector.matchLabels, podLabels(w))).toBe(true);
      const selectedBy = (selector: Record<string, string>) =>
        workloads.filter((w) => matches(selector, podLabels(w))).map((w) => w.metadata.name);
      for (const s of all('Service'))
        expect({ service: s.metadata.name, selects: selectedBy(s.spec.selector) }).toEqual({ service: s.metadata.name, selects: ['bro'] });
      expect(
        Object.fromEntries(all('PodDisruptionBudget').map((pdb) => [pdb.metadata.name, selectedBy(pdb.spec.selector.matchLabels)])),
      ).toEqual({
        bro: ['bro'],
        wor: ['wor'],
      });
      for (const c of worker.spec.template.spec.topologySpreadConstraints ?? [])
        expect(selectedBy(c.labelSelector.matchLabels)).toEqual(['wor']);
      for (const t of broker.spec.template.spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution)
        expect(selectedBy(t.podAffinityTerm.labelSelector.matchLabels)).toEqual(['bro']);
      // Network policies: the broker's admits the frontend from anywhere and the backend only from workers.
      const policy = all('NetworkPolicy').find(
        (p) => Object.keys(p.spec.podSelector).length && selectedBy(p.spec.podSelector.matchLabels).includes('bro'),
      );
      expect(policy).toBeDefined();
      const portNames = (containerOf(broker).ports as Obj[]).map((p) => p.name);
      for (const rule of policy?.spec.ingress ?? []) for (const p of rule.ports) expect(portNames).toContain(p.port);
      const backendRule = policy?.spec.ingress.find((r: Obj) => r.ports.some((p: Obj) => p.port === 'backend'));
      expect(backendRule.from.map((f: Obj) => selectedBy(f.podSelector.matchLabels))).toEqual([['wor'], ['wc']]);
    });

    it('runs two brokers or more, all found through one headless Service, spread over the nodes, never all stopped at once', () => {
      expect(broker.spec.replicas).toBeGreaterThanOrEqual(2);
      // Workers and clients are given a name that resolves to every ready broker pod.
      expect(brokerService.spec).toEqual(expect.objectContaining({ clusterIP: 'None', selector: broker.spec.selector.matchLabels }));
      expect(brokerService.spec.publishNotReadyAddresses ?? false).toBe(false);
      for (const d of [worker, wordcount, client]) expect(envOfContainer(containerOf(d))['BROKER_HOST']).toBe(brokerService.metadata.name);
      // A new version replaces one broker at a time, in place; the next goes once the new one has
      // been ready long enough for the workers' lookup (every 5 s) to find it.
      expect(broker.spec.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } });
      expect(broker.spec.minReadySeconds).toBeGreaterThanOrEqual(5);
      // One broker per node where there are nodes enough: preferred, so a one-node cluster runs them all.
      const anti = broker.spec.template.spec.affinity.podAntiAffinity;
      expect(anti.requiredDuringSchedulingIgnoredDuringExecution).toBeUndefined();
      expect(anti.preferredDuringSchedulingIgnoredDuringExecution).toEqual([
        expect.objectContaining({ podAffinityTerm: expect.objectContaining({ topologyKey: 'kubernetes.io/hostname' }) }),
      ]);
      // Voluntary disruptions leave one broker serving, and can proceed (a budget of every replica would block a drain).
      const budget = one('PodDisruptionBudget', 'bro');
      expect(budget.spec).toEqual({ minAvailable: 1, selector: { matchLabels: broker.spec.selector.matchLabels } });
      expect(broker.spec.replicas).toBeGreaterThan(budget.spec.minAvailable);
    });

    it('never has fewer workers during a rolling update; runs the client Job to its end', () => {
      expect(worker.spec.replicas).toBe(3);
      expect(worker.spec.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
      expect(wordcount.spec.replicas).toBe(2);
      expect(wordcount.spec.strategy).toEqual(worker.spec.strategy);
      expect(client.spec.template.spec.restartPolicy).toMatch(/^(Never|OnFailure)$/);
      expect(client.spec.parallelism).toBeLessThanOrEqual(client.spec.completions);
    });

    it('probes broker and workers on their HTTP endpoint (/readyz, /healthz: the paths the images check), where Prometheus scrapes them; clients are not probed', () => {
      for (const [w, app] of [
        [broker, 'broker'],
        [worker, 'worker'],
        [wordcount, 'worker'],
      ] as const) {
        const c = containerOf(w);
        const port = Number(envOfContainer(c)['HTTP_PORT']);
        expect(c.ports.find((p: Obj) => p.name === 'http')).toEqual({ name: 'http', containerPort: port, protocol: 'TCP' });
        expect({ app, readiness: c.readinessProbe?.httpGet, liveness: c.livenessProbe?.httpGet }).toEqual({
          app,
          readiness: { path: '/readyz', port: 'http' },
          liveness: { path: '/healthz', port: 'http' },
        });
        expect(healthcheckOf(app).slice(3).sort()).toEqual(['/healthz', '/readyz']);
        expect(w.spec.template.metadata.annotations).toEqual({
          'prometheus.io/scrape': 'true',
          'prometheus.io/port': String(port),
          'prometheus.io/path': '/metrics',
        });
      }
      const c = containerOf(client);
      expect([c.readinessProbe, c.livenessProbe, c.startupProbe]).toEqual([undefined, undefined, undefined]);
    });

    it('has a PodMonitor (Prometheus operator) that selects the broker and the workers by their http port', () => {
      const [monitor] = parseFile(join(k8sDir, 'monitoring', 'podmonitor.yaml'));
      expect(monitor).toMatchObject({ apiVersion: 'monitoring.coreos.com/v1', kind: 'PodMonitor', metadata: { namespace } });
      const selects = (labels: Record<string, string>) =>
        monitor.spec.selector.matchExpressions.every((e: Obj) => e.operator === 'In' && e.values.includes(labels[e.key]));
      expect(
        workloads
          .filter((w) => selects(podLabels(w)))
          .map((w) => w.metadata.name)
          .sort(),
      ).toEqual(['bro', 'wc', 'wor']);
      for (const e of monitor.spec.podMetricsEndpoints) {
        expect(e.path).toBe('/metrics');
        for (const w of [broker, worker, wordcount]) expect(containerOf(w).ports.map((p: Obj) => p.name)).toContain(e.port);
      }
      // The job of each series is the pod's component: the job names the alert rules use (prometheus.yml's).
      const jobs = [...read('docker', 'prometheus', 'prometheus.yml').matchAll(/job_name: (\w+)/g)].map((m) => m[1]);
      const ruleJobs = new Set([...read('docker', 'prometheus', 'alerts.yml').matchAll(/job="(\w+)"/g)].map((m) => m[1]));
      expect([...ruleJobs].filter((job) => !jobs.includes(job))).toEqual([]);
      expect([broker, worker, wordcount].map((w) => podLabels(w)[monitor.spec.jobLabel])).toEqual(jobs);
    });

    it('has a PrometheusRule (Prometheus operator) with the alert rules of docker/prometheus/alerts.yml, made from it', () => {
      expect({ file: PROMETHEUS_RULE, upToDate: read(PROMETHEUS_RULE) === wantedPrometheusRule() }).toEqual({
        file: PROMETHEUS_RULE,
        upToDate: true, // else: npx nx run deploy:prometheus-rule
      });
      const [rule] = parseFile(join(root, PROMETHEUS_RULE));
      expect(rule).toMatchObject({ apiVersion: 'monitoring.coreos.com/v1', kind: 'PrometheusRule', metadata: { namespace } });
      const [alerts] = parseFile(join(root, 'docker', 'prometheus', 'alerts.yml'));
      expect(rule.spec.groups).toEqual(alerts.groups);
    });

    it('hardens every pod: non-root by uid, read-only, no capabilities, no privilege escalation, limits, a grace period', () => {
      const user = imageUser();
      const toBytes = (q: string) =>
        Number(/^\d+/.exec(q)?.[0]) * ({ Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30 }[/[KMG]i$/.exec(q)?.[0] ?? ''] ?? 1);
      const toCpu = (q: string | number) => (String(q).endsWith('m') ? Number(String(q).slice(0, -1)) / 1000 : Number(q));
      for (const w of workloads) {
        const pod = w.spec.template.spec;
        const name = w.metadata.name;
        expect({ name, pod: pod.securityContext }).toEqual({
          name,
          pod: expect.objectContaining({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } }),
        });
        // The images' USER is `node`, a name: runAsNonRoot needs a numeric, non-zero uid here.
        if (!/^\d+$/.test(user ?? '')) expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
        expect({ name, automount: pod.automountServiceAccountToken, links: pod.enableServiceLinks }).toEqual({
          name,
          automount: false,
          links: false,
        });
        expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(0);
        for (const c of pod.containers) {
          expect({ name, security: c.securityContext }).toEqual({
            name,
            security: expect.objectContaining({
              runAsNonRoot: true,
              allowPrivilegeEscalation: false,
              readOnlyRootFilesystem: true,
              capabilities: { drop: ['ALL'] },
            }),
          });
          const { requests, limits } = c.resources;
          expect(toBytes(requests.memory)).toBeLessThanOrEqual(toBytes(limits.memory));
          expect(toCpu(requests.cpu)).toBeLessThanOrEqual(toCpu(limits.cpu));
          // The probe starts a second node process (~40 MiB) next to the program (~45 MiB).
          expect(toBytes(limits.memory)).toBeGreaterThanOrEqual(128 * 2 ** 20);
        }
      }
    });

    it('cannot have Service variables injected that a program reads (and injects none: enableServiceLinks false)', () => {
      // A Service `broker` would inject BROKER_PORT=tcp://<ip>:<port> into every pod of the namespace.
      const injected = all('Service').flatMap((s) => {
        const p = s.metadata.name.toUpperCase().replace(/-/g, '_');
        return [`${p}_SERVICE_HOST`, `${p}_SERVICE_PORT`, `${p}_PORT`];
      });
      const read = new Set(APPS.flatMap((a) => [...envOf(a)]));
      expect(injected.filter((n) => read.has(n))).toEqual([]);
    });

    it('runs CURVE: each program reads its keys from a Secret mounted read-only, and no Secret is in the manifests (keys never in git)', () => {
      expect(all('Secret')).toEqual([]);
      for (const w of workloads) {
        const c = containerOf(w);
        const pod = w.spec.template.spec;
        const env = envOfContainer(c);
        const app = appOf(c.image);
        expect({ app, keys: keysIn(Object.values(env)) }).toEqual({ app, keys: [] });
        expect(pod.securityContext.fsGroup).toBe(pod.securityContext.runAsGroup); // the Secret files' group: readable by the program only
        for (const variable of CURVE_FILES[app]) {
          const path = env[variable];
          const mount = (c.volumeMounts as Obj[]).find((m) => path === m.mountPath || path?.startsWith(`${m.mountPath}/`));
          expect({ app, variable, path, readOnly: mount?.readOnly }).toEqual({ app, variable, path, readOnly: true });
          const secret: Obj = (pod.volumes as Obj[]).find((v) => v.name === mount?.name)?.secret ?? {};
          expect({ app, variable, secret: secret.secretName, mode: secret.defaultMode }).toEqual({
            app,
            variable,
            secret: expect.stringMatching(/^tsr-curve/),
            mode: 0o440,
          });
          if (path !== mount?.mountPath && secret.items)
            expect(secret.items.map((i: Obj) => i.path)).toContain(path.slice(mount?.mountPath.length + 1));
        }
      }
      // Only the broker holds the broker's key pair; nobody else the workers' allow-list.
      const secretKeysOf = (w: Obj) =>
        (w.spec.template.spec.volumes as Obj[]).flatMap((v) =>
          (v.secret?.items ?? [{ key: `(all of ${v.secret?.secretName})` }]).map((i: Obj) => i.key),
        );
      expect(Object.fromEntries(workloads.map((w) => [w.metadata.name, secretKeysOf(w).sort()]))).toEqual({
        bro: ['(all of tsr-curve-workers)', 'broker.key'],
        wor: ['broker.pub', 'worker.key'],
        wc: ['broker.pub', 'worker.key'],
        cli: ['broker.pub', 'client.key'],
      });
    });

    it('keeps the timing rules: one heartbeat for broker and workers, answer timeout above the worker delay', () => {
      const b = envOfContainer(containerOf(broker));
      const w = envOfContainer(containerOf(worker));
      for (const each of [w, envOfContainer(containerOf(wordcount))]) {
        expect(each['HEARTBEAT_MS']).toBe(b['HEARTBEAT_MS']);
        expect(each['HEARTBEAT_LIVENESS']).toBe(b['HEARTBEAT_LIVENESS']);
      }
      expect(Number(b['ANSWER_TIMEOUT_MS'])).toBeGreaterThan(Number(w['WORKER_DELAY_MS']));
    });

    it('passes the traces settings to every program, off by default, each naming its service', () => {
      for (const w of workloads) {
        const c = containerOf(w);
        const env = envOfContainer(c);
        const name = w.metadata.name;
        expect({ name, service: env['OTEL_SERVICE_NAME'], endpoint: env['OTEL_EXPORTER_OTLP_ENDPOINT'] }).toEqual({
          name,
          service: `tsr-${appOf(c.image)}`,
          endpoint: '',
        });
      }
    });
  });

/** The OTEL_* variables every program of a Compose or Swarm file is given: each written once (x-telemetry), passed through as `${NAME:-}`. */
const TELEMETRY_VARIABLES = ['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_TRACES_SAMPLER', 'OTEL_TRACES_SAMPLER_ARG', 'OTEL_RESOURCE_ATTRIBUTES'];
function expectTelemetryOnce(text: string, environment: Record<string, unknown>, name: string): void {
  for (const variable of TELEMETRY_VARIABLES) {
    expect({ name, variable, value: environment[variable] }).toEqual({ name, variable, value: `\${${variable}:-}` });
    expect({ variable, written: text.match(new RegExp(`^ +${variable}:`, 'gm'))?.length }).toEqual({ variable, written: 1 });
  }
}

// ---- Docker Swarm ------------------------------------------------------------------------------

describe('docker/deploy/swarm/stack.yml (Docker Swarm stack)', () => {
  const [stack] = parseFile(join(root, 'docker', 'deploy', 'swarm', 'stack.yml'));
  const services: Record<string, Obj> = stack.services;
  /** `${NAME:-default}` -> default; anything else as is. */
  const value = (v: unknown) => {
    const m = /^\$\{([A-Z0-9_]+):-(.*)\}$/.exec(String(v));
    return m ? m[2] : String(v);
  };
  const variable = (v: unknown) => /^\$\{([A-Z0-9_]+)(:-.*)?\}$/.exec(String(v))?.[1];
  const APP_OF: Record<string, App> = { bro: 'broker', wor: 'worker', wc: 'worker', cli: 'client' };

  it("has the seed's services bro, wor, cli and the wordcount service wc on one attachable overlay network", () => {
    expect(stack.version).toBe('3.8');
    expect(Object.keys(services).sort()).toEqual(['bro', 'cli', 'wc', 'wor']);
    expect(stack.networks).toEqual({ tsr: { driver: 'overlay', attachable: true } });
    // The brokers also answer to `brokers`, the name prometheus.yml scrapes (as in the compose file).
    expect(services['bro'].networks).toEqual({ tsr: { aliases: ['brokers'] } });
    for (const name of ['wor', 'wc', 'cli']) expect(services[name].networks).toEqual(['tsr']);
  });

  it('runs the images the Nx image targets build (overridable, e.g. by image ID)', () => {
    for (const [name, s] of Object.entries(services)) {
      expect(variable(s.image)).toBe(`${APP_OF[name].toUpperCase()}_IMAGE`);
      const image = value(s.image);
      expect(image).toBe(`tsr-${APP_OF[name]}:latest`);
      expect(built.has(image.split(':')[0])).toBe(true);
    }
  });

  it('gives each program only variables it reads, and wires the ports', () => {
    for (const [name, s] of Object.entries(services)) {
      const reads = envOf(APP_OF[name]);
      expect({ name, unknown: Object.keys(s.environment).filter((n) => !reads.has(n)) }).toEqual({ name, unknown: [] });
    }
    const env = (s: string, n: string) => value(services[s].environment[n]);
    expect([env('wor', 'BROKER_HOST'), env('wc', 'BROKER_HOST'), env('cli', 'BROKER_HOST')]).toEqual(['bro', 'bro', 'bro']);
    expect(env('wor', 'BROKER_PORT')).toBe(env('bro', 'BACKEND_PORT'));
    expect(env('wc', 'BROKER_PORT')).toBe(env('bro', 'BACKEND_PORT'));
    expect([env('wc', 'WORKER_SERVICE'), env('wc', 'WORKER_HANDLER')]).toEqual(['wordcount', 'wordcount']);
    expect(env('wc', 'HEARTBEAT_MS')).toBe(env('bro', 'HEARTBEAT_MS'));
    expect(env('cli', 'BROKER_PORT')).toBe(env('bro', 'FRONTEND_PORT'));
    expect(env('wor', 'HEARTBEAT_MS')).toBe(env('bro', 'HEARTBEAT_MS'));
    expect(Number(env('bro', 'ANSWER_TIMEOUT_MS'))).toBeGreaterThan(Number(env('wor', 'WORKER_DELAY_MS')));
    // Only the frontend is published, in host mode (no ingress routing mesh needed).
    expect(services['bro'].ports).toEqual([
      { target: Number(env('bro', 'FRONTEND_PORT')), published: '${FRONTEND_PUBLISH:-8000}', protocol: 'tcp', mode: 'host' },
    ]);
    for (const name of ['wor', 'wc', 'cli']) expect(services[name].ports).toBeUndefined();
  });

  it('runs two brokers or more (BROKERS), one per node, updated one at a time; workers and clients find them all by name', () => {
    const bro = services['bro'].deploy;
    expect(variable(bro.replicas)).toBe('BROKERS');
    expect(Number(value(bro.replicas))).toBeGreaterThanOrEqual(2);
    // No two on one node: a node's failure takes one broker, and the host-mode port binds once per node.
    expect(bro.placement.max_replicas_per_node).toBe(1);
    expect(Number(stack.version)).toBeGreaterThanOrEqual(3.8); // the first file version with max_replicas_per_node
    // A new version: one broker at a time, stop-first (start-first would need a second one on the
    // node), a pause after each for the workers' lookup (every 5 s) to find the new one.
    const seconds = (d: string) => Number(/^(\d+)s$/.exec(d)?.[1]);
    for (const config of [bro.update_config, bro.rollback_config]) {
      expect(config).toEqual(expect.objectContaining({ parallelism: 1, order: 'stop-first' }));
      expect(seconds(config.delay)).toBeGreaterThanOrEqual(5);
    }
    // dnsrr: `bro` resolves to every broker task (a VIP would give each connection to one broker).
    expect(bro.endpoint_mode).toBe('dnsrr');
    for (const name of ['wor', 'wc', 'cli']) expect(services[name].environment['BROKER_HOST']).toBe('bro');
  });

  it('starts new workers before stopping old ones, runs the client once', () => {
    const wor = services['wor'].deploy;
    const cli = services['cli'].deploy;
    expect(value(wor.replicas)).toBe('3');
    expect(wor.update_config).toEqual(expect.objectContaining({ order: 'start-first', parallelism: 1 }));
    expect(wor.rollback_config).toEqual(expect.objectContaining({ order: 'start-first' }));
    expect(value(services['wc'].deploy.replicas)).toBe('2');
    expect(services['wc'].deploy.update_config).toEqual(expect.objectContaining({ order: 'start-first', parallelism: 1 }));
    expect(cli.mode).toBe('replicated-job');
    expect(cli.restart_policy).toEqual({ condition: 'none' });
    // No virtual IP: it needs the kernel's IPVS, which not every node has.
    for (const s of Object.values(services)) expect(s.deploy.endpoint_mode).toBe('dnsrr');
  });

  it('lets the brokers be pinned to labelled nodes (any node by default), and spreads the workers freely', () => {
    const constraints: string[] = services['bro'].deploy.placement.constraints;
    expect(constraints).toHaveLength(1);
    expect(variable(constraints[0])).toBe('BROKER_CONSTRAINT');
    expect(value(constraints[0])).toBe('node.platform.os==linux');
    expect(services['wor'].deploy.placement).toBeUndefined();
  });

  it("checks broker and workers with the images' own health check, not the one-shot client", () => {
    expect(services['bro'].healthcheck.test).toEqual(['CMD', ...healthcheckOf('broker')]);
    expect(services['wor'].healthcheck.test).toEqual(['CMD', ...healthcheckOf('worker')]);
    expect(services['wc'].healthcheck.test).toEqual(['CMD', ...healthcheckOf('worker')]);
    expect(services['cli'].healthcheck).toEqual({ disable: true });
    for (const name of ['bro', 'wor', 'wc']) expect(value(services[name].environment['HTTP_PORT'])).toBe(imageHttpPort(APP_OF[name]));
  });

  it("has a monitoring file that adds Prometheus on the stack's network, scraping every broker and worker on their HTTP port", () => {
    const [monitoring] = parseFile(join(root, 'docker', 'deploy', 'swarm', 'monitoring.yml'));
    const prometheus = monitoring.services.prometheus;
    expect(Object.keys(monitoring.services)).toEqual(['prometheus']);
    expect(prometheus.networks).toEqual(Object.keys(stack.networks));
    expect(variable(prometheus.image)).toBe('PROMETHEUS_IMAGE');
    expect(prometheus.configs).toEqual([
      { source: 'prometheus', target: '/etc/prometheus/prometheus.yml' },
      { source: 'prometheus_alerts', target: '/etc/prometheus/alerts.yml' },
    ]);
    expect(monitoring.configs.prometheus_alerts.file).toBe('../../prometheus/alerts.yml');
    const [config] = parseFile(join(root, 'docker', 'deploy', 'swarm', monitoring.configs.prometheus.file));
    const scraped = config.scrape_configs.flatMap((job: Obj) =>
      job.dns_sd_configs.map((sd: Obj) => ({ names: sd.names, port: String(sd.port) })),
    );
    expect(scraped).toEqual([
      { names: services['bro'].networks.tsr.aliases, port: value(services['bro'].environment['HTTP_PORT']) },
      { names: ['wor'], port: value(services['wor'].environment['HTTP_PORT']) },
      { names: ['wc'], port: value(services['wc'].environment['HTTP_PORT']) },
    ]);
  });

  it('runs CURVE: keys are Swarm secrets made from the key files, each service gets only its own, readable by uid 1000 alone', () => {
    const files = Object.fromEntries(Object.entries(stack.secrets as Record<string, Obj>).map(([name, s]) => [name, s.file]));
    for (const file of Object.values(files)) expect(file).toMatch(/^\$\{TSR_SECRETS:-\.\.\/\.\.\/secrets\}\/\S+$/);
    const given = Object.fromEntries(Object.entries(services).map(([name, s]) => [name, (s.secrets as Obj[]).map((x) => x.source).sort()]));
    expect(given).toEqual({
      bro: ['allowed_clients', 'allowed_workers', 'broker_key'],
      wor: ['broker_pub', 'worker_key'],
      wc: ['broker_pub', 'worker_key'],
      cli: ['broker_pub', 'client_key'],
    });
    for (const [name, s] of Object.entries(services)) {
      const targets = (s.secrets as Obj[]).map((x) => {
        // Written 0400: octal to Docker's YAML 1.1 (the swarm suite checks the mounted file's mode), 400 to this YAML 1.2 reader.
        expect({ name, secret: x.source, uid: x.uid, mode: x.mode }).toEqual({ name, secret: x.source, uid: '1000', mode: 400 });
        return `/run/secrets/${x.target}`;
      });
      for (const variable of CURVE_FILES[APP_OF[name]])
        expect({ name, variable, path: targets.includes(value(s.environment[variable])) }).toEqual({ name, variable, path: true });
      expect({ name, keys: keysIn(Object.values(s.environment)) }).toEqual({ name, keys: [] });
    }
  });

  it('hardens every service: uid 1000, read-only, no capabilities, limits, a grace period', () => {
    for (const [name, s] of Object.entries(services)) {
      expect({ name, user: s.user, read_only: s.read_only, cap_drop: s.cap_drop }).toEqual({
        name,
        user: '1000:1000',
        read_only: true,
        cap_drop: ['ALL'],
      });
      expect(s.stop_grace_period).toBeDefined();
      expect(s.deploy.resources.limits.memory).toBeDefined();
    }
  });

  it('passes the traces settings through to every program, off by default, each naming its service', () => {
    for (const [name, s] of Object.entries(services)) {
      const env: Record<string, unknown> = s.environment;
      expect({ name, service: env['OTEL_SERVICE_NAME'] }).toEqual({ name, service: `tsr-${APP_OF[name]}` });
      expectTelemetryOnce(read('docker', 'deploy', 'swarm', 'stack.yml'), env, name);
    }
  });
});

// ---- docker-compose ----------------------------------------------------------------------------

describe('docker/docker-compose.yml (one node, several brokers)', () => {
  const text = read('docker', 'docker-compose.yml');
  const [compose] = parseYaml(text, 'docker/docker-compose.yml');
  const services: Record<string, Obj> = compose.services;
  /** `${NAME:-default}` -> default, in a value or part of one. */
  const defaults = (v: string) => v.replace(/\$\{[A-Z0-9_]+:-([^}]*)\}/g, '$1');
  const env = (name: string): Record<string, string> =>
    Object.fromEntries(Object.entries(services[name].environment as Record<string, string>).map(([n, v]) => [n, defaults(String(v))]));
  const appOf = (s: Obj) => /^tsr-(broker|worker|client):/.exec(s.image)?.[1] as App | undefined;
  const brokers = Object.keys(services).filter((n) => appOf(services[n]) === 'broker');
  const definition: Obj = compose['x-broker'];
  const alias: string = definition?.networks?.default?.aliases?.[0];

  it('is the Compose Specification without the obsolete version key, and gives each program only variables it reads', () => {
    expect(compose).not.toHaveProperty('version');
    for (const [name, s] of Object.entries(services)) {
      const app = appOf(s);
      if (!app) continue;
      const unknown = Object.keys(env(name)).filter((n) => !envOf(app).has(n));
      expect({ name, unknown }).toEqual({ name, unknown: [] });
    }
  });

  it('runs two brokers or more from one definition (x-broker), each with its own published frontend and status port', () => {
    expect(brokers).toEqual(['bro', 'bro2']);
    // One definition, merged into each: no copied block (one image line, one merge per broker).
    expect(text.match(/image: tsr-broker:/g)).toHaveLength(1);
    expect(text.match(/<<: \*broker$/gm)).toHaveLength(brokers.length);
    for (const name of brokers) {
      const { ports, build, ...rest } = services[name];
      expect({ name, rest }).toEqual({ name, rest: definition });
      expect({ name, build: build !== undefined }).toEqual({ name, build: name === 'bro' }); // built once, run twice
      expect(ports).toHaveLength(2);
    }
    // Published on this host only by default, each broker on host ports of its own.
    const published = brokers.map((name) => {
      const b = env(name);
      const [frontend, status] = ['FRONTEND_PORT', 'HTTP_PORT'].map((v) =>
        (services[name].ports as string[]).find((p) => p.endsWith(`:${b[v]}`)),
      );
      expect({ name, frontend, status }).toEqual({ name, frontend: expect.any(String), status: expect.any(String) });
      return [frontend, status].map((p) => defaults(String(p)).replace(/:\d+$/, ''));
    });
    expect(published).toEqual([
      ['127.0.0.1:8000', '127.0.0.1:9180'],
      ['127.0.0.1:8001', '127.0.0.1:9181'],
    ]);
    for (const name of brokers) expect(services[name].restart).toBe('unless-stopped');
  });

  it('gives workers and clients one name that resolves to every broker (a network alias of each, of nothing else)', () => {
    expect(alias).toBe('brokers');
    for (const name of brokers) expect(services[name].networks).toEqual({ default: { aliases: [alias] } });
    for (const name of Object.keys(services).filter((n) => !brokers.includes(n))) expect(services[name].networks).toBeUndefined();
    expect(Object.keys(services)).not.toContain(alias);
    const backend = env('bro')['BACKEND_PORT'];
    const frontend = env('bro')['FRONTEND_PORT'];
    for (const name of brokers) expect([env(name)['BACKEND_PORT'], env(name)['FRONTEND_PORT']]).toEqual([backend, frontend]);
    const wiring = Object.fromEntries(
      ['wor', 'wc', 'cli'].map((name) => [name, { host: env(name)['BROKER_HOST'], port: env(name)['BROKER_PORT'] }]),
    );
    expect(wiring).toEqual({
      wor: { host: alias, port: backend },
      wc: { host: alias, port: backend },
      cli: { host: alias, port: frontend },
    });
    // Started after every broker; the workers restarted when they die, the one-shot client never.
    for (const name of ['wor', 'wc', 'cli', 'prometheus']) expect(services[name].depends_on).toEqual(expect.arrayContaining(brokers));
    expect([services['wor'].restart, services['wc'].restart, services['cli'].restart]).toEqual(['unless-stopped', 'unless-stopped', 'no']);
  });

  it('has Prometheus scrape every broker by that name, on its HTTP port', () => {
    const [config] = parseFile(join(root, 'docker', 'prometheus', 'prometheus.yml'));
    const job = config.scrape_configs.find((j: Obj) => j.job_name === 'broker');
    expect(job.dns_sd_configs).toEqual([expect.objectContaining({ names: [alias], type: 'A', port: Number(env('bro')['HTTP_PORT']) })]);
  });

  it('passes the traces settings through to every program, off by default, each naming its service', () => {
    for (const [name, s] of Object.entries(services)) {
      const app = appOf(s);
      if (!app) continue;
      const raw = s.environment as Record<string, string>;
      expect({ name, service: raw['OTEL_SERVICE_NAME'] }).toEqual({ name, service: `tsr-${app}` });
      expectTelemetryOnce(text, raw, name);
    }
  });
});

describe('docker/prometheus: the configuration and the alert rules (promtool)', () => {
  const prometheusDir = join(root, 'docker', 'prometheus');
  const promtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
  const missing = promtool.error !== undefined;
  if (missing && process.env['CI']) throw new Error("promtool is missing: .ci/run installs Debian's prometheus, which has it");
  const check = missing ? it.skip : it;
  if (missing) console.warn('promtool not found (Debian: apt-get install prometheus): the alert rules are not checked here');

  check('loads the configuration with its rules', () => {
    const run = spawnSync('promtool', ['check', 'config', 'prometheus.yml'], { cwd: prometheusDir, encoding: 'utf8' });
    expect(run.stdout + run.stderr).toContain('SUCCESS: 8 rules found');
    expect(run.status).toBe(0);
  });

  check('fires each alert when it should and not before (alerts.test.yml)', () => {
    const run = spawnSync('promtool', ['test', 'rules', 'alerts.test.yml'], { cwd: prometheusDir, encoding: 'utf8' });
    expect({ status: run.status, output: run.stdout + run.stderr }).toEqual({ status: 0, output: expect.stringContaining('SUCCESS') });
  });

  check("the Kubernetes PrometheusRule's groups are valid rules", () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsr-rules-'));
    try {
      const [rule] = parseFile(join(root, PROMETHEUS_RULE));
      writeFileSync(join(dir, 'rules.json'), JSON.stringify({ groups: rule.spec.groups }));
      const run = spawnSync('promtool', ['check', 'rules', 'rules.json'], { cwd: dir, encoding: 'utf8' });
      expect({ status: run.status, output: run.stdout + run.stderr }).toEqual({
        status: 0,
        output: expect.stringContaining('SUCCESS: 8 rules found'),
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  check('tests every alert it defines', () => {
    const rules = readFileSync(join(prometheusDir, 'alerts.yml'), 'utf8');
    const tests = readFileSync(join(prometheusDir, 'alerts.test.yml'), 'utf8');
    const alerts = [...rules.matchAll(/- alert: (\w+)/g)].map((m) => m[1]);
    expect(alerts.length).toBeGreaterThan(0);
    for (const alert of alerts) expect(tests).toContain(`alertname: ${alert}`);
  });
});
