/**
 * The broker benchmark: our broker against baselines measured in the same run with the same load,
 * (a) direct request-reply with no broker, (b) a bare ROUTER-to-ROUTER forwarder (in Node, and in C
 * when it can be built), and NATS request-reply when nats-server is installed.
 *
 *   npm run bench                    full run, results to docs/benchmarks/<date>/ (it prints how long it will take)
 *   npm run bench -- --quick         one short repetition, results to tmp/benchmarks/<date>-quick/
 *   npm run bench -- --profile       --cpu-prof of broker and forwarders under load
 *   npm run bench -- --help
 *
 * Every child process is killed when the benchmark ends, whatever the reason (see children.ts).
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, relative } from 'node:path';
import { MAX_BATCHED_BODY } from '@tsr/protocol';
import { BOXES_PER_REQUEST, boundedSizes, measureBoxCost } from './box-cost';
import { bundlePrograms } from './bundle';
import { chartsMarkdown } from './chart';
import { idleCsv, runsCsv } from './csv';
import { liveCount } from './children';
import { appsHashes, formatNote, gitCommit, machineNote, snapshotApps, today } from './machine';
import { estimateSeconds, plannedRuns, runMatrix } from './matrix';
import { type BenchOptions, parseOptions, usage } from './options';
import { profileKinds, profileTargets, requirePerf } from './profile';
import { markdownTable, summarize, tables, textTable } from './report';
import { tracingSpansTable } from './report/tracing';
import { TRACING_SIZE, beforeAppsDir } from './tracing';
import { ENCRYPTED_LARGE, ENCRYPTED_LIMITS } from './encrypted';
import { type OtherBuild, redoLines } from './redo';
import { useAppsDir } from './targets';

const root = join(__dirname, '..', '..');

const METHOD = [
  "Against NATS: nats-server (the system's) with Node responders (nats.js) in one queue group answering `<request> <id>` at once, against our broker with as many",
  'zero-delay workers, and the bare forwarders in Node and in C (when built) as floors; the same generator, closed loop, C requesters in flight; for NATS it publishes',
  'with a reply subject over one shared connection, or over one connection per requester; every target in turn, order rotated per repetition, ratios ours / NATS paired within a repetition.',
  'Load: a dedicated generator (tools/bench/loadgen.ts, its own Node process) speaks the client side of the protocol over DEALER sockets',
  '(the same frames a REQ client sends); each request carries its send time, the reply echoes it, latency is measured in the generator.',
  'Saturation: closed loop, a fixed number of requests in flight; a warm-up is discarded, then requests/s over a fixed window.',
  'Targets: our broker, (b) the bare forwarder (ROUTER-to-ROUTER, round-robin over the ready workers, nothing else), an LRU forwarder',
  '(diagnostic: the broker’s one-request-per-worker rule and nothing else) and (a) direct: one ROUTER that answers at once, no broker, no worker.',
  'Workers are our worker app with --delay 0. All targets of one worker count run side by side and are loaded in turn, order rotated per repetition.',
  'Half saturation: open-loop runs (fixed rate, replies do not pace the sender) at half the broker’s saturation throughput measured',
  'moments before in the same repetition, at the same rate against broker, bare forwarder, C forwarder (when built) and direct, in',
  'rounds; each round is a trial and added latency = broker minus baseline, paired within the trial.',
  'Memory: RSS (pidusage), idle right after start and peak during the load. CPU: user + system time (pidusage) over the measured window; machine busy cores from os.cpus().',
];

/** What `--several-brokers` does, instead of the method above. */
const SEVERAL_BROKERS_METHOD = [
  'Several brokers: one broker with W zero-delay workers, against two brokers with W workers each serving both (--broker-host a,b: one connection per broker, its credit shared by leases),',
  'started side by side for each credit; the same generator and load for both, loaded in turn (order rotated per repetition): "load on both" splits the generator’s sockets',
  'over the two frontends (half of the requests each), "load on one" puts them all on the first (the second broker idle, the credit moving to where the queue is).',
  'Saturation: closed loop, a fixed number of requests in flight; throughput and the CPU per request of the broker processes (both brokers summed), two / one paired within each repetition.',
  'Fixed rate: open loop at a share of the one broker’s saturation measured moments before, the same for all, in rounds; p50 and p99 two / one paired within each round.',
  'Each broker’s HTTP endpoint is on, not scraped: its lease counters (tsr_broker_credit_moves_total, tsr_broker_credit_wants_total) are read at both ends of each window.',
  'Load: tools/bench/loadgen.ts, its own Node process, over DEALER sockets; each request carries its send time, the reply echoes it, latency is measured in the generator.',
  'CPU: user + system time (pidusage) over the measured window; machine busy cores from os.cpus().',
];

