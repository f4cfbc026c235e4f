import { type OptionSpec, parsers } from './config';
import { ConfigError } from './errors';
import { DEFAULT_SERVICE, isServiceName, serviceNameProblem } from '@tsr/protocol';
import { defaultLevel, type Level, type LogFormat, levels, logFormats } from './trace';

/** Options every program shares, so their names and variables stay identical. */
export const commonOptions = {
  log: {
    flag: 'log',
    env: ['TSR_LOG'],
    default: defaultLevel(),
    parse: parsers.oneOf(...levels),
    describe: `verbosity: ${levels.join(', ')}`,
  } satisfies OptionSpec<Level>,
  logFormat: {
    flag: 'log-format',
    env: ['TSR_LOG_FORMAT'],
    default: 'text',
    parse: parsers.oneOf(...logFormats),
    describe: 'text (for people) or json (one object per line, for containers)',
  } satisfies OptionSpec<LogFormat>,
};

/** The HTTP monitoring endpoint (/metrics /healthz /readyz /status) of the broker and workers: off unless a port is given. */
export const monitorOptions = {
  httpPort: {
    flag: 'http-port',
    env: ['HTTP_PORT'],
    default: 0,
    defaultMeans: 'off',
    parse: parsers.int(0, 65535),
    describe: 'port of the HTTP endpoint (/metrics /healthz /readyz /status); 0: off',
  } satisfies OptionSpec<number>,
  httpHost: {
    flag: 'http-bind',
    env: ['HTTP_BIND'],
    default: '*',
    parse: parsers.host,
    describe: 'interface of the HTTP endpoint, * for all',
  } satisfies OptionSpec<string>,
};

/** Where workers and clients find the broker: the seed's positional `brokerHost brokerPort`. */
export function brokerAddressOptions(defaultPort: number) {
  return {
    brokerHost: {
      flag: 'broker-host',
      positional: 0,
      env: ['BROKER_HOST'],
      default: '127.0.0.1',
      parse: parsers.host,
      describe: 'broker host name or address',
    } satisfies OptionSpec<string>,
    brokerPort: {
      flag: 'broker-port',
      positional: 1,
      env: ['BROKER_PORT'],
      default: defaultPort,
      parse: parsers.port,
      describe: 'broker port',
    } satisfies OptionSpec<number>,
  };
}

/**
 * `--service NAME`: the service a worker serves or a client calls (docs/protocol.md, "Services").
 * A worker may not serve the broker's own services (`tsr.…`); a client may call them.
 */
export function serviceOption(env: string, role: 'worker' | 'client'): OptionSpec<string> {
  return {
    flag: 'service',
    env: [env],
    default: DEFAULT_SERVICE,
    parse: (raw, name) => {
      const problem = role === 'worker' ? serviceNameProblem(raw) : isServiceName(raw) ? undefined : serviceNameProblem(raw);
      if (problem) throw new ConfigError(`${name}: ${problem}`);
      return raw;
    },
    describe: role === 'worker' ? 'the service this worker serves' : 'the service to call',
  };
}

/**
 * The TSR/1 heartbeat of the broker and its workers: the same flags, variables and bounds on both
 * sides (they must agree), each side saying what they mean to it.
 */
export function heartbeatOptions(describe: { heartbeat: string; liveness: string }) {
  return {
    heartbeatMs: {
      flag: 'heartbeat',
      env: ['HEARTBEAT_MS'],
      default: 1000,
      parse: parsers.int(10, 3_600_000),
      describe: describe.heartbeat,
    } satisfies OptionSpec<number>,
    liveness: {
      flag: 'liveness',
      env: ['HEARTBEAT_LIVENESS'],
      default: 3,
      parse: parsers.int(1, 100),
      describe: describe.liveness,
    } satisfies OptionSpec<number>,
  };
}
