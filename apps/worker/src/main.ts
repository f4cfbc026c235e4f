import { createTracer, exitOnSignals, fail, runProgram, uniqueIdentity } from '@tsr/tsr';
import { workerOptions } from './options';
import { Worker } from './worker';

runProgram('worker', workerOptions, (config) => {
  const trace = createTracer('worker', config.log);
  const worker: Worker = new Worker({ ...config, identity: uniqueIdentity('W') }, trace, (error) => {
    worker.close();
    fail('worker', error);
  });
  exitOnSignals([worker], trace);
  worker.start();
});
