/** The benchmark's command line. */
import { join } from 'node:path';
import { parseArgs } from 'node:util';

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
  out: string;
  /** Built apps to run (default: a snapshot of dist/apps taken at start). */
  apps: string | undefined;
  profile: boolean;
  /** What `--profile` runs, by target kind. */
  profileKinds: string[];
  /** `--profile` with Linux perf rather than V8's sampler. */
  perf: boolean;
  help: boolean;
  /** Requests each worker behind our broker asks to hold at once (its --credit). */
  credit: number;
  /** Against NATS: requests in flight (concurrent requesters), message sizes, workers/responders. */
  natsInflight: number[];
  natsSizes: number[];
  natsWorkers: number;
  /** Against NATS: the warm-up of each run (longer than the others': see docs/benchmarks/README.md). */
  natsWarmupMs: number;
  /** Run only the comparison with NATS. */
  natsOnly: boolean;
  /** Another build (DIR/<app>/main.js) whose broker and workers join the comparison with NATS. */
  versusApps: string | undefined;
  /** Our generator sends batches to a broker that offers them, as our client library does (against NATS, and several brokers). */
  clientBatches: boolean;
  /** Run only the several-brokers experiment: two brokers sharing their workers against one broker. */
  severalBrokers: boolean;
  /** Several brokers: the workers' credits (one block each), worker count, message sizes. */
  brokersCredits: number[];
  brokersWorkers: number;
  brokersSizes: number[];
  /** Several brokers: the warm-up of each run (as against NATS, the targets idle while the others are loaded). */
  brokersWarmupMs: number;
  /** Several brokers: the open-loop rate, as a share of one broker's saturation throughput measured moments before. */
  brokersRate: number;
  /** Run only the tracing experiment: the build before, this build with traces off, on at every request, on sampled. */
  tracing: boolean;
  /** Tracing: the build before this work (DIR/apps/<app>/main.js or DIR/<app>/main.js), the baseline. */
  beforeDist: string | undefined;
  /** Tracing: our client app's load mode, its clients (a connection and a request in flight each). */
  tracingConcurrency: number;
  /** Tracing: zero-delay workers behind each broker. */
  tracingWorkers: number;
  /** Tracing: the warm-up of each run (the targets idle while the others are loaded). */
  tracingWarmupMs: number;
  /** Tracing: the open-loop rate, as a share of the build before's saturation throughput measured moments before. */
  tracingRate: number;
  /** Tracing: the sampling ratio of the sampled variant (parentbased_traceidratio). */
  tracingSample: number;
  /** Run only the encryption experiment: our broker with CURVE and without, against NATS with TLS and without. */
  encrypted: boolean;
  /** Encrypted: message sizes, workers / responders, requests in flight (all on one connection). */
  encryptedSizes: number[];
  encryptedWorkers: number;
  encryptedInflight: number;
  /** Encrypted: the warm-up of each run up to 64 KiB (as against NATS, the targets idle while the others are loaded). */
  encryptedWarmupMs: number;
  /** Encrypted: the warm-up and the measured window of each run over 64 KiB (a round trip of 32 MiB in flight takes up to a second). */
  encryptedLargeWarmupMs: number;
  encryptedLargeDurationMs: number;
}

