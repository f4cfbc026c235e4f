import { serve } from '@tsr-broker/worker';
import { ConfigError, EXIT, VERSION, brokerAddresses, curvePeerKeys, fail, programTracer, runProgram, uniqueIdentity } from '@tsr/runtime';
import { FastHistogram } from '@tsr/monitoring';
import { startTelemetry } from '@tsr/telemetry/sdk';
import { handlerFor } from './handlers';
import { startWorkerMonitor } from './monitor';
import { workerOptions } from './options';

runProgram('worker', workerOptions, async (config) => {
  const identity = uniqueIdentity('W');
  const trace = programTracer('worker', config, identity);
  // Traces (OTEL_* variables; README, "Traces"): off unless asked for. The instance is the routing
  // id, which the broker's dispatch spans name too.
  const telemetry = await startTelemetry({ serviceName: 'tsr-worker', version: VERSION, instanceId: identity });
  if (telemetry.problem) throw new ConfigError(telemetry.problem);
  if (telemetry.enabled) trace.info(telemetry.describe);
  const serviceTime = new FastHistogram('tsr_worker_service_seconds', 'Time spent serving a request, from taking it up to replying');
  const worker = serve({
    broker: brokerAddresses(config.brokerHost, config.brokerPort),
    service: config.service,
    handler: handlerFor(config.handler, identity, config.delayMs),
    credit: config.credit,
    heartbeat: config.heartbeatMs,
    liveness: config.liveness,
    identity,
    curve: curvePeerKeys(config, 'required'),
    logger: trace,
    onServed: (seconds) => serviceTime.observe(seconds),
    onFatal: (error) => fail('worker', error),
  });
  trace.info(config.handler === 'echo' ? `echo, delay ${config.delayMs} ms` : config.handler);
  // SIGINT, SIGTERM: the drain (the request in the handler: its signal aborted, at most 2 s to
  // answer), the goodbye to the brokers (at most 200 ms), the last spans sent (at most 2 s, only
  // when traces are on), exit 0.
  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    await worker.close().catch(() => undefined);
    await telemetry.shutdown();
    trace.info(`stopped by ${signal}`);
    process.exit(EXIT.ok);
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void stop(signal));
  if (config.httpPort > 0)
    await startWorkerMonitor(worker, { serviceTime, delayMs: config.delayMs }, config.httpPort, config.httpHost, trace);
});
