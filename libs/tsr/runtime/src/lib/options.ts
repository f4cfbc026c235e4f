import { type BrokerHostPort } from './broker-address';
import { brokerAddressList } from './broker-set';
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

/**
 * Where workers and clients find the brokers: the seed's positional `brokerHost brokerPort`, the
 * host now one or several (`brokerAddresses` makes the list the libraries take).
 */
export function brokerAddressOptions(defaultPort: number) {
  return {
    brokerHost: {
      flag: 'broker-host',
      positional: 0,
      env: ['BROKER_HOST'],
      default: '127.0.0.1',
      parse: (raw, name) => {
        brokerHostEntries(raw, name); // refused here, at once, rather than when the program starts its socket
        return raw;
      },
      describe:
        'broker host name or address; several: a comma-separated list, each host or host:port (IPv6 with a port: [::1]:5000; a name may resolve to several brokers)',
    } satisfies OptionSpec<string>,
    brokerPort: {
      flag: 'broker-port',
      positional: 1,
      env: ['BROKER_PORT'],
      default: defaultPort,
      parse: parsers.port,
      describe: 'broker port (of the hosts given without one)',
    } satisfies OptionSpec<number>,
  };
}

/** The brokers of `--broker-host` and `--broker-port`, as the worker and client libraries take them (duplicates once). */
export function brokerAddresses(brokerHost: string, brokerPort: number): BrokerHostPort[] {
  return brokerAddressList(brokerHostEntries(brokerHost, '--broker-host').map(({ host, port }) => ({ host, port: port ?? brokerPort })));
}

/** `host`, `host:port`, `[v6]:port`, `[v6]` */
const HOST_ENTRY = /^(?:\[([0-9a-fA-F:]+)\]|([^:[\]]+))(?::(\d*))?$/;
/** A bare IPv6 address (two colons or more) has no port: with one, it takes brackets. */
const BARE_IPV6 = /^[0-9a-fA-F]*:[0-9a-fA-F]*:[0-9a-fA-F:]*$/;

const isHost = (host: string): boolean => {
  try {
    return parsers.host(host, 'host') !== '*'; // every interface is where to listen, not where to find a broker
  } catch {
    return false;
  }
};

/** The entries of a `--broker-host` value, each validated; a ConfigError names the bad one. */
function brokerHostEntries(raw: string, name: string): { host: string; port?: number }[] {
  return raw.split(',').map((part) => {
    const entry = part.trim();
    const bad = () =>
      new ConfigError(
        `${name} must be a host or host:port, several separated by commas (IPv6 with a port: [::1]:5000), got "${entry}"${entry === raw ? '' : ` in "${raw}"`}`,
      );
    if (BARE_IPV6.test(entry)) return { host: entry };
    const match = HOST_ENTRY.exec(entry);
    const host = match?.[1] ?? match?.[2];
    if (!match || !host || !isHost(host)) throw bad();
    return match[3] === undefined ? { host } : { host, port: parsers.port(match[3], `${name}: the port of "${entry}"`) };
  });
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
