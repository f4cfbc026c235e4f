export { Worker, serve, type WorkerBrokerStatus, type WorkerStatus } from './lib/worker';
export type { BrokerLinkStatus } from './lib/broker-link';
export type { Handler, RequestInfo, ServeOptions, WorkerLogger } from './lib/options';
export type { Headers } from '@tsr/protocol';
export type { BrokerAddress, BrokerAddresses, BrokerSetOptions, ConnectionEvent, CurveKeyPair, CurvePeerKeys } from '@tsr/runtime';
export type { Probe } from '@tsr/monitoring';
