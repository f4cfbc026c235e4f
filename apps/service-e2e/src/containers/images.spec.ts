import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { workspaceRoot } from '@tsr/testing';
import { LABEL, docker, image, owner, version } from '../support/containers/docker';

const apps = ['broker', 'worker', 'client'] as const;
/** The Node the images carry: the one place that pins it (tools/node/node.json). */
const pinnedNode: string = JSON.parse(readFileSync(join(workspaceRoot, 'tools', 'node', 'node.json'), 'utf8')).version;

interface ImageConfig {
  User: string;
  StopSignal: string;
  Entrypoint: string[] | null;
  Healthcheck?: { Test: string[]; Interval: number };
  Labels: Record<string, string>;
}
const configOf = async (img: string): Promise<ImageConfig> => JSON.parse(await docker('image', 'inspect', '-f', '{{json .Config}}', img));

/** Runs `node -e script` in a throwaway container of `img`; returns what it printed. */
async function nodeIn(img: string, script: string): Promise<string> {
  return docker('run', '--rm', '--label', `${LABEL}=${owner()}`, '--network', 'none', '--entrypoint', 'node', img, '-e', script);
}

describe('the images', () => {
  it.each(apps)('tsr-%s is tagged with the version and latest, runs node as PID 1 as a non-root user', async (app) => {
    const id = await docker('image', 'inspect', '-f', '{{.Id}}', image(app));
    expect(await docker('image', 'inspect', '-f', '{{.Id}}', `tsr-${app}:latest`)).toBe(id);
    const config = await configOf(image(app));
    expect(config.User).toBe('node');
    expect(config.StopSignal).toBe('SIGTERM');
    expect(config.Entrypoint).toEqual(['node', `/app/${app}/main.js`]); // exec form: no shell in between
    expect(config.Healthcheck?.Test).toEqual([
      'CMD',
      'node',
      '/app/healthcheck.js',
      ...(app === 'client' ? ['connected'] : ['http', '/healthz', '/readyz']),
    ]);
    expect(config.Labels).toMatchObject({ 'org.opencontainers.image.title': `tsr-${app}`, 'org.opencontainers.image.version': version });
    const uid = await nodeIn(image(app), 'console.log(process.getuid())');
    expect(uid).not.toBe('0');
  });

  it.each(['zmq', ...apps] as const)(
    'tsr-%s holds only the runtime: no zeromq, one native addon (native libsodium, for CURVE), no compiler',
    async (name) => {
      const listing = JSON.parse(
        await nodeIn(
          image(name),
          `const fs = require('fs'), path = require('path');
         const skip = new Set(['/proc', '/sys', '/dev']);
         const walk = (d) => {
           let entries;
           try { entries = fs.readdirSync(d, { withFileTypes: true }); } catch { return []; } // not readable by the node user
           return entries.flatMap((e) => { const p = path.join(d, e.name); return e.isDirectory() ? (skip.has(p) ? [] : walk(p)) : [p]; });
         };
         const files = walk('/');
         const tools = ['gcc', 'cc', 'g++', 'c++', 'make', 'cmake', 'python3', 'npm', 'npx', 'yarn']
           .filter((t) => (process.env.PATH || '').split(':').some((p) => fs.existsSync(path.join(p, t))));
         let zeromq = 'absent';
         try { zeromq = require.resolve('zeromq'); } catch {}
         // what the programs' bundles load for CURVE's boxes, found from where they are
         const sodium = require(require.resolve('sodium-native', { paths: ['/app/broker'] }));
         const box = Buffer.alloc(16 + 5), key = Buffer.alloc(32, 1), nonce = Buffer.alloc(24, 2), plain = Buffer.alloc(5);
         sodium.crypto_secretbox_easy(box, Buffer.from('hello'), nonce, key);
         console.log(JSON.stringify({
           app: fs.readdirSync('/app'),
           node: files.filter((f) => f.endsWith('/bin/node')), // the walk did see the image
           addons: files.filter((f) => f.endsWith('.node')),
           zeromq: files.filter((f) => /zeromq|libzmq|cmake-ts/i.test(f)),
           resolved: zeromq,
           opened: sodium.crypto_secretbox_open_easy(plain, box, nonce, key) && plain.toString(),
           packages: fs.readdirSync('/app/node_modules'),
           tools,
         }));`,
        ),
      );
      expect(listing.app.sort()).toEqual(
        name === 'zmq' ? ['healthcheck.js', 'node_modules'] : [name, 'healthcheck.js', 'node_modules'].sort(),
      );
      expect(listing.node.length).toBeGreaterThan(0);
      // sodium-native and what it needs, with this platform's addon alone (tools/docker/stage-native-modules.ts)
      expect(listing.addons).toEqual([`/app/node_modules/sodium-native/prebuilds/linux-${process.arch}/sodium-native.node`]);
      expect(listing.packages).toContain('sodium-native');
      expect(listing.opened).toBe('hello');
      expect(listing.zeromq).toEqual([]);
      expect(listing.resolved).toBe('absent');
      // Compilers never; npm/yarn only where the upstream node image brings them (not our dev deps).
      expect(listing.tools.filter((t: string) => !['npm', 'npx', 'yarn'].includes(t))).toEqual([]);
    },
  );

  it.each(apps)('tsr-%s holds its bundle alone, which loads nothing outside itself but Node', async (app) => {
    const files = await nodeIn(image(app), `console.log(JSON.stringify(require('fs').readdirSync('/app/${app}')))`);
    expect(JSON.parse(files)).toEqual(['main.js']);
    const help = await docker('run', '--rm', '--label', `${LABEL}=${owner()}`, '--network', 'none', image(app), '--help');
    expect(help).toMatch(/usage/i);
  });

  it.each(['zmq', ...apps] as const)('tsr-%s runs the pinned Node (tools/node/node.json)', async (name) => {
    const run = (...args: string[]) => docker('run', '--rm', '--label', `${LABEL}=${owner()}`, '--network', 'none', ...args);
    expect(await run('--entrypoint', 'node', image(name), '--version')).toBe(`v${pinnedNode}`);
    // As the image declares it (the upstream image's NODE_VERSION, the local one's too).
    expect(await docker('image', 'inspect', '-f', '{{range .Config.Env}}{{println .}}{{end}}', image(name))).toContain(
      `NODE_VERSION=${pinnedNode}`,
    );
  });
});
