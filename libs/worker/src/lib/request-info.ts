import { type Context, type Span, trace } from '@opentelemetry/api';
import { type CheckedMetadata, type Headers, metadataHeaders } from '@tsr/protocol';
import { contextWithoutSpan } from '@tsr/telemetry';
import type { RequestInfo } from './options';

/** The reason of a signal aborted at the deadline: what `AbortSignal.timeout` gives. */
export const timeoutReason = (): DOMException => new DOMException('The operation was aborted due to timeout', 'TimeoutError');
export const abortReason = (why: string): DOMException => new DOMException(why, 'AbortError');

/**
 * One request's turn in the handler, as the handler sees it (RequestInfo). The headers, the
 * signal and the context are made when first read: a handler that reads none costs an object (and
 * a span only where an SDK is registered). Private state is in `#` fields, so the object shows (and
 * compares) as its public fields only; `headers` is an own enumerable getter for that reason.
 */
export class RequestTurn implements RequestInfo {
  // Own properties only where the request has a deadline (`declare`: no field defined as undefined).
  declare readonly deadline?: number;
  declare readonly timeoutMs?: number;
  /** `performance.now()` at the deadline. */
  readonly #due: number | undefined;
  declare readonly headers: Headers;
  readonly #metadata: CheckedMetadata;
  #headers: Headers | undefined;
  readonly #parent: Context | undefined;
  readonly #span: Span | undefined;
  #context: Context | undefined;
  #controller: AbortController | undefined;
  #timer: NodeJS.Timeout | undefined;
  #reason: DOMException | undefined;
  #ended = false;

  constructor(
    readonly service: string,
    readonly worker: string,
    metadata: CheckedMetadata,
    due: number | undefined,
    now: number,
    parent: Context | undefined,
    span: Span | undefined,
  ) {
    this.#metadata = metadata;
    Object.defineProperty(this, 'headers', RequestTurn.#headersProperty);
    if (due !== undefined) {
      const self = this as { -readonly [K in 'deadline' | 'timeoutMs']?: number };
      self.timeoutMs = Math.max(0, Math.floor(due - now));
      self.deadline = Date.now() + self.timeoutMs;
    }
    this.#due = due;
    this.#parent = parent;
    this.#span = span;
  }

  /** One accessor for every turn (so they all have one shape): the headers parsed and frozen when first read. */
  static readonly #headersProperty: PropertyDescriptor = {
    enumerable: true,
    configurable: false,
    get(this: RequestTurn): Headers {
      return (this.#headers ??= Object.freeze(metadataHeaders(this.#metadata)));
    },
  };

  get context(): Context {
    return (this.#context ??=
      this.#parent && this.#span ? trace.setSpan(this.#parent, this.#span) : contextWithoutSpan(this.#metadata.text));
  }

  get signal(): AbortSignal {
    if (this.#controller) return this.#controller.signal;
    const controller = (this.#controller = new AbortController());
    if (this.#reason) controller.abort(this.#reason);
    else if (this.#due !== undefined && !this.#ended) {
      const left = this.#due - performance.now();
      if (left <= 0) controller.abort(timeoutReason());
      else this.#timer = setTimeout(() => this.abort(timeoutReason()), left).unref();
    }
    return controller.signal;
  }

  /** Aborts the signal (now, or when it is read) with `reason`, unless the request has ended or was aborted already. */
  abort(reason: DOMException): void {
    if (this.#ended || this.#reason) return;
    this.#reason = reason;
    clearTimeout(this.#timer);
    this.#controller?.abort(reason);
  }

  /** The handler is done: the deadline is no longer watched. */
  end(): void {
    this.#ended = true;
    clearTimeout(this.#timer);
  }
}
