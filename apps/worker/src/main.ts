import { curvePeerKeys, exitOnSignals, fail, programTracer, runProgram, uniqueIdentity } from '@tsr/tsr';
import { startWorkerMonitor } from './monitor';
import { workerOptions } from './options';
import { Worker } from './worker';

runProgram('worker', workerOptions, async (config) => {
  const identity = uniqueIdentity('W');
  const trace = programTracer('worker', config, identity);
  const worker: Worker = new Worker({ ...config, identity, curve: curvePeerKeys(config, 'required') }, trace, (error) => {
    worker.close();
    fail('worker', error);
  });
  exitOnSignals([worker], trace);
  worker.start();
  if (config.httpPort > 0) await startWorkerMonitor(worker, config.httpPort, config.httpHost, trace);
});
