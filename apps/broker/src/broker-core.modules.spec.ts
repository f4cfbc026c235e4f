// The broker's core is pure: loading it must not load the sockets, the metrics, the
// configuration or any native addon. Measured in a process of its own, as a program loads it.
import { spawnSync } from 'node:child_process';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';

const WORKSPACE = join(__dirname, '..', '..', '..');

/** Every file loaded by requiring `module` in a fresh Node process (TypeScript through tsx). */
function modulesLoadedBy(module: string): string[] {
  const script = `
    const Module = require('node:module');
    const loaded = new Set();
    const load = Module._load;
    Module._load = function (request, parent, isMain) {
      const exported = load.apply(this, arguments);
      if (!request.startsWith('node:') && !Module.isBuiltin(request)) loaded.add(Module._resolveFilename(request, parent, isMain));
      return exported;
    };
    require(${JSON.stringify(module)});
    process.stdout.write(JSON.stringify([...loaded]));`;
  const run = spawnSync(process.execPath, ['--import', pathToFileURL(require.resolve('tsx')).href, '-e', script], {
    cwd: WORKSPACE,
    env: { ...process.env, NODE_NO_WARNINGS: '1', TSX_TSCONFIG_PATH: join(WORKSPACE, 'tsconfig.base.json') },
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`loading ${module} failed: ${run.stderr}`);
  return (JSON.parse(run.stdout) as string[]).map((file) => relative(WORKSPACE, file));
}

describe('the broker core', () => {
  it('loads only itself and the protocol: no package, so no native addon, prom-client or dotenv', () => {
    const loaded = modulesLoadedBy(join(__dirname, 'broker-core.ts'));
    expect(loaded).toContain('apps/broker/src/broker-core.ts');
    expect(loaded).toContain('libs/tsr/protocol/src/index.ts');
    expect(loaded.filter((file) => file.includes('node_modules'))).toEqual([]);
    expect(loaded.filter((file) => !file.startsWith('apps/broker/src/') && !file.startsWith('libs/tsr/protocol/src/'))).toEqual([]);
    expect(loaded.filter((file) => file.endsWith('.node'))).toEqual([]);
  });
});
