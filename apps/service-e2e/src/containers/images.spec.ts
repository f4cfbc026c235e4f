import { LABEL, docker, image, owner, version } from './support/docker';

const apps = ['broker', 'worker', 'client'] as const;

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
    expect(config.Healthcheck?.Test).toEqual(['CMD', 'node', '/app/healthcheck.js', ...(app === 'client' ? ['connected'] : ['http', '/healthz', '/readyz'])]);
    expect(config.Labels).toMatchObject({ 'org.opencontainers.image.title': `tsr-${app}`, 'org.opencontainers.image.version': version });
    const uid = await nodeIn(image(app), 'console.log(process.getuid())');
    expect(uid).not.toBe('0');
  });

  it('hold only the runtime: zeromq with one linux addon, no sources, no dev dependencies, no compiler', async () => {
    const listing = JSON.parse(
      await nodeIn(
        image('broker'),
        `const fs = require('fs'), path = require('path');
         const walk = (d) => fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)]);
         const tools = ['gcc', 'cc', 'g++', 'c++', 'make', 'cmake', 'python3', 'npm', 'npx', 'yarn']
           .filter((t) => (process.env.PATH || '').split(':').some((p) => fs.existsSync(path.join(p, t))));
         console.log(JSON.stringify({ modules: fs.readdirSync('/app/node_modules'), files: walk('/app/node_modules/zeromq'), tools }));`,
      ),
    );
    expect(listing.modules.sort()).toEqual(['cmake-ts', 'zeromq']);
    const addons = listing.files.filter((f: string) => f.endsWith('.node'));
    expect(addons).toHaveLength(1);
    expect(addons[0]).toMatch(/\/build\/linux\/x64\/node\/glibc-\d+-Release\/addon\.node$/);
    expect(listing.files.filter((f: string) => /\/(src|script)\/|CMakeLists|vcpkg|\.(cc|h|ts|map)$/.test(f))).toEqual([]);
    // Compilers never; npm/yarn only where the upstream node image brings them (not our dev deps).
    expect(listing.tools.filter((t: string) => !['npm', 'npx', 'yarn'].includes(t))).toEqual([]);
  });

  it('load zeromq (libzmq 4.3.5) as the non-root user, with no network', async () => {
    const out = await nodeIn(image('zmq'), "const z = require('zeromq'); const s = new z.Router(); s.close(); console.log(z.version)");
    expect(out).toBe('4.3.5');
  });
});
