/**
 * The client's spans, with OpenTelemetry's API alone (whatever SDK the program registers, or none):
 * `request <service>` (CLIENT) from `request()` to its end, and under it one `send <service>`
 * (PRODUCER) per attempt, whose context the attempt's metadata carries, so that the broker's and
 * the worker's spans are its children. Without an SDK the spans record nothing, and nothing is
 * built for them: no attributes, no attempt spans.
 */
import { ROOT_CONTEXT, type Span, SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api';
import { ATTR, MESSAGING_SYSTEM, tracer } from '@tsr/telemetry';
import { BrokerError } from './errors';

/** How a request (or an attempt) ended; `moved`: an attempt left behind when the requests in flight moved to a new connection. */
export type Outcome = 'reply' | 'error' | 'timeout' | 'aborted' | 'closed' | 'moved';

/** The span of a request made now, its parent the active context's. */
export function requestSpan(service: string, bodyBytes: number, budgetMs: number): Span {
  const span = tracer().startSpan(`request ${service}`, { kind: SpanKind.CLIENT }, context.active());
  if (span.isRecording()) {
    span.setAttributes({
      [ATTR.system]: MESSAGING_SYSTEM,
      [ATTR.operationType]: 'send',
      [ATTR.operationName]: 'request',
      [ATTR.destination]: service,
      [ATTR.bodySize]: bodyBytes,
    });
    if (budgetMs > 0) span.setAttribute(ATTR.timeoutMs, budgetMs);
  }
  return span;
}

/** The span of attempt `attempt` of the request of `parent`; the request's own span when that one records nothing (it carries the same trace, if any). */
export function attemptSpan(parent: Span, service: string, id: Buffer, attempt: number): Span {
  if (!parent.isRecording()) return parent;
  return tracer().startSpan(
    `send ${service}`,
    {
      kind: SpanKind.PRODUCER,
      attributes: {
        [ATTR.system]: MESSAGING_SYSTEM,
        [ATTR.operationType]: 'send',
        [ATTR.operationName]: 'send',
        [ATTR.destination]: service,
        [ATTR.messageId]: id.toString('hex'),
        [ATTR.attempt]: attempt,
      },
    },
    trace.setSpan(ROOT_CONTEXT, parent),
  );
}

/** Ends `span` as `outcome` says: OK for a reply, ERROR with the error's message for a failure, unset for a move. */
export function endSpan(span: Span, outcome: Outcome, error?: unknown): void {
  if (span.isRecording()) {
    span.setAttribute(ATTR.outcome, outcome);
    if (outcome === 'reply') span.setStatus({ code: SpanStatusCode.OK });
    else if (outcome !== 'moved') {
      if (outcome === 'error') span.setAttribute(ATTR.errorType, error instanceof BrokerError ? error.reason : errorName(error));
      span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
    }
  }
  span.end();
}

/** Ends an attempt's span that got no answer within `timeoutMs`. */
export function endTimedOut(span: Span, timeoutMs: number): void {
  if (span.isRecording()) {
    span.setAttribute(ATTR.outcome, 'timeout');
    span.setStatus({ code: SpanStatusCode.ERROR, message: `no answer within ${timeoutMs} ms` });
  }
  span.end();
}

const errorName = (error: unknown): string => (error instanceof Error ? error.name : typeof error);
