import type { Context } from '@opentelemetry/api';
import { DEFAULT_SERVICE, type Headers, MAX_CREDIT, serviceNameProblem } from '@tsr/protocol';
import { type BrokerAddresses, type BrokerSetOptions, type CurvePeerKeys, uniqueIdentity } from '@tsr/runtime';

/** What a handler is told about the request it serves (one object per request). */
export interface RequestInfo {
  /** The service this worker serves. */
  readonly service: string;
  /** This worker's identity (its routing id at the broker). */
  readonly worker: string;
  /**
   * The request's headers, as the client gave them (names lowercase), with the broker's
   * `timeout-ms` and the trace's `traceparent`/`tracestate`; frozen, `{}` when it has none (a
   * broker that does not forward metadata, a client that sent none).
   */
  readonly headers: Headers;
  /** When the client stops waiting, epoch ms (`Date.now()`'s clock); undefined when the request carries no timeout. */
  readonly deadline?: number;
  /** The ms left until `deadline` when the handler started; undefined when the request carries no timeout. */
  readonly timeoutMs?: number;
  /**
   * Aborted at the deadline (reason: a `DOMException` named `TimeoutError`, as `AbortSignal.timeout`
   * gives), when the worker closes, and when the connection the request came on is lost (its
   * answer would be dropped): both `AbortError`. Made when first read, so a handler that never
   * reads it costs nothing. A handler is only called with time left, and never sees its signal
   * aborted by the deadline before its synchronous start returns (it fires from a timer then, as
   * `AbortSignal.timeout`'s does); first read later, past the deadline, it is already aborted.
   */
  readonly signal: AbortSignal;
  /**
   * The OpenTelemetry context of this request, with the worker's `process <service>` span active
   * in it (a child of the client's or the broker's span): continue the trace with
   * `tracer.startSpan(name, {}, info.context)` or `context.with(info.context, …)`. When the
   * worker's span records, the handler already runs inside it.
   */
  readonly context: Context;
}

/**
 * The service's code: the answer to `request` (a `Uint8Array` or `Buffer` as it is, a string as UTF-8). It may answer at once or
 * return a promise. If it throws or rejects, the client gets an error answer with the error's
 * message (`TSR/1 ERR handler …`) and the worker serves on.
 */
export type Handler = (request: Buffer, info: RequestInfo) => Uint8Array | string | Promise<Uint8Array | string>;

/** Where the worker says what it does; `step` is called for every request taken when `tracing` is true. */
export interface WorkerLogger {
  info(message: string): void;
  /** `cause`: the error behind the message, where there is one (a handler's, a failed dial's). */
  error(message: string, cause?: unknown): void;
  /** What went wrong and is being recovered from (a broker unreachable or silent, a message that broke the protocol); without it, `error` says it. */
  warn?(message: string, cause?: unknown): void;
  /** Each connection made and lost; without it, nothing says them. */
  debug?(message: string): void;
  readonly tracing?: boolean;
  /** `step(step, 'name1 name2', [v1, v2])`: which protocol step ran, with which values (the worker's: each request it takes). */
  step?(step: string, names: string, values: readonly unknown[]): void;
}

export interface ServeOptions extends BrokerSetOptions {
  /**
   * The brokers' backends: one (`tcp://host:port`, `host:port` or `{ host, port }`) or several (a
   * list, or `host:port,host:port`); a name that resolves to several addresses is several brokers
   * (looked up again every `resolveIntervalMs`). The worker serves them all, its credit shared.
   */
  broker: BrokerAddresses;
  /** The service served (1-64 letters, digits, `. _ : -`); default `default`, the seed's one service. */
  service?: string;
  handler: Handler;
  /** Requests the broker may send ahead, queued here and served in order (1-1000); default 1. */
  credit?: number;
  /** ms between heartbeats, once the broker has shown it speaks TSR/1; default 1000. */
  heartbeat?: number;
  /** Heartbeat intervals of broker silence after which the worker reconnects; default 3. */
  liveness?: number;
  /** The worker's routing id; default `W <hostname>-<pid>-<n>`, unique per process. */
  identity?: string;
  /** Default: silent. */
  logger?: WorkerLogger;
  /**
   * ms `close()` waits for the handler in flight to settle after aborting its signal (0-60000;
   * default 2000): a reply it makes by then is sent, a handler still running then is left behind.
   */
  drainMs?: number;
  /**
   * CURVE (encryption and authentication): the broker's public key and this worker's key pair, Z85
   * (its public key must be in the broker's allow-list). Default: none, plain TCP as the seed.
   */
  curve?: CurvePeerKeys;
  /**
   * Called after each answer of a handler with the seconds spent, from taking the request up to
   * answering (not for a request skipped because its deadline passed before its turn).
   */
  onServed?: (seconds: number, outcome: 'reply' | 'failure') => void;
  /**
   * The worker's receive loop failed: it can no longer serve and has stopped. Default: the error
   * is thrown (an uncaught exception), so that a supervisor restarts the process.
   */
  onFatal?: (error: Error) => void;
}

/** Options with every default applied and validated. */
export interface WorkerSettings extends Required<Omit<ServeOptions, 'onServed' | 'onFatal' | 'curve' | keyof BrokerSetOptions>> {
  brokerSet: BrokerSetOptions;
  onServed?: ServeOptions['onServed'];
  curve?: CurvePeerKeys;
  onFatal: (error: Error) => void;
}

const silent: WorkerLogger = { info: () => {}, error: () => {} };

function integer(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max)
    throw new RangeError(`${name} must be an integer ${min}-${max}, got ${value}`);
  return value;
}

/** A routing id of its own: the broker refuses ids shaped like the ones a ROUTER generates (a leading zero byte). */
function identity(id: string): string {
  const bytes = Buffer.byteLength(id);
  if (bytes === 0 || bytes > 255 || id.charCodeAt(0) === 0)
    throw new TypeError(`identity must be 1-255 bytes not starting with a zero byte, got ${JSON.stringify(id)}`);
  return id;
}

/** Applies the defaults; throws a TypeError or RangeError that says what is wrong. */
export function workerSettings(o: ServeOptions): WorkerSettings {
  if (typeof o.handler !== 'function') throw new TypeError('handler must be a function (request, info) => answer');
  const service = o.service ?? DEFAULT_SERVICE;
  const problem = serviceNameProblem(service);
  if (problem) throw new TypeError(problem);
  return {
    broker: o.broker,
    brokerSet: { resolveIntervalMs: o.resolveIntervalMs, lookup: o.lookup },
    service,
    handler: o.handler,
    credit: integer('credit', o.credit ?? 1, 1, MAX_CREDIT),
    heartbeat: integer('heartbeat', o.heartbeat ?? 1000, 10, 3_600_000),
    liveness: integer('liveness', o.liveness ?? 3, 1, 100),
    identity: identity(o.identity ?? uniqueIdentity('W')),
    logger: o.logger ?? silent,
    drainMs: integer('drainMs', o.drainMs ?? 2000, 0, 60_000),
    onServed: o.onServed,
    curve: o.curve,
    onFatal:
      o.onFatal ??
      ((error) => {
        throw error;
      }),
  };
}
