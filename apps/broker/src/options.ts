import { WORKER_RECONNECT_MAX_MS } from '@tsr/protocol';
import {
  ConfigError,
  type ConfigOf,
  type OptionSpec,
  commonOptions,
  curveBrokerOptions,
  curveBrokerSettings,
  monitorOptions,
  heartbeatOptions,
  parsers,
} from '@tsr/runtime';
import type { BrokerServerOptions } from './broker-server';

const MiB = 1024 * 1024;
/** Room a worker's answer has beyond the request it answers (the echo adds ` W <id>`). */
export const REPLY_HEADROOM = 64 * 1024;

/** The seed's command line `broker frontendPort backendPort`, plus named options. */
export const brokerOptions = {
  frontendPort: {
    flag: 'frontend-port',
    positional: 0,
    env: ['FRONTEND_PORT'],
    default: 9998,
    parse: parsers.port,
    describe: 'port for clients',
  } satisfies OptionSpec<number>,
  backendPort: {
    flag: 'backend-port',
    positional: 1,
    env: ['BACKEND_PORT'],
    default: 9999,
    parse: parsers.port,
    describe: 'port for workers',
  } satisfies OptionSpec<number>,
  bindHost: {
    flag: 'bind',
    env: ['BIND_HOST'],
    default: '*',
    parse: parsers.host,
    describe: 'interface the frontend and backend bind, * for all',
  } satisfies OptionSpec<string>,
  answerTimeoutMs: {
    flag: 'answer-timeout',
    env: ['ANSWER_TIMEOUT_MS'],
    default: 2000,
    parse: parsers.int(1, 3_600_000),
    describe: 'ms a worker has to answer a request dispatched to it; then the worker is declared failed and the request goes to another',
  } satisfies OptionSpec<number>,
  ...heartbeatOptions({
    heartbeat: 'ms between heartbeats to the workers that speak them (TSR/1 workers: seed workers never see one)',
    liveness: 'heartbeats a worker may miss before it is forgotten (its requests go to other workers)',
  }),
  maxPending: {
    flag: 'max-pending',
    env: ['MAX_PENDING'],
    default: 100_000,
    parse: parsers.int(0),
    describe: 'requests that may wait for a worker; more are answered "TSR/1 ERR overloaded"',
  } satisfies OptionSpec<number>,
  maxRequestBytes: {
    flag: 'max-request',
    env: ['MAX_REQUEST_BYTES'],
    default: MiB,
    parse: parsers.int(64, 256 * MiB),
    describe: 'largest request; larger ones are answered "TSR/1 ERR too-large" (twice as large: disconnected)',
  } satisfies OptionSpec<number>,
  maxReplyBytes: {
    flag: 'max-reply',
    env: ['MAX_REPLY_BYTES'],
    default: 0,
    defaultMeans: `--max-request + ${REPLY_HEADROOM / 1024} KiB`,
    parse: parsers.int(0, 512 * MiB),
    describe: `largest message from a worker (0: --max-request + ${REPLY_HEADROOM / 1024} KiB); a worker sending more is disconnected`,
  } satisfies OptionSpec<number>,
  maxQueueBytes: {
    flag: 'max-queue-bytes',
    env: ['MAX_QUEUE_BYTES'],
    default: 128 * MiB,
    parse: parsers.int(1024),
    describe: 'bytes of requests held (waiting or in service); more are answered "TSR/1 ERR overloaded"',
  } satisfies OptionSpec<number>,
  maxClientBytes: {
    flag: 'max-client-bytes',
    env: ['MAX_CLIENT_BYTES'],
    default: 0,
    defaultMeans: 'a quarter of --max-queue-bytes',
    parse: parsers.int(0),
    describe: 'bytes one client may hold (0: a quarter of --max-queue-bytes); more are answered "TSR/1 ERR client-share"',
  } satisfies OptionSpec<number>,
  maxServiceBytes: {
    flag: 'max-service-bytes',
    env: ['MAX_SERVICE_BYTES'],
    default: 0,
    defaultMeans: 'half of --max-queue-bytes',
    parse: parsers.int(0),
    describe: 'bytes one service\'s requests may hold (0: half of --max-queue-bytes); more are answered "TSR/1 ERR overloaded"',
  } satisfies OptionSpec<number>,
  maxServices: {
    flag: 'max-services',
    env: ['MAX_SERVICES'],
    default: 1000,
    parse: parsers.int(1, 1_000_000),
    describe: 'services tracked at once (one with no worker and no request is forgotten)',
  } satisfies OptionSpec<number>,
  serviceGraceMs: {
    flag: 'service-grace',
    env: ['SERVICE_GRACE_MS'],
    default: 3000,
    parse: parsers.int(0, 3_600_000),
    describe: 'ms a request for a service with no worker waits for one; then it is answered "TSR/1 ERR no-service"',
  } satisfies OptionSpec<number>,
  startupGraceMs: {
    flag: 'startup-grace',
    env: ['STARTUP_GRACE_MS'],
    default: -1,
    defaultMeans: `--heartbeat x --liveness + ${WORKER_RECONNECT_MAX_MS}`,
    parse: parsers.int(-1, 3_600_000),
    describe:
      'ms after start before any request is answered "no-service" (-1: --heartbeat x --liveness + 5000, the time workers need to find a restarted broker)',
  } satisfies OptionSpec<number>,
  requestTtlMs: {
    flag: 'request-ttl',
    env: ['REQUEST_TTL_MS'],
    default: 30_000,
    parse: parsers.int(1, 86_400_000),
    describe: 'ms a request may wait to be served; then it is answered "TSR/1 ERR expired"',
  } satisfies OptionSpec<number>,
  maxFailures: {
    flag: 'max-failures',
    env: ['MAX_FAILURES'],
    default: 3,
    parse: parsers.int(1, 1000),
    describe: 'workers a request may see fail while serving it; then it is answered "TSR/1 ERR poison"',
  } satisfies OptionSpec<number>,
  maxWorkers: {
    flag: 'max-workers',
    env: ['MAX_WORKERS'],
    default: 10_000,
    parse: parsers.int(1),
    describe: 'workers admitted at once; further readies are refused',
  } satisfies OptionSpec<number>,
  maxConnections: {
    flag: 'max-connections',
    env: ['MAX_CONNECTIONS'],
    default: 10_000,
    parse: parsers.int(1, 1_000_000),
    describe: 'TCP connections each socket keeps at once; further ones are closed as they come (and logged)',
  } satisfies OptionSpec<number>,
  zmtpHeartbeatMs: {
    flag: 'zmtp-heartbeat',
    env: ['ZMTP_HEARTBEAT_MS'],
    default: 5000,
    parse: parsers.int(0, 600_000),
    describe: 'ms between ZMTP PINGs on every connection (0: none); a peer that sends nothing for 3 of them is disconnected',
  } satisfies OptionSpec<number>,
  ...curveBrokerOptions,
  ...monitorOptions,
  ...commonOptions,
};

