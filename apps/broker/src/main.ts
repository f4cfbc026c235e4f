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
  heartbeatMs: { flag: 'heartbeat', env: ['HEARTBEAT_MS'], default: 1000, parse: parsers.int(10, 3_600_000), describe: 'ms between heartbeats to workers that speak them' } satisfies OptionSpec<number>,
  liveness: { flag: 'liveness', env: ['HEARTBEAT_LIVENESS'], default: 3, parse: parsers.int(1, 100), describe: 'heartbeats a worker may miss before it is dropped' } satisfies OptionSpec<number>,
  maxPending: { flag: 'max-pending', env: ['MAX_PENDING'], default: 100_000, parse: parsers.int(0), describe: 'requests that may wait for a worker; more are answered "TSR/1 ERR overloaded"' } satisfies OptionSpec<number>,
  maxMessageBytes: { flag: 'max-message', env: ['MAX_MESSAGE_BYTES'], default: 1_048_576, parse: parsers.int(64), describe: 'largest message accepted; a peer sending more is disconnected' } satisfies OptionSpec<number>,
  ...commonOptions,
};

runProgram('broker', brokerOptions, async (config) => {
  const trace = createTracer('broker', config.log);
  const server = new BrokerServer({ ...config, livenessMs: config.heartbeatMs * config.liveness, failedMemory: 10_000 }, trace);
  exitOnSignals([server], trace, () => trace.info(server.summary()));
  await server.start();
});
