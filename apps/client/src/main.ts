import { hostname } from 'node:os';
import { formatSummary, programTracer, runProgram, uniqueIdentity } from '@tsr/tsr';
import { LazyPirateClient } from './lazy-pirate';
import { clientOptions } from './options';
import { runLoad } from './load';

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
