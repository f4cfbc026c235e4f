// `nx serve <app>` in a throwaway copy of the workspace: the program runs, and a change to its
// source rebuilds and restarts it. The restart rides on the Nx daemon's file watcher (which Nx
// turns off inside containers unless NX_DAEMON=true); this test starts that daemon and stops it.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '@tsr/testing';
import { ScratchWorkspace } from './scratch';

const env = { ...process.env, NX_DAEMON: 'true', NX_TUI: 'false', NX_NO_CLOUD: 'true', TSR_LOG: 'info' };

describe('nx serve worker', () => {
  let scratch: ScratchWorkspace;
  let serve: ChildProcess | undefined;
  let output = '';

  beforeAll(() => {
    scratch = new ScratchWorkspace();
  }, 120_000);
  afterAll(() => {
    if (serve?.pid) process.kill(-serve.pid, 'SIGKILL'); // its process group: nx, the build, the worker
    execFileSync('npx', ['nx', 'daemon', '--stop'], { cwd: scratch.dir, env, stdio: 'ignore' });
    scratch.remove();
  });

  const printed = (pattern: RegExp, timeoutMs: number) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${pattern} within ${timeoutMs} ms; output:\n${output}`)), timeoutMs);
      const check = () => {
        if (!pattern.test(output)) return;
        clearTimeout(timer);
        serve?.stdout?.off('data', check);
        resolve();
      };
      serve?.stdout?.on('data', check);
      check();
    });

  it('runs the worker, then rebuilds and restarts it when its source changes', async () => {
    const port = await freePort(); // nothing listens: the worker only connects
    serve = spawn('npx', ['nx', 'serve', 'worker', '--outputStyle=stream', `--args=--broker-port=${port}`], {
      cwd: scratch.dir,
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const stream of [serve.stdout, serve.stderr]) stream?.on('data', (d: Buffer) => (output += d.toString()));
    await printed(new RegExp(`W \\S+ connecting to tcp://127\\.0\\.0\\.1:${port}`), 90_000);

    appendFileSync(join(scratch.dir, 'apps', 'worker', 'src', 'main.ts'), "process.stdout.write('edited and restarted\\n');\n");
    await printed(/edited and restarted/, 60_000);
    expect(output).toMatch(/File change detected\. Restarting/);
  }, 180_000);
});
