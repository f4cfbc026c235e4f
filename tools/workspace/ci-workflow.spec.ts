// The hosted CI workflow cannot run here: its structure is checked against the workspace instead.
// Pull requests: `nx affected` from the merge base (nx-set-shas, full history) over every target
// `npm test` runs plus build and image. Main: the full run, `.ci/run`, which ends in `npm test`.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createProjectGraphAsync } from '@nx/devkit';
import { workspaceRoot } from '@tsr/testing';
import { parse } from 'yaml';

type Step = { uses?: string; run?: string; with?: Record<string, unknown> };
type Job = { if?: string; 'runs-on': string; steps: Step[] };

const read = (...p: string[]) => readFileSync(join(workspaceRoot, ...p), 'utf8');
const workflow = parse(read('.github', 'workflows', 'ci.yml'));
const jobs: Record<string, Job> = workflow.jobs;
const pkg = JSON.parse(read('package.json'));

/** The `-t a b c` targets of an nx command line. */
const targetsOf = (command: string): string[] => /\s-t\s+((?:[a-z][\w-]*\s*)+)/.exec(command)?.[1].trim().split(/\s+/) ?? [];
const stepIndex = (job: Job, match: (s: Step) => boolean) => job.steps.findIndex(match);

describe('.github/workflows/ci.yml', () => {
  const pr = Object.values(jobs).find((j) => j.if?.includes("github.event_name == 'pull_request'"));
  const main = Object.values(jobs).find((j) => j.if?.includes("github.event_name == 'push'"));

  it('runs for pull requests and for pushes to main, one job each', () => {
    expect(Object.keys(workflow.on).sort()).toEqual(['pull_request', 'push']);
    expect(workflow.on.push.branches).toEqual(['main']);
    expect(pr).toBeDefined();
    expect(main).toBeDefined();
  });

  it('pull requests: nx affected from the merge base that nx-set-shas finds in the full history', () => {
    const job = pr as Job;
    const checkout = stepIndex(job, (s) => s.uses?.startsWith('actions/checkout@') ?? false);
    const pinned = stepIndex(job, (s) => /tools\/node\/pinned-node\.sh.*>>\s*"\$GITHUB_PATH"/.test(s.run ?? ''));
    const install = stepIndex(job, (s) => s.run?.startsWith('npm ci') ?? false);
    const shas = stepIndex(job, (s) => s.uses?.startsWith('nrwl/nx-set-shas@') ?? false);
    const affected = stepIndex(job, (s) => /\bnx affected\b/.test(s.run ?? ''));
    expect(job.steps[checkout].with?.['fetch-depth']).toBe(0);
    expect([checkout, pinned, install, shas, affected].every((i) => i >= 0)).toBe(true);
    // The pinned Node is first on PATH before anything is installed or run (.ci/run does the same).
    expect(checkout < pinned && pinned < install && install < shas && shas < affected).toBe(true);
    // nx-set-shas exports NX_BASE / NX_HEAD: an explicit --base would override it.
    expect(job.steps[affected].run).not.toMatch(/--base|--head/);
  });

  it('pull requests: every target npm test runs, plus build and image, each one a real target', async () => {
    const command = (pr as Job).steps.find((s) => /\bnx affected\b/.test(s.run ?? ''))?.run ?? '';
    const testTargets = targetsOf(pkg.scripts.test);
    expect(testTargets.length).toBeGreaterThan(0);
    expect(targetsOf(command).sort()).toEqual([...new Set([...testTargets, 'build', 'image'])].sort());
    expect(command).toContain('--parallel=2'); // as npm test: two at a time where the target allows it (below)
    const graph = await createProjectGraphAsync({ exitOnError: false });
    const known = new Set(Object.values(graph.nodes).flatMap((n) => Object.keys(n.data.targets ?? {})));
    expect(targetsOf(command).filter((t) => !known.has(t))).toEqual([]);
  }, 60_000);

  it('npm test: lint and typecheck two at a time; every test target alone (parallelism false), its timings its own', async () => {
    expect(pkg.scripts.test).toContain('--parallel=2');
    const graph = await createProjectGraphAsync({ exitOnError: false });
    const targets = Object.values(graph.nodes).flatMap((n) =>
      Object.entries(n.data.targets ?? {}).map(([name, t]) => ({ project: n.name, name, t })),
    );
    const alone = ['test', 'e2e', 'container-test', 'cluster-test'];
    const suites = targets.filter(({ name }) => alone.includes(name));
    expect(suites.length).toBeGreaterThan(10);
    expect(suites.filter(({ t }) => t.parallelism !== false).map(({ project, name }) => `${project}:${name}`)).toEqual([]);
    expect(targets.filter(({ name }) => name === 'lint' || name === 'typecheck').every(({ t }) => t.parallelism !== false)).toBe(true);
  }, 60_000);

  it('main: the full run of .ci/run, which puts the pinned Node first on PATH, then ends in npm test (its failures repeated last)', () => {
    const runs = (main as Job).steps.map((s) => s.run).filter(Boolean);
    expect(runs).toEqual(['bash .ci/run']);
    const script = read('.ci', 'run');
    // Its output is kept, and what failed is printed again at the end, where a CI page shows it.
    expect(script).toMatch(/^if ! npm test 2>&1 \| tee "\$test_log"; then$/m);
    expect(script).toContain('npx tsx tools/workspace/test-failures.ts "$test_log"');
    const pinned = script.indexOf('\nexport PATH="$(dirname "$node_bin"):$PATH"\n');
    expect(script).toMatch(/^node_bin=\$\(tools\/node\/pinned-node\.sh\)$/m);
    expect(pinned).toBeGreaterThan(0);
    expect(pinned).toBeLessThan(script.search(/^npm ci /m));
  });

  it('both: the major of the pinned Node, the one engines names, and a Docker engine for the images', () => {
    const major = /^>=(\d+)$/.exec(pkg.engines.node)?.[1];
    const pin = JSON.parse(read('tools', 'node', 'node.json'));
    expect(pin.version.split('.')[0]).toBe(major);
    for (const job of [pr, main] as Job[]) {
      expect(job['runs-on']).toMatch(/^ubuntu-/); // hosted Linux runners come with a Docker engine
      const node = job.steps.find((s) => s.uses?.startsWith('actions/setup-node@'));
      expect(String(node?.with?.['node-version'])).toBe(major); // the npm that fetches the pinned Node
    }
    expect(workflow.env.TSR_PULL_NODE).toBe('1'); // docker/build-image.sh may pull node:<pinned>-bookworm-slim there
  });
});
