import { buildSync } from 'esbuild';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { appMain, spawnNode, waitForOutput, workspaceRoot } from '@tsr/testing';
import { localDeployment, preload } from '../support/deployment';

/**
 * The programs need no native addon and no node_modules: the three bundles (`dist/apps/<app>/main.js`)
 * and the keygen tool (bundled here the same way) are copied into a folder outside the workspace,
 * where no node_modules is reachable, and run from there with CURVE on: keys made by keygen, a
 * broker, a worker, and a client that makes its own key pair. A preload makes any native addon
 * (`process.dlopen`) or any package outside Node's own modules fail the program. The programs
 * reach for one package, sodium-native (CURVE's boxes in native libsodium, which the images carry):
 * refused, they box in WebAssembly.
 */
const GUARD = `'use strict';
const Module = require('node:module');
const refuse = (what) => { process.stderr.write('no-native-addon: ' + what + '\\n'); throw new Error('no-native-addon: ' + what); };
process.dlopen = (module, file) => refuse('native addon ' + file);
const load = Module._load;
Module._load = function (request, parent, isMain) {
  const bare = !isMain && !Module.isBuiltin(request) && !/^[./]/.test(request);
  if (bare) refuse('package ' + request);
  return load.call(this, request, parent, isMain);
};
`;

describe('the programs without zeromq, without any native addon or node_modules', () => {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'tsr-no-addon-')));
  const secrets = join(dir, 'secrets');
  /** Every program here: the guard preloaded, no NODE_PATH, no .env file. */
  const guarded = { NODE_PATH: '', TSR_ENV_FILE: '', ...preload(join(dir, 'guard.js')) };
  /** The programs as copied to the folder outside the workspace. */
  const deployment = localDeployment('all', { main: (app) => join(dir, app, 'main.js'), env: guarded });
  const keygen = (args: string[]) => deployment.track(spawnNode('keygen', [join(dir, 'keygen', 'main.js'), ...args], guarded));

  beforeAll(() => {
    for (const app of ['broker', 'worker', 'client'] as const) {
      mkdirSync(join(dir, app));
      copyFileSync(appMain(app), join(dir, app, 'main.js'));
    }
    buildSync({
      entryPoints: [join(workspaceRoot, 'tools', 'keygen', 'keygen.ts')],
      outfile: join(dir, 'keygen', 'main.js'),
      tsconfig: join(workspaceRoot, 'tsconfig.base.json'),
      bundle: true, // everything in, as the apps' builds do (no external module)
      platform: 'node',
      format: 'cjs',
      target: 'node26',
      logLevel: 'error',
    });
    writeFileSync(join(dir, 'guard.js'), GUARD);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs in a folder outside the workspace, from which neither zeromq nor any node_modules is reachable', () => {
    expect(relative(realpathSync(workspaceRoot), dir).startsWith('..')).toBe(true);
    for (let d = dir; ; d = dirname(d)) {
      expect(existsSync(join(d, 'node_modules'))).toBe(false);
      if (dirname(d) === d) break;
    }
    expect(() => createRequire(join(dir, 'broker', 'main.js')).resolve('zeromq')).toThrow(/Cannot find module 'zeromq'/);
    expect(readdirSync(dir).sort()).toEqual(['broker', 'client', 'guard.js', 'keygen', 'worker']);
  });

  it('the guard works: it stops zeromq, as a package and at its addon', async () => {
    const probe = async (script: string, arg: string, extraEnv: NodeJS.ProcessEnv = {}) => {
      const proc = deployment.track(spawnNode('probe', ['-e', script, arg], { ...guarded, ...extraEnv }));
      expect(await proc.exited).toBe(1);
      return proc.stderr;
    };
    const nodeModules = join(workspaceRoot, 'node_modules');
    expect(await probe('require(process.argv[1])', 'zeromq', { NODE_PATH: nodeModules })).toMatch(/^no-native-addon: package zeromq$/m);
    const addons = (readdirSync(join(nodeModules, 'zeromq', 'build'), { recursive: true }) as string[]).filter((f) => f.endsWith('.node'));
    expect(addons.length).toBeGreaterThan(0);
    const addon = join(nodeModules, 'zeromq', 'build', addons[0]);
    expect(await probe('require(process.argv[1])', addon)).toMatch(/^no-native-addon: native addon \S+\/zeromq\/build\/\S+\.node$/m);
  });

  it('keygen makes the CURVE keys there', async () => {
    const all = keygen(['--dir', secrets]);
    expect(await all.exited).toBe(0);
    expect(all.stdout).toMatch(/^wrote /);
    for (const file of ['broker.key', 'broker.pub', 'worker.key', 'client.key', 'workers/worker.pub', 'clients/client.pub'])
      expect(existsSync(join(secrets, file))).toBe(true);
    const pair = keygen(['--dir', secrets, '--pair', 'extra']);
    expect(await pair.exited).toBe(0);
    expect(pair.stdout).toMatch(/^wrote \S+extra\.key and \S+extra\.pub\n$/);
  });

  it('a broker, a worker and a client started from there: the client gets its answer, over CURVE', async () => {
    const broker = await deployment.startBroker([
      '--curve-secret-key-file',
      join(secrets, 'broker.key'),
      '--curve-workers',
      join(secrets, 'workers'),
    ]);
    const brokerPub = join(secrets, 'broker.pub');
    const { worker } = await deployment.startWorker(0, {}, [
      '--curve-server-key-file',
      brokerPub,
      '--curve-secret-key-file',
      join(secrets, 'worker.key'),
    ]);
    await waitForOutput(worker, /registered: the broker speaks TSR\/1/);
    // No key pair of its own: the client makes a fresh one (Node's X25519, no addon).
    expect(await deployment.request('no addon', ['--curve-server-key-file', brokerPub])).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/^no addon W \S+\n$/),
    });
    for (const p of [broker, worker]) {
      p.child.kill('SIGTERM');
      expect(await p.exited).toBe(0);
    }
    // The one package they reach for is sodium-native, CURVE's optional native boxes: refused, they box in
    // WebAssembly, the large boxes' MACs by Node's own OpenSSL (part of Node, no addon).
    expect(broker.stdout).toMatch(
      /CURVE boxes by libsodium in WebAssembly, the MACs of boxes over 64 KiB by Node's OpenSSL; sodium-native not loaded \(no-native-addon: package sodium-native\)/,
    );
    expect(worker.stdout).toMatch(/CURVE boxes by libsodium in WebAssembly/);
    for (const p of deployment.processes.filter((p) => p.label !== 'probe'))
      expect(p.stderr.split('\n').filter((line) => line.includes('no-native-addon'))).toEqual(
        p.label === 'keygen' ? [] : ['no-native-addon: package sodium-native'],
      );
  });
});
