import { hostname } from 'node:os';
import { type OptionSpec, brokerAddressOptions, commonOptions, parsers, programTracer, runProgram, uniqueIdentity } from '@tsr/tsr';
import { LazyPirateClient } from './lazy-pirate';
import { runLoad } from './load';
import { formatSummary } from './latency';

/** The seed's command line `client brokerHost brokerPort`, plus retry and load options. */
export const clientOptions = {
  ...brokerAddressOptions(9998),
  request: { flag: 'request', env: ['CLIENT_REQUEST'], default: '', parse: parsers.string, describe: 'request text (the seed sends "C <hostname>")' } satisfies OptionSpec<string>,
  timeoutMs: { flag: 'timeout', env: ['CLIENT_TIMEOUT_MS'], default: 10_000, parse: parsers.int(0, 3_600_000), describe: 'ms to wait for each reply, 0 waits forever' } satisfies OptionSpec<number>,
  retries: { flag: 'retries', env: ['CLIENT_RETRIES'], default: 3, parse: parsers.int(0, 1000), describe: 'times a request is sent again after a timeout' } satisfies OptionSpec<number>,
  requests: { flag: 'requests', env: ['CLIENT_REQUESTS'], default: 0, parse: parsers.int(0), describe: 'load mode: number of requests (0: one-shot)' } satisfies OptionSpec<number>,
  concurrency: { flag: 'concurrency', env: ['CLIENT_CONCURRENCY'], default: 1, parse: parsers.int(1, 10_000), describe: 'load mode: requests in flight' } satisfies OptionSpec<number>,
  json: { flag: 'json', env: ['CLIENT_JSON'], default: false, parse: parsers.boolean, describe: 'load mode: print the summary as JSON' } satisfies OptionSpec<boolean>,
  ...commonOptions,
};

runProgram('client', clientOptions, async (config) => {
  const trace = programTracer('client', config);
  const identity = uniqueIdentity('C');
  const body = Buffer.from(config.request || `C ${hostname()}`);
  let stop = () => {};
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => stop());

  if (config.requests === 0) {
    const client = new LazyPirateClient(config.brokerHost, config.brokerPort, identity, config);
    stop = () => {
      client.close();
      process.exit(0);
    };
    try {
      const reply = await client.request(body);
      trace.traza('procesaRespuesta', 'msg', [reply]);
      process.stdout.write(`${reply.toString()}\n`);
    } finally {
      client.close();
    }
    return;
  }

  const tty = process.stderr.isTTY;
  stop = () => process.exit(0);
  const summary = await runLoad({
    ...config,
    host: config.brokerHost,
    port: config.brokerPort,
    identity,
    body,
    onProgress: tty ? (done) => process.stderr.write(`\r${done}/${config.requests} requests`) : undefined,
  });
  if (tty) process.stderr.write('\n');
  process.stdout.write((config.json ? JSON.stringify(summary) : formatSummary(summary)) + '\n');
  if (summary.errors > 0) process.exitCode = 1;
});
