import { ERROR_REASONS, type ErrorReason, describeErrorText } from '@tsr/protocol';

/** Any failure of a request the client library reports (besides bad arguments). Its `name` is its class's. */
export class RequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** No answer came within the timeout, after every retry. */
export class NoAnswerError extends RequestError {}

/**
 * The broker answered with an error (`TSR/1 ERR <reason> <detail>`) instead of a reply. The message
 * is a sentence; `reason` and `detail` are what the broker sent (docs/protocol.md).
 */
export class BrokerError extends RequestError {
  constructor(
    readonly reason: ErrorReason | string,
    readonly detail: string,
  ) {
    super(describeErrorText(detail === '' ? reason : `${reason} ${detail}`));
  }
}

/** No worker serves the service (the broker waited its grace period for one): `detail` is the service. */
export class NoServiceError extends BrokerError {}

/** The service's handler failed on this request: `detail` is its message. */
export class HandlerError extends BrokerError {}

/**
 * The broker refused the request: its queue or this client's share is full (`overloaded`,
 * `client-share`), the request is too large, it expired or took down too many workers (`poison`),
 * or the envelope was not acceptable (`bad-request`). Retrying at once would meet the same limit.
 */
export class RefusedError extends BrokerError {}

/**
 * In envelope mode, the broker answered outside the TSR/1 envelope: it is a seed broker (or a
 * forwarder) that took the envelope's header for the request. Use plain mode to talk to it.
 */
export class PlainBrokerError extends RequestError {}

/** The typed error for an error answer's text (`<reason> <detail>`). */
export function brokerError(text: string): BrokerError {
  const space = text.indexOf(' ');
  const reason = space < 0 ? text : text.slice(0, space);
  const detail = space < 0 ? '' : text.slice(space + 1);
  if (reason === 'no-service') return new NoServiceError(reason, detail);
  if (reason === 'handler') return new HandlerError(reason, detail);
  if ((ERROR_REASONS as readonly string[]).includes(reason)) return new RefusedError(reason, detail);
  return new BrokerError(reason, detail);
}
