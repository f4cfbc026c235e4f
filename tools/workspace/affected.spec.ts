// What CI runs for a pull request: `nx affected -t build test image` against the merge base. A
// scratch branch in a throwaway copy of the workspace changes one file per case; the task graph Nx
// plans must hold exactly the projects and images that change touches. Affected is per project: a
// project whose inputs changed gets all the asked targets, and Nx restores from its cache those
// whose own inputs did not change (a Dockerfile change rebuilds the image, not the bundle). Image
// targets also pull in the base image's target, a cache hit when nothing of the base changed.
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { ScratchWorkspace } from './scratch';

const TARGETS = ['build', 'test', 'image'];

describe('nx affected -t build test image on a scratch branch', () => {
  let scratch: ScratchWorkspace;
  beforeAll(() => {
    scratch = new ScratchWorkspace();
  }, 120_000);
  afterAll(() => scratch?.remove());

  /** Commits a one-line change to `file` on a fresh branch from main and returns the planned tasks. */
  const change = (file: string, line: string): string[] => {
    scratch.git('checkout', '-q', '-B', 'scratch', 'main');
    appendFileSync(join(scratch.dir, file), line);
    scratch.git('add', file);
    scratch.commit(`change ${file}`);
    return scratch.affectedTasks(scratch.git('merge-base', 'main', 'HEAD'), TARGETS);
  };

  // An app's build depends on the builds of the libraries it imports (`^build`): the npm packages'
  // builds are in the graph of the worker's and client's builds (cache hits unless they changed).
  // The deployment tests and the docs' (docs/configuration.md is generated from the programs'
  // option specs) import the apps' options, so whatever affects an app affects them.
  it('a worker source: the worker, its image, and the tests that read its options', () => {
    expect(change('apps/worker/src/handlers/echo.ts', '// changed\n')).toEqual([
      'deploy:test',
      'docs:test',
      'tsr-zmq:image',
      'worker-lib:build',
      'worker:build',
      'worker:image',
      'worker:test',
    ]);
  });

  it('the worker library: its package, the worker program and image, and what tests them', () => {
    expect(change('libs/worker/src/lib/worker.ts', '// changed\n')).toEqual([
      'deploy:test',
      'docs:test',
      'tsr-zmq:image',
      'worker-lib:build',
      'worker-lib:test',
      'worker:build',
      'worker:image',
      'worker:test',
    ]);
  });

  it('a library of the tsr family: every app and its image, and everything else that imports it, not the layers below it', () => {
    const tasks = change('libs/tsr/runtime/src/lib/config.ts', '// changed\n');
    expect(tasks.filter((t) => t.endsWith(':image'))).toEqual(['broker:image', 'client:image', 'tsr-zmq:image', 'worker:image']);
    expect(tasks.filter((t) => t.endsWith(':build'))).toEqual([
      'broker:build',
      'client-lib:build',
      'client:build',
      'worker-lib:build',
      'worker:build',
    ]);
    expect(tasks.filter((t) => t.endsWith(':test'))).toEqual([
      'bench:test',
      'broker:test',
      'client-lib:test',
      'client:test',
      'deploy:test',
      'docs:test',
      'monitoring:test',
      'runtime:test',
      'tools:test',
      'worker-lib:test',
      'worker:test',
    ]);
  });

  it("the base image: the base and the three images on it (and the tests that read the Dockerfiles or the apps' options)", () => {
    const tasks = change('docker/base/Dockerfile', '# changed\n');
    expect(tasks.filter((t) => t.endsWith(':image'))).toEqual(['broker:image', 'client:image', 'tsr-zmq:image', 'worker:image']);
    expect(tasks.filter((t) => !/^(broker|client|worker)(-lib)?:/.test(t) && !t.endsWith(':image'))).toEqual(['deploy:test', 'docs:test']);
  });

  it("the apps' one Dockerfile: the three images, the base only as their dependency (and the deployment tests, which read it)", () => {
    const tasks = change('docker/app/Dockerfile', '# changed\n');
    expect(tasks.filter((t) => t.endsWith(':image'))).toEqual(['broker:image', 'client:image', 'tsr-zmq:image', 'worker:image']);
    expect(tasks.filter((t) => !t.endsWith(':image'))).toEqual([
      'broker:build',
      'broker:test',
      'client-lib:build',
      'client:build',
      'client:test',
      'deploy:test',
      'docs:test',
      'worker-lib:build',
      'worker:build',
      'worker:test',
    ]);
  });

  it('the compose file: no image, only the tests that read it', () => {
    expect(change('docker/docker-compose.yml', '# changed\n')).toEqual(['deploy:test']);
  });

  it('the test support: no build, no image, only the tests of what uses it', () => {
    expect(change('libs/testing/src/lib/regexp.ts', '// changed\n')).toEqual(['bench:test', 'docs:test', 'testing:test', 'tools:test']);
  });

  it('the configuration reference: the test that checks it against the option specs', () => {
    expect(change('docs/configuration.md', '\n')).toEqual(['docs:test']);
  });

  it("a benchmark file: the benchmark's tests only", () => {
    expect(change('tools/bench/stats.ts', '// changed\n')).toEqual(['bench:test']);
  });
});
