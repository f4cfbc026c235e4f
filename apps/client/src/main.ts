import { hostname } from 'node:os';
import { Client } from '@tsr-broker/client';
import { DEFAULT_SERVICE } from '@tsr/protocol';
import {
  ConfigError,
  VERSION,
  brokerAddresses,
  curvePeerKeys,
  fail,
  formatSummary,
  levels,
  programTracer,
  runProgram,
  uniqueIdentity,
} from '@tsr/runtime';
import { startTelemetry } from '@tsr/telemetry/sdk';
import { servicesTable } from './discovery';
import { CLIENT_EXIT, exitCodeOf } from './exit-codes';
import { runLoad } from './load';
import { reportConnections } from './connection-report';
import { clientOptions } from './options';

runProgram('client', clientOptions, async (config) => {
  const trace = programTracer('client', config);
  if (config.plain && config.service !== DEFAULT_SERVICE)
    throw new ConfigError(`--plain reaches a seed broker's one pool of workers: it cannot call --service ${config.service}`);
  if (config.plain && config.services) throw new ConfigError('--services (discovery) needs a TSR/1 broker: not with --plain');
  if (config.services && config.requests > 0) throw new ConfigError('--services (discovery) is one request: not with --requests');
  const options = {
    broker: brokerAddresses(config.brokerHost, config.brokerPort),
    identity: uniqueIdentity('C'),
    timeout: config.timeoutMs,
    retries: config.retries,
    plain: config.plain,
    curve: curvePeerKeys(config, 'optional'),
  };
  // Traces (OTEL_* variables; README, "Traces"): off unless asked for. Sent before every exit
  // (at most 2 s): the end, a failure, a signal.
  const telemetry = await startTelemetry({ serviceName: 'tsr-client', version: VERSION, instanceId: options.identity });
  if (telemetry.problem) throw new ConfigError(telemetry.problem);
  // On stderr, as the progress lines: stdout is the reply or the summary (--json), for scripts.
  if (telemetry.enabled && levels.indexOf(trace.level) >= levels.indexOf('info')) process.stderr.write(`client: ${telemetry.describe}\n`);
  const exit = (code: number) => void telemetry.shutdown().then(() => process.exit(code));
  const body = Buffer.from(config.request || `C ${hostname()}`);
  let stop = () => {};
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => stop());

  if (config.requests === 0) {
    const client = new Client(options);
    reportConnections([client], trace);
    stop = () => {
      client.close();
      exit(CLIENT_EXIT.ok);
    };
    try {
      if (config.services) {
        const services = await client.services();
        process.stdout.write(`${config.json ? JSON.stringify(services) : servicesTable(services)}\n`);
        return;
      }
      const reply = await client.request(config.service, body);
      trace.step('procesaRespuesta', 'msg', [reply]);
      process.stdout.write(`${reply.toString()}\n`);
    } catch (e) {
      client.close();
      await telemetry.shutdown();
      fail('client', e, exitCodeOf(e));
    } finally {
      client.close();
      await telemetry.shutdown();
    }
    return;
  }

  // Progress on a terminal: one line, rewritten; in a log (CI, containers): a line every 5 s.
  const tty = process.stderr.isTTY;
  stop = () => exit(CLIENT_EXIT.ok);
  const { result, cause } = await runLoad({
    ...options,
    service: config.service,
    requests: config.requests,
    concurrency: config.concurrency,
    giveUpAfter: config.giveUpAfter,
    onClients: (clients) => reportConnections(clients, trace),
    durationS: config.durationS,
    body,
    progressMs: tty ? 200 : 5000,
    onProgress: ({ sent, answered, errors }) => {
      const line = `${sent}/${config.requests} requests sent, ${answered} answered, ${errors} failed`;
      process.stderr.write(tty ? `\r${line}` : `client: ${line}\n`);
    },
  });
  if (tty) process.stderr.write('\n');
  process.stdout.write((config.json ? JSON.stringify(result) : formatSummary(result)) + '\n');
  if (result.gaveUp !== undefined) process.stderr.write(`client: error: gave up: ${result.gaveUp}\n`);
  if (result.errors > 0) process.exitCode = cause ? exitCodeOf(cause) : CLIENT_EXIT.failure;
  await telemetry.shutdown();
});