/** What `--tracing` does, instead of the method above. */
const TRACING_METHOD = [
  'Tracing: five variants, each a broker (its HTTP endpoint on, not scraped) with W zero-delay workers, started side by side in each repetition: before (the build before this work, --before-dist),',
  'before again (a second instance of it: what two of the same differ by, the noise), off (this build, no OTEL_* variables: no SDK loaded, the no-op tracer), on with sampling 1 and on sampled',
  '(broker, workers and client with OTEL_EXPORTER_OTLP_ENDPOINT to an OTLP/HTTP sink the benchmark runs in a process of its own, tools/bench/otlp-sink.ts, answering 200 and counting spans;',
  'OTEL_TRACES_SAMPLER=parentbased_traceidratio, OTEL_TRACES_SAMPLER_ARG 1 or the sampled ratio). Loaded in turn, order rotated per repetition.',
  'Saturation: our client app’s load mode (each variant its own build’s client: C clients, a connection and a request in flight each, closed loop) for a warm-up then a window; requests/s = the broker’s',
  'replies (tsr_broker_replies_total) over the window; CPU per request of broker, client and workers over it; ratios variant / before paired within each repetition.',
  'Fixed rate: the benchmark’s generator (tools/bench/loadgen.ts, no metadata), open loop at a share of before’s saturation measured moments before, in rounds; p50 and p99 variant / before paired within each round.',
  'CPU: user + system time (pidusage) over the measured window; machine busy cores from os.cpus(). Spans: what the sink received from each traced variant over the run, against what its requests should have made.',
];

/** What `--encrypted` does, instead of the method above. */
const ENCRYPTED_METHOD = [
  'Encrypted: our broker with W zero-delay workers, and nats-server with W Node responders (nats.js, one queue group, each answering `<request> <id>` at once), each with every hop encrypted and in the clear,',
  'started side by side and loaded in turn (order rotated per repetition); with --versus-apps the other build’s broker and workers too, with CURVE and without (before and after).',
  'CURVE: the broker’s frontend and backend with CURVE (keys made as keygen makes them, the same for both builds), its workers and the generator CURVE clients.',
  'The C forwarder (tools/bench/native/forwarder.c, when built) with libzmq’s CURVE on both sockets (the same broker key; it admits every client key) and without, our workers behind it, the generator’s libzmq DEALER: the floor of any CURVE broker, loaded in the same rotation.',
  'TLS: nats-server from a config file with a tls block (a self-signed P-256 certificate for localhost and 127.0.0.1, made with openssl for the run), its responders and the generator connecting with TLS to localhost',
  'and trusting that certificate; the run waits for the server’s log to say "TLS required for client connections". Hop by hop on both sides: client to server, server to worker or responder, and back.',
  `Limits raised for 1 MiB requests, with and without encryption alike: nats-server’s max_payload to ${ENCRYPTED_LIMITS.natsMaxPayload / 1024 / 1024} MiB (its default, 1 MiB, is the request, and the reply is longer), our brokers’ MAX_CLIENT_BYTES to ${ENCRYPTED_LIMITS.brokerMaxClientBytes / 1024 / 1024} MiB (one client holds every request in flight).`,
  'Load: the same generator (tools/bench/loadgen.ts, its own Node process), closed loop, C requests in flight on one connection: one DEALER socket to our broker (with --client-batches our client library’s socket and its batches),',
  'one nats.js connection to NATS, publishing with a reply subject and reading replies from one inbox subscription. Each request carries its send time, the reply echoes it.',
  'Saturation: a warm-up is discarded (longer over 64 KiB, and the window too: a round trip of C requests of 1 MiB takes up to a second), then requests/s over a fixed window; CPU µs per request of the server process (broker, nats-server; all threads), of the workers or responders together and of the generator:',
  'user + system time (pidusage) over the window; machine busy cores from os.cpus(). Ratios paired within each repetition, then median [min–max] over the repetitions.',
  `The boxes' bound: after the runs, the bench's own process seals and opens a frame of each size over ${MAX_BATCHED_BODY / 1024} KiB through the boxes our sockets use (tools/bench/box-cost.ts; CPU time, the median of 7 batches); such a request is never batched and its body is boxed ${BOXES_PER_REQUEST} times through a CURVE broker, so on cores every process shares CURVE / plain throughput is at most plain / (plain + ${BOXES_PER_REQUEST} boxes), plain being this build's CPU per plain request summed over broker, workers and generator.`,
];