export const usage = `usage: npm run bench -- [options]     (or: npx nx run bench:bench -- [options])
  --quick               one short repetition (~1 min), results to tmp/benchmarks/<date>-quick
  --reps N              repetitions (default 3)
  --sizes A,B,C         message sizes in bytes (default 16,1024,65536)
  --workers A,B,C       worker counts (default 1,2,4)
  --inflight N          closed loop: requests in flight (default 64)
  --generators N        load generator processes (default 1)
  --sockets N           DEALER sockets per generator: the clients a target sees (default 4; against NATS at most one per requester)
  --warmup MS           per run, not measured (default 400)
  --duration MS         per saturation run, measured (default 1000)
  --latency-duration MS per half-saturation latency run, measured (default 2000)
  --latency-rounds N    half-saturation rounds per repetition, each a paired trial (default 3)
  --latency-workers N   workers for the latency-at-half-saturation runs (default 1)
  --lru-size N          also run the LRU forwarder diagnostic at this size (default 16, 0 = off)
  --out DIR             where results go (default docs/benchmarks/<date>)
  --apps DIR            run the apps from DIR/<app>/main.js instead of dist/apps (A/B a build)
  --profile             profile broker and forwarders with --cpu-prof instead of benchmarking
  --profile-kinds A,B   what --profile runs (default broker,forwarder-lru,forwarder; e.g. broker-curve,forwarder-c-curve)
  --perf                --profile with Linux perf (native code and the kernel too; needs perf) instead of --cpu-prof
  --credit N            requests each worker behind our broker may hold (worker --credit; default 16, 1 = the seed's one at a time)
  --nats-inflight A,B   against NATS (needs nats-server): concurrent requesters (default 32,1)
  --nats-sizes A,B      against NATS: message sizes in bytes (default 16,1024)
  --nats-workers N      against NATS: our workers and NATS responders (default 4)
  --nats-warmup MS      against NATS: per run, not measured (default 1500; the pace after idle takes that long)
  --nats-only           run only the comparison with NATS (results to tmp/benchmarks/<date>-nats unless --out)
  --versus-apps DIR     against NATS, also the broker and workers of DIR/<app>/main.js (a change, before and after, in one run)
  --client-batches      against NATS, several brokers and in --profile, our generator batches requests when the broker offers it (as our client library does)
  --several-brokers     run only two brokers sharing their workers against one broker (results to tmp/benchmarks/<date>-brokers unless --out)
  --brokers-credits A,B several brokers: the workers' credits, a block each (default 1,4)
  --brokers-workers N   several brokers: workers, the same for one broker and for two (default 4)
  --brokers-sizes A,B   several brokers: message sizes in bytes (default 16)
  --brokers-warmup MS   several brokers: per run, not measured (default 3000)
  --brokers-rate F      several brokers: the open-loop rate as a share of one broker's saturation (default 0.5)
  --tracing             run only what tracing costs: the build before (--before-dist), this build with traces off (its client sending deadlines, and not), on (sampler ratio 1), on sampled (results to tmp/benchmarks/<date>-tracing unless --out)
  --before-dist DIR     tracing: the build before, its dist (DIR/apps/<app>/main.js) or its apps (DIR/<app>/main.js)
  --tracing-concurrency N  tracing: clients of our client app's load mode, the load at saturation (default 32)
  --tracing-workers N   tracing: zero-delay workers behind each broker (default 4)
  --tracing-warmup MS   tracing: per run, not measured (default 2500)
  --tracing-rate F      tracing: the open-loop rate as a share of the build before's saturation (default 0.5)
  --tracing-sample F    tracing: the sampled variant's ratio, parentbased_traceidratio (default 0.01)
  --encrypted           run only our CURVE against NATS with TLS, each beside itself in the clear (needs nats-server and openssl; results to tmp/benchmarks/<date>-encrypted unless --out)
  --encrypted-sizes A,B encrypted: message sizes in bytes (default 16,1024,65536,1048576)
  --encrypted-workers N encrypted: our workers and NATS responders (default 4)
  --encrypted-inflight N  encrypted: requests in flight, all on one connection (default 32)
  --encrypted-warmup MS encrypted: per run up to 64 KiB, not measured (default 2500)
  --encrypted-large-warmup MS    encrypted: per run over 64 KiB, not measured (default 5000)
  --encrypted-large-duration MS  encrypted: per run over 64 KiB, measured (default 4000; --duration for the others)
`;

const list = (v: string) => v.split(',').filter(Boolean).map(Number);

