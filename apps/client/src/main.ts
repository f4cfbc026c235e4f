import { hostname } from 'node:os';
import { curvePeerKeys, formatSummary, programTracer, runProgram, uniqueIdentity } from '@tsr/tsr';
import { LazyPirateClient } from './lazy-pirate';
import { clientOptions } from './options';
import { runLoad } from './load';

runProgram('client', clientOptions, async (config) => {
  const trace = programTracer('client', config);
  const identity = uniqueIdentity('C');
  const body = Buffer.from(config.request || `C ${hostname()}`);
  const curve = curvePeerKeys(config, 'optional');
  let stop = () => {};
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => stop());

  if (config.requests === 0) {
    const client = new LazyPirateClient(config.brokerHost, config.brokerPort, identity, config, curve);
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

  // Progress on a terminal: one line, rewritten; in a log (CI, containers): a line every 5 s.
  const tty = process.stderr.isTTY;
  stop = () => process.exit(0);
  const result = await runLoad({
    ...config,
    host: config.brokerHost,
    port: config.brokerPort,
    identity,
    body,
    curve,
    progressMs: tty ? 200 : 5000,
    onProgress: ({ sent, answered, errors }) => {
      const line = `${sent}/${config.requests} requests sent, ${answered} answered, ${errors} failed`;
      process.stderr.write(tty ? `\r${line}` : `client: ${line}\n`);
    },
  });
  if (tty) process.stderr.write('\n');
  process.stdout.write((config.json ? JSON.stringify(result) : formatSummary(result)) + '\n');
  if (result.gaveUp !== undefined) process.stderr.write(`client: error: gave up: ${result.gaveUp}\n`);
  if (result.errors > 0) process.exitCode = 1;
});
