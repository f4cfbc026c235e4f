export { Client, connect, type ClientOptions, type RequestOptions, type RetryOptions } from './lib/client';
export { BrokerError, HandlerError, NoAnswerError, NoServiceError, PlainBrokerError, RefusedError, RequestError } from './lib/errors';
export { DEFAULT_SERVICE, DISCOVERY_SERVICE, ERROR_REASONS, type ServiceInfo } from '@tsr/protocol';
export type { BrokerAddress, BrokerAddresses, BrokerSetOptions, ConnectionEvent, CurveKeyPair, CurvePeerKeys } from '@tsr/runtime';
export type { ErrorReason, Headers } from '@tsr/protocol';
