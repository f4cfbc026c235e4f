import { type Context, type Span, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { ATTR, MESSAGING_SYSTEM, contextFromMetadata, tracer } from '@tsr/telemetry';
import { type Departure, FAILURE_TEXT } from './broker-core-shapes';

/**
 * A request's spans at the broker (OpenTelemetry; only when the program registered an SDK): its
 * wait in the queue, `queue <service>`, and each dispatch to a worker, `dispatch <service>`, both
 * children of the client's attempt that its `traceparent` names (a root of their own for a request
 * without one). A dispatch's context is what the worker is sent, so the worker's span is its child.
 * A request whose worker fails waits again: a second `queue` span, then a second dispatch.
 */
export class RequestSpans {
  private readonly parent: Context;
  private queue: Span | undefined;
  private dispatch: Span | undefined;

  constructor(
    private readonly service: string,
    /** Its metadata's text (checked; '' for none). */
    metadata: string,
    private readonly id: Buffer | undefined,
    private readonly size: number,
    private readonly timeoutMs: number | undefined,
  ) {
    this.parent = contextFromMetadata(metadata);
    this.waiting();
  }

  /** It (again) waits for a worker. */
  waiting(): void {
    this.queue = tracer().startSpan(`queue ${this.service}`, { kind: SpanKind.CONSUMER }, this.parent);
    if (!this.queue.isRecording()) return;
    this.queue.setAttributes(this.common('receive'));
    if (this.timeoutMs !== undefined) this.queue.setAttribute(ATTR.timeoutMs, this.timeoutMs);
  }

  /** Sent to `worker` (its `dispatch`-th time): the span whose context the worker is given. */
  dispatched(worker: string, dispatch: number): Span {
    end(this.queue, 'dispatched');
    this.queue = undefined;
    const span = tracer().startSpan(`dispatch ${this.service}`, { kind: SpanKind.PRODUCER }, this.parent);
    if (span.isRecording()) {
      span.setAttributes(this.common('send'));
      span.setAttribute(ATTR.worker, printable(worker));
      span.setAttribute(ATTR.dispatch, dispatch);
    }
    this.dispatch = span;
    return span;
  }

  /** Its worker left holding it: the dispatch failed (unless the worker said goodbye), and it waits again or ends. */
  moved(why: Departure): void {
    end(this.dispatch, why === 'gone' ? 'worker-gone' : `worker-${why}`, why === 'gone' ? undefined : `its worker ${FAILURE_TEXT[why]}`);
    this.dispatch = undefined;
    this.waiting();
  }

  /** How it ended: `reply`, or a reason (a refusal's, `handler`, `deadline`) with what went wrong. */
  ended(outcome: string, error?: string): void {
    end(this.queue, outcome, error);
    end(this.dispatch, outcome, error);
    this.queue = this.dispatch = undefined;
  }

  private common(operation: string) {
    return {
      [ATTR.system]: MESSAGING_SYSTEM,
      [ATTR.operationType]: operation,
      [ATTR.destination]: this.service,
      [ATTR.bodySize]: this.size,
      ...(this.id ? { [ATTR.messageId]: this.id.toString('hex') } : {}),
    };
  }
}

function end(span: Span | undefined, outcome: string, error?: string): void {
  if (!span) return;
  if (span.isRecording()) {
    span.setAttribute(ATTR.outcome, outcome);
    if (error !== undefined) {
      span.setAttribute(ATTR.errorType, outcome);
      span.setStatus({ code: SpanStatusCode.ERROR, message: error });
    }
  }
  span.end();
}

/** A routing id as an attribute: text when it is printable, else hex. */
const printable = (id: string): string => (/^[\x20-\x7e]+$/.test(id) ? id : `0x${Buffer.from(id, 'latin1').toString('hex')}`);
