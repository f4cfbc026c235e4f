/**
 * Builds a library of libs/ as an npm package in dist/<its folder>, ready for `npm pack` and
 * `npm publish` (nx release publishes from there):
 *
 *   tsx tools/packaging/build-package.ts libs/worker
 *
 * The workspace code the library imports (the tsr family: `@tsr/zmtp`, `@tsr/protocol`, `@tsr/runtime`,
 * `@tsr/telemetry`) is not published, so it is bundled in: index.js is one CommonJS file (esbuild)
 * whose only requires are Node's own modules and the package's declared dependencies
 * (libsodium-wrappers-sumo; @opentelemetry/api, which must stay one copy in a program, the one its
 * OpenTelemetry SDK registers with), and index.d.ts is one declaration file (dts-bundle-generator)
 * with the types it uses inlined. The package.json is the
 * library's own (name, version, dependencies) with the entry points. The build fails if anything
 * of the workspace, or an undeclared package, would be left to resolve at the consumer's.
 */
import { builtinModules } from 'node:module';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { type Plugin, build } from 'esbuild';
import { generateDtsBundle } from 'dts-bundle-generator';

interface Manifest {
  name: string;
  version: string;
  dependencies?: Record<string, string>;
  [field: string]: unknown;
}

/** Entry points and published files, the same for every library package. */
const ENTRY = {
  main: './index.js',
  types: './index.d.ts',
  exports: { '.': { types: './index.d.ts', default: './index.js' }, './package.json': './package.json' },
  files: ['index.js', 'index.js.map', 'index.d.ts', 'README.md', 'LICENSE'],
};

const workspace = resolve(__dirname, '..', '..');
const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

/** The package a module specifier names (`zeromq/v5-compat` → `zeromq`, `@a/b/c` → `@a/b`). */
const packageOf = (specifier: string) =>
  specifier
    .split('/')
    .slice(0, specifier.startsWith('@') ? 2 : 1)
    .join('/');

/** What of `required` neither Node nor the manifest's dependencies provide. */
export function undeclared(required: readonly string[], manifest: Manifest): string[] {
  const declared = new Set(Object.keys(manifest.dependencies ?? {}));
  return [...new Set(required.filter((r) => !builtins.has(r)).map(packageOf))].filter((p) => !declared.has(p)).sort();
}

/**
 * Tree-shaking across the workspace code: its modules have no side effects on import, so the
 * parts of the tsr family a library does not use are dropped, and with them their imports of packages
 * the library does not need (dotenv, prom-client). Such an import is left external and marked
 * side-effect free: it vanishes if unused, and if it survives, the check below names it.
 */
function workspaceWithoutSideEffects(dependencies: readonly string[]): Plugin {
  const again = Symbol('resolved by this plugin');
  return {
    name: 'workspace-without-side-effects',
    setup(b) {
      b.onResolve({ filter: /.*/ }, async (args) => {
        if (args.pluginData === again || args.kind === 'entry-point' || builtins.has(args.path)) return undefined;
        const bare = !args.path.startsWith('.') && !args.path.startsWith('@tsr/');
        if (bare && dependencies.includes(packageOf(args.path))) return undefined;
        if (bare) return { path: args.path, external: true, sideEffects: false };
        const resolved = await b.resolve(args.path, {
          kind: args.kind,
          resolveDir: args.resolveDir,
          importer: args.importer,
          pluginData: again,
        });
        return resolved.errors.length > 0 ? { errors: resolved.errors } : { path: resolved.path, sideEffects: false };
      });
    },
  };
}

export async function buildPackage(root: string): Promise<string> {
  const source = resolve(workspace, root);
  const out = resolve(workspace, 'dist', relative(workspace, source));
  const manifest = JSON.parse(readFileSync(join(source, 'package.json'), 'utf8')) as Manifest;
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });

  const dependencies = Object.keys(manifest.dependencies ?? {});
  const js = await build({
    entryPoints: [join(source, 'src', 'index.ts')],
    outfile: join(out, 'index.js'),
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node26',
    sourcemap: true,
    external: dependencies,
    tsconfig: join(source, 'tsconfig.lib.json'),
    metafile: true,
    logLevel: 'warning',
    plugins: [workspaceWithoutSideEffects(dependencies)],
  });
  const required = Object.values(js.metafile.outputs).flatMap((o) => o.imports.filter((i) => i.external).map((i) => i.path));
  const bundledPackages = [
    ...new Set(
      Object.keys(js.metafile.inputs)
        .filter((i) => i.includes('node_modules/'))
        .map((i) => packageOf(i.split('node_modules/').pop() ?? i)),
    ),
  ];
  const missing = [...undeclared(required, manifest), ...bundledPackages.map((p) => `${p} (bundled: declare it as a dependency instead)`)];
  if (missing.length > 0) throw new Error(`${manifest.name}: the bundle needs packages it does not declare: ${missing.join(', ')}`);

  const [types] = generateDtsBundle(
    [{ filePath: join(source, 'src', 'index.ts'), output: { noBanner: true, exportReferencedTypes: false } }],
    {
      preferredConfigPath: join(__dirname, 'tsconfig.package.json'),
    },
  );
  const typeImports = [...types.matchAll(/(?:from|import\()\s*["']([^"']+)["']/g)].map((m) => m[1]);
  const looseTypes = undeclared(typeImports, manifest);
  if (looseTypes.length > 0)
    throw new Error(`${manifest.name}: index.d.ts refers to packages it does not declare: ${looseTypes.join(', ')}`);
  writeFileSync(join(out, 'index.d.ts'), types);

  const { name, version, ...rest } = manifest;
  writeFileSync(join(out, 'package.json'), JSON.stringify({ name, version, ...rest, ...ENTRY }, null, 2) + '\n');
  copyFileSync(join(source, 'README.md'), join(out, 'README.md'));
  copyFileSync(join(workspace, 'LICENSE'), join(out, 'LICENSE')); // the license the manifest names
  return out;
}

if (require.main === module) {
  const roots = process.argv.slice(2);
  if (roots.length === 0) {
    process.stderr.write('usage: tsx tools/packaging/build-package.ts libs/<library>...\n');
    process.exit(2);
  }
  (async () => {
    for (const root of roots) process.stdout.write(`built ${relative(workspace, await buildPackage(root))}\n`);
  })().catch((e: Error) => {
    process.stderr.write(`build-package: ${e.message}\n`);
    process.exit(1);
  });
}
