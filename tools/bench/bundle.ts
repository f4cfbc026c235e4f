/**
 * The benchmark's own programs (baselines.ts, loadgen.ts, otlp-sink.ts, and the C forwarder) built once per run,
 * and the system's nats-server found; the Node ones bundled with esbuild, the way Nx builds the
 * apps, so that they start faster than under tsx and run the same kind of code as the broker
 * (docs/benchmarks/README.md, "Run it"). The bundles go to a temp dir that is removed at exit;
 * `zeromq` and `nats` stay external and are found through NODE_PATH.
 */
import { buildSync } from 'esbuild';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { atExit } from './children';
import { findNatsServer } from './nats';
import { type NativeBuild, buildNativeForwarder } from './native';

export interface Bundles {
  /** The temp dir holding the bundles (removed at exit). */
  dir: string;
  baselines: string;
  loadgen: string;
  /** The OTLP/HTTP sink of the tracing experiment. */
  otlpSink: string;
  /** The C forwarder, or why it could not be built. */
  nativeForwarder: NativeBuild;
  /** The system's nats-server, or why the NATS baseline is left out. */
  natsServer: NativeBuild;
  /** Environment for running them (NODE_PATH to the workspace's node_modules). */
  env: NodeJS.ProcessEnv;
}

export function bundlePrograms(): Bundles {
  const dir = mkdtempSync(join(tmpdir(), 'tsr-bench-'));
  atExit(() => rmSync(dir, { recursive: true, force: true }));
  const out = (name: string) => {
    const outfile = join(dir, `${name}.js`);
    buildSync({
      entryPoints: [join(__dirname, `${name}.ts`)],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node26',
      packages: 'external',
      logLevel: 'error',
    });
    return outfile;
  };
  const nodeModules = join(__dirname, '..', '..', 'node_modules');
  return {
    dir,
    baselines: out('baselines'),
    loadgen: out('loadgen'),
    otlpSink: out('otlp-sink'),
    nativeForwarder: buildNativeForwarder(dir),
    natsServer: findNatsServer(),
    env: { NODE_PATH: [nodeModules, process.env['NODE_PATH']].filter(Boolean).join(':') },
  };
}
