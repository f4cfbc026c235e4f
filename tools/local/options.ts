import { type OptionSpec, parsers } from '@tsr/runtime';

const count = (flag: string, fallback: number, describe: string): OptionSpec<number> => ({
  flag,
  default: fallback,
  parse: parsers.int(0, 1000),
  describe,
});

/** `npm start` (`nx run tools:local`): a whole deployment as local processes; also in docs/configuration.md. */
export const localOptions = {
  brokers: {
    flag: 'brokers',
    default: 2,
    parse: parsers.int(1, 9),
    describe: 'broker processes, serving at once; broker n (from 0) listens on the ports below + 10 n',
  } satisfies OptionSpec<number>,
  workers: count('workers', 3, 'worker processes'),
  clients: count('clients', 5, 'one-shot client processes'),
  frontendPort: {
    flag: 'frontend-port',
    env: ['FRONTEND_PORT'],
    default: 9998,
    parse: parsers.port,
    describe: 'broker port for clients',
  } satisfies OptionSpec<number>,
  backendPort: {
    flag: 'backend-port',
    env: ['BACKEND_PORT'],
    default: 9999,
    parse: parsers.port,
    describe: 'broker port for workers',
  } satisfies OptionSpec<number>,
  httpPort: {
    flag: 'http-port',
    env: ['HTTP_PORT'],
    default: 9180,
    parse: parsers.int(0, 65535),
    describe: 'broker status page and metrics (0: off)',
  } satisfies OptionSpec<number>,
  delayMs: {
    flag: 'delay',
    env: ['WORKER_DELAY_MS'],
    default: 1000,
    parse: parsers.int(0, 3_600_000),
    describe: 'worker ms per request',
  } satisfies OptionSpec<number>,
  exit: {
    flag: 'exit',
    default: false,
    parse: parsers.boolean,
    describe: 'stop everything once every client is answered',
  } satisfies OptionSpec<boolean>,
};
