import { hostname } from 'node:os';

/**
 * Verbosity, from quietest to loudest: `error` the program cannot do its job as asked; `warn`
 * something went wrong that it recovers from (a broker unreachable, a peer that broke the protocol);
 * `info` what it does; `debug` every connection made and lost; `trace` every protocol step (the
 * seed's `traza`).
 */
export const levels = ['silent', 'error', 'warn', 'info', 'debug', 'trace'] as const;
export type Level = (typeof levels)[number];

export interface Tracer {
  readonly level: Level;
  /** True when `step` prints: hot paths test it before building the values to trace. */
  readonly tracing: boolean;
  /** `step(step, 'name1 name2', [v1, v2])`, the seed's `traza`: which protocol step ran, with which values. */
  step(step: string, names: string, values: readonly unknown[]): void;
  /** `fields`: the same facts as values, for JSON lines (a text line says them in `message`). */
  info(message: string, fields?: Record<string, unknown>): void;
  /** `cause`: the error behind it, whose name, code and stack a JSON line carries. */
  error(message: string, cause?: unknown): void;
  warn(message: string, cause?: unknown): void;
  debug(message: string, fields?: Record<string, unknown>): void;
}

/** An error as a JSON log line carries it: name, message, errno code where there is one, stack. */
export function errorFields(cause: unknown): Record<string, unknown> {
  if (!(cause instanceof Error)) return { message: String(cause) };
  const { code } = cause as NodeJS.ErrnoException;
  return { name: cause.name, message: cause.message, ...(code === undefined ? {} : { code }), stack: cause.stack };
}

export type Sink = (line: string) => void;

/** `text`: the seed's lines, for people; `json`: one object per line, for log collectors. */
export const logFormats = ['text', 'json'] as const;
export type LogFormat = (typeof logFormats)[number];

/** Default level: `TSR_LOG` when set, silent under Jest, else info. */
export function defaultLevel(env: NodeJS.ProcessEnv = process.env): Level {
  const wanted = env['TSR_LOG'];
  if (wanted && (levels as readonly string[]).includes(wanted)) return wanted as Level;
  return env['JEST_WORKER_ID'] ? 'silent' : 'info';
}

const show = (v: unknown): string => {
  if (Buffer.isBuffer(v)) return JSON.stringify(v.toString('latin1'));
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v); // bigint, circular objects: tracing must never throw
  }
};

export function createTracer(
  component: string,
  level: Level = defaultLevel(),
  out: Sink = (l) => process.stdout.write(l + '\n'),
  err: Sink = (l) => process.stderr.write(l + '\n'),
  format: LogFormat = 'text',
  instance: string = hostname(),
): Tracer {
  // Decided once: these are read on every message.
  const rank = levels.indexOf(level);
  const [errors, warnings, infos, debugs, tracing] = [1, 2, 3, 4, 5].map((r) => rank >= r);
  const json = (sink: Sink, lvl: string, fields: Record<string, unknown>) =>
    sink(
      JSON.stringify(
        { time: new Date().toISOString(), level: lvl, program: component, instance, pid: process.pid, ...fields },
        (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v),
      ),
    );
  /** One message: info and debug go to `out` with their fields, warn and error to `err` with their cause. */
  const line = (sink: Sink, lvl: Level, message: string, extra: Record<string, unknown> | undefined, prefix: string) => {
    if (format === 'json') json(sink, lvl, extra ? { msg: message, ...extra } : { msg: message });
    else sink(`[${component}] ${prefix}${message}`);
  };
  const withCause = (cause: unknown) => (cause === undefined ? undefined : { error: errorFields(cause) });
  return {
    level,
    tracing,
    step(step, names, values) {
      if (!tracing) return;
      const keys = names.split(/\s+/);
      if (format === 'json') {
        const fields: Record<string, unknown> = {};
        keys.forEach((n, i) => (fields[n] = Buffer.isBuffer(values[i]) ? (values[i] as Buffer).toString('latin1') : values[i]));
        return json(out, 'trace', { step, fields });
      }
      out(`[${component}] ${step}: ${keys.map((n, i) => `${n}=${show(values[i])}`).join(' ')}`);
    },
    info(message, fields) {
      if (infos) line(out, 'info', message, fields && { fields }, '');
    },
    debug(message, fields) {
      if (debugs) line(out, 'debug', message, fields && { fields }, 'debug: ');
    },
    warn(message, cause) {
      if (warnings) line(err, 'warn', message, withCause(cause), 'warning: ');
    },
    error(message, cause) {
      if (errors) line(err, 'error', message, withCause(cause), 'error: ');
    },
  };
}

/** The tracer a program's options ask for (`--log`, `--log-format`). */
export const programTracer = (component: string, config: { log: Level; logFormat: LogFormat }, instance?: string): Tracer =>
  createTracer(component, config.log, undefined, undefined, config.logFormat, instance);
