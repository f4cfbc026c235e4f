import { buildSync } from 'esbuild';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { type App, type NodeProcess, appMain, freePort, spawnNode, stopNode, waitForOutput, workspaceRoot } from '@tsr/testing';

/**
 * The programs need no native addon and no node_modules: the three bundles (`dist/apps/<app>/main.js`)
 * and the keygen tool (bundled here the same way) are copied into a folder outside the workspace,
 * where no node_modules is reachable, and run from there with CURVE on: keys made by keygen, a
 * broker, a worker, and a client that makes its own key pair. A preload makes any native addon
 * (`process.dlopen`) or any package outside Node's own modules fail the program.
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
  let dir: string;
  let secrets: string;
  const started: NodeProcess[] = [];
  const env = { NODE_PATH: '', TSR_ENV_FILE: '' };
  /** node -r guard <dir>/<name>/main.js args, from the folder outside the workspace. */
  const run = (name: App | 'keygen', args: string[], extraEnv: NodeJS.ProcessEnv = {}) => {
    const proc = spawnNode(name, ['-r', join(dir, 'guard.js'), join(dir, name, 'main.js'), ...args], { ...env, ...extraEnv });
    started.push(proc);
    return proc;
  };

  beforeAll(() => {
    dir = realpathSync(mkdtempSync(join(tmpdir(), 'tsr-no-addon-')));
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
      target: 'node20',
      logLevel: 'error',
    });
    writeFileSync(join(dir, 'guard.js'), GUARD);
    secrets = join(dir, 'secrets');
  });

  afterAll(async () => {
    await Promise.all(started.map((p) => stopNode(p, 'SIGKILL')));
    rmSync(dir, { recursive: true, force: true });
  });

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
      const proc = spawnNode('probe', ['-r', join(dir, 'guard.js'), '-e', script, arg], { ...env, ...extraEnv });
      started.push(proc);
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
    const keygen = run('keygen', ['--dir', secrets]);
    expect(await keygen.exited).toBe(0);
    expect(keygen.stdout).toMatch(/^wrote /);
    for (const file of ['broker.key', 'broker.pub', 'worker.key', 'client.key', 'workers/worker.pub', 'clients/client.pub']) expect(existsSync(join(secrets, file))).toBe(true);
    const pair = run('keygen', ['--dir', secrets, '--pair', 'extra']);
    expect(await pair.exited).toBe(0);
    expect(pair.stdout).toMatch(/^wrote \S+extra\.key and \S+extra\.pub\n$/);
  });

  it('a broker, a worker and a client started from there: the client gets its answer, over CURVE', async () => {
    const [frontend, backend] = [await freePort(), await freePort()];
    const broker = run('broker', [String(frontend), String(backend), '--curve-secret-key-file', join(secrets, 'broker.key'), '--curve-workers', join(secrets, 'workers')], { TSR_LOG: 'info' });
    await waitForOutput(broker, /frontend tcp:\/\/\S+, backend/);
    const brokerPub = join(secrets, 'broker.pub');
    const worker = run('worker', ['127.0.0.1', String(backend), '--delay', '0', '--curve-server-key-file', brokerPub, '--curve-secret-key-file', join(secrets, 'worker.key')], { TSR_LOG: 'info' });
    await waitForOutput(worker, /registered: the broker speaks TSR\/1/);
    // No key pair of its own: the client makes a fresh one (Node's X25519, no addon).
    const client = run('client', ['127.0.0.1', String(frontend), '--request', 'no addon', '--curve-server-key-file', brokerPub], { TSR_LOG: 'error' });
    expect(await client.exited).toBe(0);
    expect(client.stdout).toMatch(/^no addon W \S+\n$/);
    for (const p of [broker, worker]) {
      p.child.kill('SIGTERM');
      expect(await p.exited).toBe(0);
    }
    for (const p of started.filter((p) => p.label !== 'probe')) expect(p.stderr).not.toMatch(/no-native-addon/);
  });
});
