import { createTracer, exitOnSignals, runProgram, uniqueIdentity } from '@tsr/tsr';
import { workerOptions } from './options';
import { Worker } from './worker';

runProgram('worker', workerOptions, (config) => {
  const trace = createTracer('worker', config.log);
  const worker = new Worker({ ...config, identity: uniqueIdentity('W') }, trace);
  exitOnSignals([worker], trace);
  worker.start();
});
