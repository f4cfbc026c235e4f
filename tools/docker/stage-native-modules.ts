/**
 * Stages the one native module the images carry, sodium-native (CURVE's boxes in native libsodium,
 * libs/tsr/zmtp/src/lib/native-secretbox.ts), for docker/base/Dockerfile to copy to /app/node_modules:
 * the package and its runtime dependencies, as npm installed them here, with the prebuilt addon of
 * one platform only (the package ships every platform's, tens of MB) and without its C sources.
 *
 *   tsx tools/docker/stage-native-modules.ts [OUT_DIR]    # default dist/native/node_modules; linux-x64
 *
 * The programs' bundles find it next to them (/app/<app>/main.js resolves /app/node_modules); where
 * it is missing they box in WebAssembly, so the image is what makes CURVE native, nothing else.
 */
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

const workspace = resolve(__dirname, '..', '..');
export const NATIVE_MODULES = ['sodium-native'];

/**
 * A package's folder as Node would find it from `from` (the nearest node_modules up the tree; not
 * require.resolve, which some packages' `exports` refuse for package.json), and its runtime
 * dependencies' names.
 */
function packageAt(name: string, from: string): { dir: string; dependencies: string[] } {
  for (let at = from; ; at = dirname(at)) {
    const dir = join(at, 'node_modules', name);
    if (existsSync(join(dir, 'package.json'))) {
      const json = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
      return { dir, dependencies: Object.keys(json.dependencies ?? {}) };
    }
    if (dirname(at) === at) throw new Error(`${name} is not installed (npm ci)`);
  }
}

/** Every package `roots` need at run time, by the folder npm installed it in (two versions of one name: two folders), with its name. */
export function dependencyClosure(roots: readonly string[], from = workspace): Map<string, string> {
  const found = new Map<string, string>();
  const visit = (name: string, parent: string) => {
    const { dir, dependencies } = packageAt(name, parent);
    if (found.has(dir)) return;
    found.set(dir, name);
    for (const dependency of dependencies) visit(dependency, dir);
  };
  for (const root of roots) visit(root, from);
  return found;
}

/**
 * Whether to copy `path` (relative to its package's folder): not other platforms' addons, Bare's
 * addons, C sources, tests, or nested node_modules (those packages are staged on their own).
 */
export function keep(path: string, platform: string): boolean {
  const [top, next] = path.split(sep);
  if (top === 'prebuilds' && next !== undefined && next !== platform) return false;
  if (['deps', 'extensions', 'test', 'node_modules'].includes(top)) return false;
  return !/\.(bare|c|cc|h)$|CMakeLists\.txt$/.test(path);
}

export function stageNativeModules(out: string, platform = `linux-${process.arch}`): string[] {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const closure = dependencyClosure(NATIVE_MODULES);
  const modules = join(workspace, 'node_modules');
  for (const dir of closure.keys()) {
    // nested installs (node_modules/a/node_modules/b) keep their place
    cpSync(dir, join(out, relative(modules, dir)), { recursive: true, filter: (source) => keep(relative(dir, source), platform) });
  }
  const addon = join(out, 'sodium-native', 'prebuilds', platform, 'sodium-native.node');
  if (!existsSync(addon)) throw new Error(`sodium-native has no prebuilt addon for ${platform}`);
  return [...new Set(closure.values())].sort();
}

if (require.main === module) {
  const out = resolve(workspace, process.argv[2] ?? join('dist', 'native', 'node_modules'));
  const staged = stageNativeModules(out);
  process.stdout.write(`stage-native-modules: ${staged.join(', ')} -> ${relative(workspace, out)}\n`);
}
