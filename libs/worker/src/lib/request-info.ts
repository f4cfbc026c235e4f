import { type Context, type Span, trace } from '@opentelemetry/api';
import { type Headers, parseMetadata } from '@tsr/protocol';
import { contextWithoutSpan } from '@tsr/telemetry';
import type { RequestInfo } from './options';

/** The reason of a signal aborted at the deadline: what `AbortSignal.timeout` gives. */
export const timeoutReason = (): DOMException => new DOMException('The operation was aborted due to timeout', 'TimeoutError');
export const abortReason = (why: string): DOMException => new DOMException(why, 'AbortError');

/** The headers of a request without metadata: shared, frozen. */
const NO_HEADERS: Headers = Object.freeze(Object.create(null) as Record<string, string>);

/** A checked metadata frame's text ('' for none), as the telemetry functions read it. */
export const metadataText = (frame: Buffer | undefined): string => frame?.toString('latin1') ?? '';

/**
 * One request's turn in the handler, as the handler sees it (RequestInfo). What a handler may not
 * read is made when first read, by getters on the prototype (a turn costs one small object): the
 * headers (parsed from the frame), the deadline, the signal and the context (and a span only where
 * an SDK is registered).
 */
export class RequestTurn implements RequestInfo {
  /** The metadata frame, checked (scanMetadata), or none. */
  readonly #frame: Buffer | undefined;
  /** `performance.now()` at the deadline, and when the handler started. */
  readonly #due: number | undefined;
  readonly #started: number;
  #headers: Headers | undefined;
  readonly #parent: Context | undefined;
  readonly #span: Span | undefined;
  #context: Context | undefined;
  #controller: AbortController | undefined;
  #timer: NodeJS.Timeout | undefined;
  #reason: DOMException | undefined;
  #ended = false;
  /** Until the handler's synchronous start returns: the worker found time left, so the deadline may not abort the signal yet. */
  #starting = true;

  constructor(
    readonly service: string,
    readonly worker: string,
    frame: Buffer | undefined,
    due: number | undefined,
    started: number,
    parent: Context | undefined,
    span: Span | undefined,
  ) {
    this.#frame = frame;
    this.#due = due;
    this.#started = started;
    this.#parent = parent;
    this.#span = span;
  }

  /** The headers, parsed and frozen when first read. */
  get headers(): Headers {
    return (this.#headers ??= Object.freeze(this.#frame ? (parseMetadata(this.#frame) as Headers) : NO_HEADERS));
  }

  get timeoutMs(): number | undefined {
    return this.#due === undefined ? undefined : Math.max(0, Math.floor(this.#due - this.#started));
  }

  /** On `Date.now()`'s clock: the handler's start on it, plus the time that was left then. */
  get deadline(): number | undefined {
    const left = this.timeoutMs;
    return left === undefined ? undefined : Date.now() - Math.floor(performance.now() - this.#started) + left;
  }

  get context(): Context {
    return (this.#context ??=
      this.#parent && this.#span ? trace.setSpan(this.#parent, this.#span) : contextWithoutSpan(metadataText(this.#frame)));
  }
  get signal(): AbortSignal {
    if (this.#controller) return this.#controller.signal;
    const controller = (this.#controller = new AbortController());
    if (this.#reason) controller.abort(this.#reason);
    else if (this.#due !== undefined && !this.#ended) {
      const left = this.#due - performance.now();
      // Read as the handler starts, a deadline that passed since the worker's check fires from a
      // timer, as AbortSignal.timeout's would: a handler is never called with its signal aborted by it.
      if (left <= 0 && !this.#starting) controller.abort(timeoutReason());
      else this.#timer = setTimeout(() => this.abort(timeoutReason()), Math.max(0, left)).unref();
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

  /** Whether `e` is the reason this turn was aborted with (what a handler that gives up rejects with). */
  abortedWith(e: unknown): boolean {
    return this.#reason !== undefined && e === this.#reason;
  }

  /** The handler's synchronous start has returned: from now on a signal first read past the deadline is made aborted. */
  started(): void {
    this.#starting = false;
  }

  /** The handler is done: the deadline is no longer watched. */
  end(): void {
    this.#ended = true;
    clearTimeout(this.#timer);
  }
}
