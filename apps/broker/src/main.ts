import { ConfigError, EXIT, VERSION, fail, programTracer, runProgram } from '@tsr/runtime';
import { startTelemetry } from '@tsr/telemetry/sdk';
import { BrokerServer } from './broker-server';
import { startBrokerMonitor } from './monitor';
import { brokerOptions, brokerSettings } from './options';

runProgram('broker', brokerOptions, async (config) => {
  const trace = programTracer('broker', config);
  const settings = brokerSettings(config);
  // Traces (OTEL_* variables; README, "Traces"): off unless asked for, and then nothing of the SDK is loaded.
  const telemetry = await startTelemetry({ serviceName: 'tsr-broker', version: VERSION });
  if (telemetry.problem) throw new ConfigError(telemetry.problem);
  if (telemetry.enabled) trace.info(telemetry.describe);
  const report = () => trace.info(server.summary(), server.counters());
  const server: BrokerServer = new BrokerServer(
    { ...settings, openTelemetry: telemetry.enabled, parentBasedSampler: telemetry.parentBased === true },
    trace,
    (error) => {
      report();
      trace.error('stopping', error);
      server.close();
      fail('broker', error);
    },
  );
  // SIGINT, SIGTERM (Ctrl-C, Docker, Kubernetes): the counters, the sockets closed, the last spans
  // sent (at most 2 s, and only when traces are on), exit 0.
  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    report();
    try {
      server.close();
    } catch {
      // already closed
    }
    await telemetry.shutdown();
    trace.info(`stopped by ${signal}`);
    process.exit(EXIT.ok);
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void stop(signal));
  await server.start();
  if (config.httpPort > 0) await startBrokerMonitor(server, config.httpPort, config.httpHost, trace);
});