export type BrokerConfig = ConfigOf<typeof brokerOptions>;

/** The server's settings: derived limits filled in, and limits that cannot work together refused. */
export function brokerSettings(config: BrokerConfig): BrokerServerOptions {
  const maxReplyBytes = config.maxReplyBytes || config.maxRequestBytes + REPLY_HEADROOM;
  const maxClientBytes = config.maxClientBytes || Math.floor(config.maxQueueBytes / 4);
  const maxServiceBytes = config.maxServiceBytes || Math.floor(config.maxQueueBytes / 2);
  // A request's cost is its body plus the client's routing id (at most 255 bytes).
  const largest = config.maxRequestBytes + 255;
  if (maxReplyBytes < largest)
    throw new ConfigError(`--max-reply (${maxReplyBytes}) must leave an answer room beyond --max-request (${config.maxRequestBytes})`);
  if (maxClientBytes < largest)
    throw new ConfigError(
      `--max-client-bytes (${maxClientBytes}) must hold at least one request of --max-request (${config.maxRequestBytes}) bytes`,
    );
  if (maxServiceBytes < largest)
    throw new ConfigError(
      `--max-service-bytes (${maxServiceBytes}) must hold at least one request of --max-request (${config.maxRequestBytes}) bytes`,
    );
  if (config.maxQueueBytes < maxServiceBytes)
    throw new ConfigError(`--max-queue-bytes (${config.maxQueueBytes}) must be at least --max-service-bytes (${maxServiceBytes})`);
  if (config.maxQueueBytes < maxClientBytes)
    throw new ConfigError(`--max-queue-bytes (${config.maxQueueBytes}) must be at least --max-client-bytes (${maxClientBytes})`);
  return {
    ...config,
    maxReplyBytes,
    maxClientBytes,
    maxServiceBytes,
    livenessMs: config.heartbeatMs * config.liveness,
    startupGraceMs: config.startupGraceMs >= 0 ? config.startupGraceMs : config.heartbeatMs * config.liveness + WORKER_RECONNECT_MAX_MS,
    startedAt: performance.now(),
    failedMemory: 10_000,
    curve: curveBrokerSettings(config),
  };
}
