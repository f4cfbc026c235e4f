// What a program of ours runs on: configuration, logging, shutdown, endpoints, CURVE policy, the DEALER port.
export * from './lib/errors';
export * from './lib/argv';
export * from './lib/config';
export * from './lib/options';
export * from './lib/program';
export * from './lib/trace';
export * from './lib/shutdown';
export * from './lib/endpoint';
export * from './lib/broker-address';
export * from './lib/broker-set';
export * from './lib/identity';
export * from './lib/latency';
export * from './lib/receive-loop';
export * from './lib/coalescer';
export * from './lib/dealer-port';
export * from './lib/version';
export * from './lib/curve';
