import { serve } from '@tsr-broker/worker';
import { brokerAddresses, curvePeerKeys, exitOnSignals, fail, programTracer, runProgram, uniqueIdentity } from '@tsr/runtime';
import { FastHistogram } from '@tsr/monitoring';
import { handlerFor } from './handlers';
import { startWorkerMonitor } from './monitor';
import { workerOptions } from './options';

runProgram('worker', workerOptions, async (config) => {
  const identity = uniqueIdentity('W');
  const trace = programTracer('worker', config, identity);
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
  exitOnSignals([worker], trace);
  if (config.httpPort > 0)
    await startWorkerMonitor(worker, { serviceTime, delayMs: config.delayMs }, config.httpPort, config.httpHost, trace);
});
