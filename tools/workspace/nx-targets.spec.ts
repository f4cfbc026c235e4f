// The workspace's targets as Nx resolves them: no executor Nx has deprecated (its own schema says
// so with `x-deprecated`, which is what prints the warning on every run), the common targets
// inferred by the plugins rather than written out, and every project tagged by type.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type ProjectGraph, createProjectGraphAsync } from '@nx/devkit';
import { workspaceRoot } from '@tsr/testing';

let graph: ProjectGraph;
beforeAll(async () => {
  graph = await createProjectGraphAsync({ exitOnError: false });
}, 60_000);

const projects = () => Object.values(graph.nodes);

/** The `x-deprecated` text of an executor's schema, if Nx has deprecated it. */
function deprecation(executor: string): string | undefined {
  const [pkg, name] = executor.split(':');
  const manifest = require.resolve(`${pkg}/executors.json`, { paths: [workspaceRoot] });
  const entry = JSON.parse(readFileSync(manifest, 'utf8')).executors[name];
  return JSON.parse(readFileSync(join(dirname(manifest), entry.schema), 'utf8'))['x-deprecated'];
}

describe('Nx targets', () => {
  it('use no executor that Nx has deprecated', () => {
    expect(deprecation('@nx/jest:jest')).toMatch(/deprecated/); // the check itself sees a deprecation
    const used = new Set(projects().flatMap((p) => Object.values(p.data.targets ?? {}).map((t) => t.executor ?? 'nx:run-commands')));
    const deprecated = [...used].filter((e) => !e.startsWith('nx:')).filter((e) => deprecation(e) !== undefined);
    expect(deprecated).toEqual([]);
  });

  it('infer test, typecheck and lint from the plugins: no project.json defines them', () => {
    for (const p of projects()) {
      const written = JSON.parse(readFileSync(join(workspaceRoot, p.data.root, 'project.json'), 'utf8')).targets ?? {};
      // A project.json may adjust an inferred target (the deployment tests' inputs), never replace it.
      const defined = Object.entries(written as Record<string, { executor?: string; command?: string; options?: { command?: string } }>)
        .filter(([name, t]) => ['test', 'typecheck', 'lint'].includes(name) && (t.executor || t.command || t.options?.command))
        .map(([name]) => name);
      expect({ project: p.name, defined }).toEqual({ project: p.name, defined: [] });
      const t = p.data.targets ?? {};
      expect({ project: p.name, lint: t['lint']?.options?.command, typecheck: t['typecheck']?.options?.command }).toEqual({
        project: p.name,
        lint: 'eslint .',
        typecheck: p.data.root === 'docker/base' ? undefined : 'tsc --build tsconfig.json --emitDeclarationOnly',
      });
      if (t['test']) expect({ project: p.name, test: t['test'].options?.command }).toEqual({ project: p.name, test: 'jest' });
    }
  });

  it('tag every project with one type', () => {
    const types = projects().map((p) => ({ project: p.name, types: (p.data.tags ?? []).filter((t) => t.startsWith('type:')) }));
    for (const t of types) expect(t.types).toHaveLength(1);
  });
});
