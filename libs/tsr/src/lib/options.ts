import { type OptionSpec, parsers } from './config';
import { defaultLevel, type Level, levels } from './trace';

/** Options every program shares, so their names and variables stay identical. */
export const commonOptions = {
  log: {
    flag: 'log',
    env: ['TSR_LOG'],
    default: defaultLevel(),
    parse: parsers.oneOf(...levels),
    describe: `verbosity: ${levels.join(', ')}`,
  } satisfies OptionSpec<Level>,
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