/** The flags as util.parseArgs declares them; every value is text until parseOptions checks it. */
const flags = {
  quick: { type: 'boolean' },
  reps: { type: 'string' },
  sizes: { type: 'string' },
  workers: { type: 'string' },
  inflight: { type: 'string' },
  generators: { type: 'string' },
  sockets: { type: 'string' },
  warmup: { type: 'string' },
  duration: { type: 'string' },
  'latency-duration': { type: 'string' },
  'latency-rounds': { type: 'string' },
  'latency-workers': { type: 'string' },
  'lru-size': { type: 'string' },
  out: { type: 'string' },
  apps: { type: 'string' },
  profile: { type: 'boolean' },
  'profile-kinds': { type: 'string' },
  perf: { type: 'boolean' },
  credit: { type: 'string' },
  'nats-inflight': { type: 'string' },
  'nats-sizes': { type: 'string' },
  'nats-workers': { type: 'string' },
  'nats-warmup': { type: 'string' },
  'nats-only': { type: 'boolean' },
  'versus-apps': { type: 'string' },
  'client-batches': { type: 'boolean' },
  'several-brokers': { type: 'boolean' },
  'brokers-credits': { type: 'string' },
  'brokers-workers': { type: 'string' },
  'brokers-sizes': { type: 'string' },
  'brokers-warmup': { type: 'string' },
  'brokers-rate': { type: 'string' },
  tracing: { type: 'boolean' },
  'before-dist': { type: 'string' },
  'tracing-concurrency': { type: 'string' },
  'tracing-workers': { type: 'string' },
  'tracing-warmup': { type: 'string' },
  'tracing-rate': { type: 'string' },
  'tracing-sample': { type: 'string' },
  encrypted: { type: 'boolean' },
  'encrypted-sizes': { type: 'string' },
  'encrypted-workers': { type: 'string' },
  'encrypted-inflight': { type: 'string' },
  'encrypted-warmup': { type: 'string' },
  'encrypted-large-warmup': { type: 'string' },
  'encrypted-large-duration': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export function parseOptions(argv: readonly string[], today: string, root: string): BenchOptions {
  let v: ReturnType<typeof parseArgs<{ args: string[]; options: typeof flags }>>['values'];
  try {
    ({ values: v } = parseArgs({ args: [...argv], options: flags }));
  } catch (e) {
    throw new Error(`${(e as Error).message} (npm run bench -- --help lists the options)`);
  }
  const quick = v.quick ?? false;
  /** A number flag: its value, else the quick run's default, else the full run's. */
  const num = (value: string | undefined, full: number, short = full) => (value === undefined ? (quick ? short : full) : Number(value));
  const o: BenchOptions = {
    quick,
    reps: num(v.reps, 3, 1),
    sizes: v.sizes === undefined ? [16, 1024, 65536] : list(v.sizes),
    workers: v.workers === undefined ? [1, 2, 4] : list(v.workers),
    inflight: num(v.inflight, 64),
    generators: num(v.generators, 1),
    sockets: num(v.sockets, 4),
    warmupMs: num(v.warmup, 400, 300),
    durationMs: num(v.duration, 1000, 600),
    latencyDurationMs: num(v['latency-duration'], 2000, 1200),
    latencyRounds: num(v['latency-rounds'], 3, 1),
    latencyWorkers: num(v['latency-workers'], 1),
    lruSize: num(v['lru-size'], 16),
    out: v.out ?? '',
    apps: v.apps,
    profile: v.profile ?? false,
    profileKinds: (v['profile-kinds'] ?? 'broker,forwarder-lru,forwarder').split(',').filter(Boolean),
    perf: v.perf ?? false,
    help: v.help ?? false,
    credit: num(v.credit, 16),
    natsInflight: v['nats-inflight'] === undefined ? [32, 1] : list(v['nats-inflight']),
    natsSizes: v['nats-sizes'] === undefined ? [16, 1024] : list(v['nats-sizes']),
    natsWorkers: num(v['nats-workers'], 4),
    natsWarmupMs: num(v['nats-warmup'], 1500, 800),
    natsOnly: v['nats-only'] ?? false,
    versusApps: v['versus-apps'],
    clientBatches: v['client-batches'] ?? false,
    severalBrokers: v['several-brokers'] ?? false,
    brokersCredits: v['brokers-credits'] === undefined ? [1, 4] : list(v['brokers-credits']),
    brokersWorkers: num(v['brokers-workers'], 4),
    brokersSizes: v['brokers-sizes'] === undefined ? [16] : list(v['brokers-sizes']),
    brokersWarmupMs: num(v['brokers-warmup'], 3000, 1500),
    brokersRate: num(v['brokers-rate'], 0.5),
    tracing: v.tracing ?? false,
    beforeDist: v['before-dist'],
    tracingConcurrency: num(v['tracing-concurrency'], 32),
    tracingWorkers: num(v['tracing-workers'], 4),
    tracingWarmupMs: num(v['tracing-warmup'], 2500, 1500),
    tracingRate: num(v['tracing-rate'], 0.5),
    tracingSample: num(v['tracing-sample'], 0.01),
    encrypted: v.encrypted ?? false,
    encryptedSizes: v['encrypted-sizes'] === undefined ? [16, 1024, 65536, 1048576] : list(v['encrypted-sizes']),
    encryptedWorkers: num(v['encrypted-workers'], 4),
    encryptedInflight: num(v['encrypted-inflight'], 32),
    encryptedWarmupMs: num(v['encrypted-warmup'], 2500, 1500),
    encryptedLargeWarmupMs: num(v['encrypted-large-warmup'], 5000, 3000),
    encryptedLargeDurationMs: num(v['encrypted-large-duration'], 4000, 2000),
  };
  for (const [name, n] of Object.entries({
    reps: o.reps,
    inflight: o.inflight,
    generators: o.generators,
    sockets: o.sockets,
    duration: o.durationMs,
    'latency-duration': o.latencyDurationMs,
    'latency-rounds': o.latencyRounds,
    'latency-workers': o.latencyWorkers,
    credit: o.credit,
    'nats-workers': o.natsWorkers,
    'brokers-workers': o.brokersWorkers,
    'tracing-concurrency': o.tracingConcurrency,
    'tracing-workers': o.tracingWorkers,
    'encrypted-workers': o.encryptedWorkers,
    'encrypted-inflight': o.encryptedInflight,
    'encrypted-large-duration': o.encryptedLargeDurationMs,
  })) {
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer`);
  }
  for (const [name, n] of Object.entries({
    warmup: o.warmupMs,
    'nats-warmup': o.natsWarmupMs,
    'brokers-warmup': o.brokersWarmupMs,
    'tracing-warmup': o.tracingWarmupMs,
    'encrypted-warmup': o.encryptedWarmupMs,
    'encrypted-large-warmup': o.encryptedLargeWarmupMs,
  })) {
    if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a whole number of milliseconds`);
  }
  if ([...o.sizes, ...o.natsSizes, ...o.brokersSizes, ...o.encryptedSizes].some((s) => !(s >= 12)))
    throw new Error('--sizes, --nats-sizes, --brokers-sizes, --encrypted-sizes: each size must be at least 12 bytes (the request header)');
  if (o.brokersCredits.some((c) => !Number.isInteger(c) || c < 1)) throw new Error('--brokers-credits: positive integers');
  if (!(o.brokersRate > 0 && o.brokersRate < 1)) throw new Error('--brokers-rate: a share of saturation, between 0 and 1');
  if (o.severalBrokers && o.sockets % 2 !== 0)
    throw new Error('--several-brokers: --sockets must be even (each of the two brokers gets half of the sockets)');
  if (o.severalBrokers && o.natsOnly) throw new Error('--several-brokers and --nats-only: one or the other');
  if (!(o.tracingRate > 0 && o.tracingRate < 1)) throw new Error('--tracing-rate: a share of saturation, between 0 and 1');
  if (!(o.tracingSample > 0 && o.tracingSample < 1)) throw new Error('--tracing-sample: a sampling ratio, between 0 and 1');
  if (o.tracing && (o.natsOnly || o.severalBrokers)) throw new Error('--tracing, --several-brokers and --nats-only: one of them');
  if (o.encrypted && (o.natsOnly || o.severalBrokers || o.tracing))
    throw new Error('--encrypted runs alone: not with --nats-only, --several-brokers or --tracing');
  if (o.tracing && !o.beforeDist) throw new Error('--tracing needs --before-dist DIR: the build before this work, the baseline');
  if ((o.perf || v['profile-kinds'] !== undefined) && !o.profile) throw new Error('--perf and --profile-kinds go with --profile');
  if (o.natsInflight.some((c) => !Number.isInteger(c) || c < 1)) throw new Error('--nats-inflight: positive integers');
  if (o.workers.some((w) => !Number.isInteger(w) || w < 1)) throw new Error('--workers: positive integers');
  if (!o.workers.includes(o.latencyWorkers)) o.workers = [...o.workers, o.latencyWorkers].sort((a, b) => a - b);
  const scratch = o.profile
    ? 'profile'
    : o.quick
      ? 'quick'
      : o.natsOnly
        ? 'nats'
        : o.severalBrokers
          ? 'brokers'
          : o.tracing
            ? 'tracing'
            : o.encrypted
              ? 'encrypted'
              : undefined;
  if (!o.out) o.out = scratch ? join(root, 'tmp', 'benchmarks', `${today}-${scratch}`) : join(root, 'docs', 'benchmarks', today);
  return o;
}
