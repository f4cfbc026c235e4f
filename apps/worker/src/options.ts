import {
  type OptionSpec,
  brokerAddressOptions,
  commonOptions,
  curvePeerOptions,
  monitorOptions,
  heartbeatOptions,
  parsers,
  serviceOption,
} from '@tsr/runtime';
import { HANDLERS, type HandlerName } from './handlers';

/** The seed's command line `worker brokerHost brokerPort`, plus named options. */
export const workerOptions = {
  ...brokerAddressOptions(9999),
  service: serviceOption('WORKER_SERVICE', 'worker'),
  handler: {
    flag: 'handler',
    env: ['WORKER_HANDLER'],
    default: 'echo',
    parse: parsers.oneOf(...HANDLERS),
    describe: 'echo (the seed\'s "<request> <worker id>" after --delay) or wordcount (the example: text in, JSON counts out)',
  } satisfies OptionSpec<HandlerName>,
  delayMs: {
    flag: 'delay',
    env: ['WORKER_DELAY_MS'],
    default: 1000,
    parse: parsers.int(0, 3_600_000),
    describe: "echo: ms spent on each request (keep it below the broker's --answer-timeout)",
  } satisfies OptionSpec<number>,
  ...heartbeatOptions({
    heartbeat: "ms between heartbeats, once the broker sends them (keep it equal to the broker's --heartbeat)",
    liveness: 'broker heartbeats missed before the worker reconnects (and turns not ready)',
  }),
  credit: {
    flag: 'credit',
    env: ['WORKER_CREDIT'],
    default: 1,
    parse: parsers.int(1, 1000),
    describe: 'requests a TSR/1 broker may send ahead (served in order; more = throughput for fast work)',
  } satisfies OptionSpec<number>,
  ...curvePeerOptions,
  ...monitorOptions,
  ...commonOptions,
};