/** The command line asks for what cannot be: said in one line, exit code 2. */
class BadInput extends Error {}

/** The options, checked before anything starts: what a profile needs too. */
function checkedOptions(argv: readonly string[]): BenchOptions {
  try {
    const o = parseOptions(argv, today(), root);
    if (o.profile) profileKinds(o.profileKinds);
    if (o.perf) requirePerf();
    return o;
  } catch (e) {
    throw new BadInput((e as Error).message);
  }
}

async function main(): Promise<void> {
  const o = checkedOptions(process.argv.slice(2));
  if (o.help) {
    process.stdout.write(usage);
    return;
  }
  const log = (line: string) => process.stdout.write(line + '\n');
  const bundles = bundlePrograms();
  const appsDir = o.apps ?? snapshotApps(join(root, 'dist', 'apps'), join(bundles.dir, 'apps'));
  useAppsDir(appsDir);
  // the build before of --tracing, copied as the run's own build is
  const beforeSnapshot = o.beforeDist ? snapshotApps(beforeAppsDir(o.beforeDist), join(bundles.dir, 'before-apps')) : undefined;
  const note = machineNote(root, appsDir);
  mkdirSync(o.out, { recursive: true });
  log(`machine: ${formatNote(note)}`);

  if (o.profile) {
    const lines: string[] = [];
    const capture = (s: string) => {
      lines.push(s);
      log(s);
    };
    const workerCounts = [...new Set([o.latencyWorkers, Math.max(...o.workers)])];
    for (const workers of workerCounts) {
      const results = await profileTargets(
        {
          kinds: profileKinds(o.profileKinds),
          workers,
          size: o.sizes[0],
          inflight: o.inflight,
          sockets: o.sockets,
          durationMs: Math.max(3000, o.durationMs * 3),
          dir: join(o.out, `w${workers}`),
          intervalUs: 200,
          credit: o.credit,
          batch: o.clientBatches,
          profiler: o.perf ? 'perf' : 'v8',
        },
        bundles,
        capture,
      );
      capture(
        `\nworkers ${workers}: process CPU µs per request ${results.map((r) => `${r.kind} ${r.cpuUsPerRequest.toFixed(1)}`).join(', ')}`,
      );
    }
    writeFileSync(join(o.out, 'profile-summary.txt'), `${formatNote(note)}\n${lines.join('\n')}\n`);
    log(`\nprofiles and summary in ${relative(process.cwd(), o.out)}`);
    return;
  }

  const withC = 'path' in bundles.nativeForwarder;
  const nats = bundles.natsServer;
  const withNats = 'path' in nats;
  if ((o.natsOnly || o.encrypted) && 'missing' in nats) throw new BadInput(nats.missing);
  const natsPlan =
    'path' in nats
      ? `against NATS (${nats.version ?? 'nats-server'}): ${o.natsWorkers} workers / responders, sizes ${o.natsSizes.join('/')} B, ${o.natsInflight.join('/')} requesters in flight, ` +
        `our broker${o.clientBatches ? ' (its generator batching requests when the broker offers it)' : ''}, the bare forwarder${withC ? 's in Node and C' : ''}, NATS over one connection and NATS over a connection per requester in turn, ${o.natsWarmupMs} ms warm-up + ${o.durationMs} ms measured each`
      : 'no comparison with NATS (nats-server missing)';
  const mainPlan =
    `sizes ${o.sizes.join('/')} B × workers ${o.workers.join('/')} (credit ${o.credit} each behind our broker), ${o.inflight} requests in flight, ` +
    `${o.generators} generator process(es), warm-up ${o.warmupMs} ms + ${o.durationMs} ms measured per saturation run, ` +
    `${o.latencyRounds} half-saturation round(s) of ${o.latencyDurationMs} ms against broker, bare forwarder, ${withC ? 'C forwarder, ' : ''}direct`;
  const brokersPlan =
    `one broker against two sharing their ${o.brokersWorkers} workers (load on both frontends, load on the first), credit ${o.brokersCredits.join(' and ')}, ` +
    `sizes ${o.brokersSizes.join('/')} B, ${o.inflight} requests in flight over ${o.sockets} sockets${o.clientBatches ? ' (batches, as our client library sends)' : ''}, ` +
    `${o.brokersWarmupMs} ms warm-up + ${o.durationMs} ms measured each; then ${o.latencyRounds} round(s) of ${o.latencyDurationMs} ms at ${o.brokersRate} × the one broker's saturation, open loop`;
  const tracingPlan =
    `what tracing costs: before (--before-dist), before again, off, off with no deadline, on sampling 1, on sampling ${o.tracingSample}, each a broker with ${o.tracingWorkers} workers (credit ${o.credit}); ` +
    `our client app at saturation (${o.tracingConcurrency} clients, ${TRACING_SIZE} B), ${o.tracingWarmupMs} ms warm-up + ${o.durationMs} ms measured each; ` +
    `then ${o.latencyRounds} round(s) of ${o.latencyDurationMs} ms at ${o.tracingRate} × before's saturation, the generator, open loop${o.clientBatches ? ', batches' : ''}`;
  const encryptedPlan =
    `our CURVE against NATS with TLS (${('path' in nats && nats.version) || 'nats-server'}, max_payload ${ENCRYPTED_LIMITS.natsMaxPayload / 1024 / 1024} MiB): ${o.encryptedWorkers} workers / responders, ` +
    `sizes ${o.encryptedSizes.join('/')} B, ${o.encryptedInflight} requests in flight on one connection${o.clientBatches ? ' (ours batching, as our client library does)' : ''}, ` +
    `our broker with CURVE and without, NATS with TLS and without${o.versusApps ? ', the other build (--versus-apps) with CURVE and without' : ''}${withC ? ', the C forwarder with libzmq’s CURVE and without' : ''} in turn, ` +
    `${o.encryptedWarmupMs} ms warm-up + ${o.durationMs} ms measured each, ${o.encryptedLargeWarmupMs} + ${o.encryptedLargeDurationMs} ms over ${ENCRYPTED_LARGE / 1024} KiB`;
  const what = o.tracing
    ? tracingPlan
    : o.severalBrokers
      ? brokersPlan
      : o.encrypted
        ? encryptedPlan
        : o.natsOnly
          ? natsPlan
          : `${natsPlan}; ${mainPlan}`;
  const plan = `${o.reps} repetition(s) of: ${what}; ${plannedRuns(o, withC, withNats)} runs`;
  log(`plan: ${plan}, about ${Math.round(estimateSeconds(o, withC, withNats) / 60)} min`);
  if ('missing' in bundles.nativeForwarder && !o.natsOnly && !o.severalBrokers && !o.tracing && !o.encrypted)
    log(bundles.nativeForwarder.missing);
  if ('missing' in bundles.natsServer && !o.severalBrokers && !o.tracing) log(bundles.natsServer.missing);
  const m = await runMatrix(beforeSnapshot ? { ...o, beforeDist: beforeSnapshot } : o, bundles, log);
  note.loadAverageAtEnd = loadavg().map((v) => Math.round(v * 100) / 100);
  // Once the targets have stopped: the boxes' own cost, for the bound beside CURVE's targets.
  const boxCost = o.encrypted ? await measureBoxCost(boundedSizes(o.encryptedSizes)) : undefined;
  const summary = summarize(m.runs, m.idle, o.latencyWorkers, boxCost);
  const spans = m.tracing && tracingSpansTable(m.tracing.totals, m.tracing.sink);
  const ts = [...tables(summary), ...(spans ? [spans] : [])];
  const method = o.tracing ? TRACING_METHOD : o.severalBrokers ? SEVERAL_BROKERS_METHOD : o.encrypted ? ENCRYPTED_METHOD : METHOD;

  log('');
  for (const t of ts) log(`${textTable(t)}\n`);
  for (const c of summary.checks) log(c);
  log(`\n${method.join('\n')}`);

  // the benchmark's guide, from wherever the results go (a dated folder, a folder in it, tmp/)
  const guide = relative(o.out, join(root, 'docs', 'benchmarks', 'README.md'));
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  // Raw data stays small: the run's settings as JSON, one CSV line per run and per idle process.
  const beforeCommit = o.beforeDist ? gitCommit(o.beforeDist) : undefined;
  const beforeApps = beforeSnapshot ? { git: beforeCommit, sha256: appsHashes(beforeSnapshot) } : undefined;
  const before = beforeApps ? { beforeApps } : {};
  const charts = chartsMarkdown(summary);
  // the other build the run measured, to build again from its commit
  const otherCommit = o.encrypted && o.versusApps ? gitCommit(o.versusApps) : undefined;
  const other: OtherBuild | undefined =
    o.tracing && o.beforeDist && beforeCommit
      ? {
          name: 'The build before (--before-dist)',
          dir: o.beforeDist,
          commit: beforeCommit,
          sha256: beforeApps?.sha256 ?? {},
          worktree: '/tmp/before-build',
          given: 'dist',
        }
      : o.versusApps && otherCommit
        ? {
            name: 'The other build (--versus-apps)',
            dir: o.versusApps,
            commit: otherCommit,
            sha256: appsHashes(o.versusApps),
            worktree: '/tmp/other-build',
            given: 'dist/apps',
          }
        : undefined;
  const redo = redoLines(
    command,
    other,
    o.encrypted ? 'nats-server and openssl installed (Debian: apt-get install nats-server openssl)' : undefined,
  );
  const tracing = m.tracing ? { tracing: m.tracing } : {};
  const encrypted = o.encrypted ? { encryptedLimits: ENCRYPTED_LIMITS, boxCost } : {};
  writeFileSync(
    join(o.out, 'run.json'),
    JSON.stringify({ command, machine: note, ...before, options: o, seconds: m.seconds, ...tracing, ...encrypted }, null, 1) + '\n',
  );
  writeFileSync(join(o.out, 'runs.csv'), runsCsv(m.runs));
  writeFileSync(join(o.out, 'idle.csv'), idleCsv(m.idle));
  writeFileSync(
    join(o.out, 'results.md'),
    [
      `# ${o.tracing ? 'What tracing costs' : o.severalBrokers ? 'Two brokers against one' : o.encrypted ? 'Our CURVE against NATS with TLS' : 'Broker benchmark'}, ${note.date}`,
      '',
      `Command: \`${command}\` (${Math.round(m.seconds)} s). How to read this: [docs/benchmarks/README.md](${guide}).`,
      '',
      `Machine: ${formatNote(note)}.`,
      '',
      `Plan: ${plan}.`,
      '',
      'The machine is shared and noisy: compare only figures from the same run (ratios, paired within a repetition), never absolute requests/s across runs.',
      '',
      ...(charts ? [charts, ''] : []),
      ...redo,
      ...summary.checks.map((c) => `- ${c}`),
      '',
      ...(existsSync(join(o.out, 'profile.md'))
        ? ['Profile findings (what stands in the way, with evidence): [profile.md](profile.md).', '']
        : []),
      ...ts.flatMap((t) => [markdownTable(t), '']),
      '## Method',
      '',
      ...method,
      '',
    ].join('\n'),
  );
  log(`\nresults: ${relative(process.cwd(), join(o.out, 'results.md'))}, run.json, runs.csv, idle.csv (${Math.round(m.seconds)} s)`);
  if (liveCount() > 0) log(`(stopping ${liveCount()} leftover child process(es))`);
}

main().then(
  () => process.exit(0), // the 'exit' handler kills anything still running
  (e: Error) => {
    if (e instanceof BadInput) {
      process.stderr.write(`bench: ${e.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`bench failed: ${e.stack ?? e.message}\n`);
    process.exit(1);
  },
);
