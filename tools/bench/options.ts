/** The benchmark's command line. */
import { join } from 'node:path';

export interface BenchOptions {
  quick: boolean;
  reps: number;
  sizes: number[];
  workers: number[];
  /** Closed loop: requests in flight in total (split over generators and sockets). */
  inflight: number;
  generators: number;
  sockets: number;
  warmupMs: number;
  /** Measured window of a saturation run. */
  durationMs: number;
  /** Measured window of a latency run (longer: p99 needs samples). */
  latencyDurationMs: number;
  /** Latency rounds per repetition (every latency target in turn), each a paired trial. */
  latencyRounds: number;
  /** Workers behind broker/forwarder for the latency-at-half-saturation runs. */
  latencyWorkers: number;
  /** Run the LRU forwarder diagnostic at this size (0: never). */
  lruSize: number;
  /** Sizes for which our client app's load mode is run (RSS of the client, cross-check). */
  clientSizes: number[];
  clientConcurrency: number;
  out: string;
  /** Built apps to run (default: a snapshot of dist/apps taken at start). */
  apps: string | undefined;
  profile: boolean;
  help: boolean;
  /** Requests each worker behind our broker asks to hold at once (its --credit). */
  credit: number;
}

export const usage = `usage: npm run bench -- [options]     (or: npx nx run tools:bench -- [options])
  --quick               one short repetition (~1 min), results to tmp/benchmarks/<date>-quick
  --reps N              repetitions (default 3)
  --sizes A,B,C         message sizes in bytes (default 16,1024,65536)
  --workers A,B,C       worker counts (default 1,2,4)
  --inflight N          closed loop: requests in flight (default 64)
  --generators N        load generator processes (default 1)
  --warmup MS           per run, not measured (default 400)
  --duration MS         per saturation run, measured (default 1000)
  --latency-duration MS per half-saturation latency run, measured (default 2000)
  --latency-rounds N    half-saturation rounds per repetition, each a paired trial (default 3)
  --latency-workers N   workers for the latency-at-half-saturation runs (default 1)
  --lru-size N          also run the LRU forwarder diagnostic at this size (default 16, 0 = off)
  --out DIR             where results go (default docs/benchmarks/<date>)
  --apps DIR            run the apps from DIR/<app>/main.js instead of dist/apps (A/B a build)
  --profile             profile broker and forwarders with --cpu-prof instead of benchmarking
  --credit N            requests each worker behind our broker may hold (worker --credit; default 16, 1 = the seed's one at a time)
`;

const list = (v: string) => v.split(',').filter(Boolean).map(Number);

export function parseOptions(argv: readonly string[], today: string, root: string): BenchOptions {
  const o: BenchOptions = {
    quick: false,
    reps: 3,
    sizes: [16, 1024, 65536],
    workers: [1, 2, 4],
    inflight: 64,
    generators: 1,
    sockets: 4,
    warmupMs: 400,
    durationMs: 1000,
    latencyDurationMs: 2000,
    latencyRounds: 3,
    latencyWorkers: 1,
    lruSize: 16,
    clientSizes: [16, 65536],
    clientConcurrency: 16,
    out: '',
    apps: undefined,
    profile: false,
    help: false,
    credit: 16,
  };
  const set = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    set.add(a);
    switch (a) {
      case '--quick': o.quick = true; break;
      case '--reps': o.reps = Number(value()); break;
      case '--sizes': o.sizes = list(value()); break;
      case '--workers': o.workers = list(value()); break;
      case '--inflight': o.inflight = Number(value()); break;
      case '--generators': o.generators = Number(value()); break;
      case '--sockets': o.sockets = Number(value()); break;
      case '--warmup': o.warmupMs = Number(value()); break;
      case '--duration': o.durationMs = Number(value()); break;
      case '--latency-duration': o.latencyDurationMs = Number(value()); break;
      case '--latency-rounds': o.latencyRounds = Number(value()); break;
      case '--latency-workers': o.latencyWorkers = Number(value()); break;
      case '--lru-size': o.lruSize = Number(value()); break;
      case '--out': o.out = value(); break;
      case '--apps': o.apps = value(); break;
      case '--profile': o.profile = true; break;
      case '--credit': o.credit = Number(value()); break;
      case '--help': case '-h': o.help = true; break;
      default: throw new Error(`unknown option ${a}\n${usage}`);
    }
  }
  if (o.quick) {
    if (!set.has('--reps')) o.reps = 1;
    if (!set.has('--warmup')) o.warmupMs = 300;
    if (!set.has('--duration')) o.durationMs = 600;
    if (!set.has('--latency-duration')) o.latencyDurationMs = 1200;
    if (!set.has('--latency-rounds')) o.latencyRounds = 1;
  }
  for (const [name, v] of Object.entries({ reps: o.reps, inflight: o.inflight, generators: o.generators, sockets: o.sockets, duration: o.durationMs, 'latency-duration': o.latencyDurationMs, 'latency-rounds': o.latencyRounds, 'latency-workers': o.latencyWorkers, credit: o.credit })) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} must be a positive integer`);
  }
  if (o.sizes.some((s) => !(s >= 12))) throw new Error('--sizes: each size must be at least 12 bytes (the request header)');
  if (o.workers.some((w) => !Number.isInteger(w) || w < 1)) throw new Error('--workers: positive integers');
  if (!o.workers.includes(o.latencyWorkers)) o.workers = [...o.workers, o.latencyWorkers].sort((a, b) => a - b);
  o.clientSizes = o.clientSizes.filter((s) => o.sizes.includes(s));
  if (!o.out) o.out = o.quick || o.profile ? join(root, 'tmp', 'benchmarks', `${today}-${o.profile ? 'profile' : 'quick'}`) : join(root, 'docs', 'benchmarks', today);
  return o;
}
