import { type OptionSpec, commonOptions, createTracer, exitOnSignals, parsers, runProgram } from '@tsr/tsr';
import { BrokerServer } from './broker-server';

/** The seed's command line `broker frontendPort backendPort`, plus named options. */
export const brokerOptions = {
  frontendPort: { flag: 'frontend-port', positional: 0, env: ['FRONTEND_PORT'], default: 9998, parse: parsers.port, describe: 'port for clients' } satisfies OptionSpec<number>,
  backendPort: { flag: 'backend-port', positional: 1, env: ['BACKEND_PORT'], default: 9999, parse: parsers.port, describe: 'port for workers' } satisfies OptionSpec<number>,
  bindHost: { flag: 'bind', env: ['BIND_HOST'], default: '*', parse: parsers.host, describe: 'interface to bind, * for all' } satisfies OptionSpec<string>,
  answerTimeoutMs: {
    flag: 'answer-timeout',
    env: ['ANSWER_TIMEOUT_MS'],
    default: 2000,
    parse: parsers.int(1, 3_600_000),
    describe: 'ms a worker has to answer before it is declared failed',
  } satisfies OptionSpec<number>,
  ...commonOptions,
};

runProgram('broker', brokerOptions, async (config) => {
  const trace = createTracer('broker', config.log);
  const server = new BrokerServer({ ...config, failedMemory: 10_000 }, trace);
  exitOnSignals([server], trace, () => trace.info(server.summary()));
  await server.start();
});
