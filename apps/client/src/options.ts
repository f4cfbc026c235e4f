import { type OptionSpec, brokerAddressOptions, commonOptions, curvePeerOptions, parsers, serviceOption } from '@tsr/runtime';

/** The seed's command line `client brokerHost brokerPort`, plus service, retry and load options. */
export const clientOptions = {
  ...brokerAddressOptions(9998),
  service: serviceOption('CLIENT_SERVICE', 'client'),
  plain: {
    flag: 'plain',
    env: ['CLIENT_PLAIN'],
    default: false,
    parse: parsers.boolean,
    describe: "a seed broker: the seed's plain requests to its one pool, answers checked by their echo of the request",
  } satisfies OptionSpec<boolean>,
  services: {
    flag: 'services',
    default: false,
    parse: parsers.boolean,
    describe: "discovery: print the services the broker knows with their workers, a table (--json: the broker's JSON), and exit",
  } satisfies OptionSpec<boolean>,
  request: {
    flag: 'request',
    env: ['CLIENT_REQUEST'],
    default: '',
    parse: parsers.string,
    describe: 'request text (empty: "C <hostname>", as the seed)',
  } satisfies OptionSpec<string>,
  timeoutMs: {
    flag: 'timeout',
    env: ['CLIENT_TIMEOUT_MS'],
    default: 10_000,
    parse: parsers.int(0, 3_600_000),
    describe: 'ms to wait for each reply, 0 waits forever',
  } satisfies OptionSpec<number>,
  retries: {
    flag: 'retries',
    env: ['CLIENT_RETRIES'],
    default: 3,
    parse: parsers.int(0, 1000),
    describe: 'times a request is sent again, on a fresh connection, after a timeout (Lazy Pirate)',
  } satisfies OptionSpec<number>,
  requests: {
    flag: 'requests',
    env: ['CLIENT_REQUESTS'],
    default: 0,
    defaultMeans: 'one request',
    parse: parsers.int(0),
    describe:
      'load mode: send this many requests and print req/s and p50/p95/p99 latency (progress on stderr: a line every 5 s when not on a terminal); 0: one request',
  } satisfies OptionSpec<number>,
  concurrency: {
    flag: 'concurrency',
    env: ['CLIENT_CONCURRENCY'],
    default: 1,
    parse: parsers.int(1, 10_000),
    describe: 'load mode: requests in flight',
  } satisfies OptionSpec<number>,
  json: {
    flag: 'json',
    env: ['CLIENT_JSON'],
    default: false,
    parse: parsers.boolean,
    describe: 'load mode and --services: print JSON',
  } satisfies OptionSpec<boolean>,
  giveUpAfter: {
    flag: 'give-up-after',
    env: ['CLIENT_GIVE_UP_AFTER'],
    default: 3,
    parse: parsers.int(0, 1_000_000),
    describe: 'load mode: stop, exit 1 (3 for no-service), when this many requests in a row got no answer or no-service (0: never)',
  } satisfies OptionSpec<number>,
  durationS: {
    flag: 'duration',
    env: ['CLIENT_DURATION_S'],
    default: 0,
    defaultMeans: 'no limit',
    parse: parsers.int(0, 86_400),
    describe: 'load mode: stop sending after this many seconds (0: no limit)',
  } satisfies OptionSpec<number>,
  ...curvePeerOptions,
  ...commonOptions,
};
