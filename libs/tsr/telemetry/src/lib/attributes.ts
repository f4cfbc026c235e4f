/**
 * The attributes our spans carry: OpenTelemetry's messaging conventions where they fit (a request
 * goes to a named destination, the service, through an intermediary), ours under `tsr.` for the
 * rest. One place, so the client, the broker, the worker and the tests spell them alike.
 */
export const ATTR = {
  system: 'messaging.system',
  operationType: 'messaging.operation.type',
  operationName: 'messaging.operation.name',
  destination: 'messaging.destination.name',
  messageId: 'messaging.message.id',
  bodySize: 'messaging.message.body.size',
  clientId: 'messaging.client.id',
  serverAddress: 'server.address',
  serverPort: 'server.port',
  errorType: 'error.type',
  /** Which attempt of the client's (1, 2, …) a span belongs to. */
  attempt: 'tsr.attempt',
  /** The worker a request was dispatched to (its routing id). */
  worker: 'tsr.worker',
  /** Which dispatch of the broker's for this request (2 and up: a worker failed before). */
  dispatch: 'tsr.dispatch',
  /** How it ended: reply, failure, timeout, or the broker's reason (expired, deadline, …). */
  outcome: 'tsr.outcome',
  /** The request's remaining time when the span began, ms. */
  timeoutMs: 'tsr.timeout_ms',
} as const;

/** `messaging.system` of every span of ours. */
export const MESSAGING_SYSTEM = 'tsr';
