import { existsSync, readFileSync } from 'node:fs';
import { parse as parseDotenv } from 'dotenv';
import { splitCommandLine } from './argv';
import { ConfigError } from './errors';

/** One parameter: where it may come from and how its text becomes a value. */
export interface OptionSpec<T> {
  /** `--flag value` or `--flag=value` on the command line. */
  flag: string;
  /** Index among the positional arguments (the seed's `lineaOrdenes` order). */
  positional?: number;
  /** Environment (and `.env`) variable names, first match wins. */
  env?: readonly string[];
  default: T;
  /** What the default means where the value alone does not say (`0` standing for one derived from other options). */
  defaultMeans?: string;
  parse: (raw: string, name: string) => T;
  describe: string;
}

const MiB = 1024 * 1024;

/** What a default means where its value alone does not say: `defaultMeans`, or a size in MiB. */
export function defaultMeaning(o: Pick<OptionSpec<unknown>, 'defaultMeans'>, value: unknown): string | undefined {
  if (o.defaultMeans) return o.defaultMeans;
  if (typeof value === 'number' && value >= MiB && value % MiB === 0) return `${value / MiB} MiB`;
  return undefined;
}

/** A default as `--help` says it: the value, then what it means. */
export function defaultText(o: Pick<OptionSpec<unknown>, 'default' | 'defaultMeans'>, value: unknown = o.default): string {
  const meaning = defaultMeaning(o, value);
  return `${JSON.stringify(value)}${meaning ? ` (${meaning})` : ''}`;
}

export type ConfigSpec = Record<string, OptionSpec<unknown>>;
export type ConfigOf<S extends ConfigSpec> = { [K in keyof S]: S[K] extends OptionSpec<infer T> ? T : never };

export interface ConfigSources {
  argv: readonly string[];
  env: NodeJS.ProcessEnv;
  /** Path of a dotenv file; read only if it exists. */
  envFile?: string;
}

const truthy = new Set(['1', 'true', 'yes', 'on']);
const falsy = new Set(['0', 'false', 'no', 'off']);

/** Parsers for the value types the programs take. */
export const parsers = {
  string: (raw: string) => raw,
  port(raw: string, name: string): number {
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n < 1 || n > 65535) throw new ConfigError(`${name} must be a port number 1-65535, got "${raw}"`);
    return n;
  },
  host(raw: string, name: string): string {
    // Hostnames, IPv4 and bracketless IPv6 literals; '*' binds every interface.
    if (raw === '*' || /^[A-Za-z0-9]([A-Za-z0-9.\-_]*[A-Za-z0-9])?$/.test(raw) || /^[0-9a-fA-F:]+$/.test(raw)) return raw;
    throw new ConfigError(`${name} must be a host name or address, got "${raw}"`);
  },
  int(min: number, max = Number.MAX_SAFE_INTEGER) {
    return (raw: string, name: string): number => {
      const n = Number(raw);
      if (!/^-?\d+$/.test(raw) || n < min || n > max) throw new ConfigError(`${name} must be an integer ${min}-${max}, got "${raw}"`);
      return n;
    };
  },
  boolean(raw: string, name: string): boolean {
    const v = raw.toLowerCase();
    if (truthy.has(v)) return true;
    if (falsy.has(v)) return false;
    throw new ConfigError(`${name} must be true or false, got "${raw}"`);
  },
  oneOf<T extends string>(...choices: T[]) {
    return (raw: string, name: string): T => {
      if ((choices as string[]).includes(raw)) return raw as T;
      throw new ConfigError(`${name} must be one of ${choices.join(', ')}, got "${raw}"`);
    };
  },
};

/**
 * Resolves every option of `spec` with the 12-factor precedence:
 * command line (named flag or positional) > environment > `.env` file > default.
 */
export function loadConfig<S extends ConfigSpec>(spec: S, sources: ConfigSources): ConfigOf<S> {
  const flags = new Map(
    Object.values(spec).map((o) => [o.flag, typeof o.default === 'boolean' ? ('boolean' as const) : ('string' as const)]),
  );
  const { named, positionals } = splitCommandLine(flags, sources.argv);
  const fileEnv = sources.envFile && existsSync(sources.envFile) ? parseDotenv(readFileSync(sources.envFile)) : {};
  const maxPositional = Math.max(-1, ...Object.values(spec).map((o) => o.positional ?? -1));
  if (positionals.length > maxPositional + 1) {
    throw new ConfigError(`unexpected argument "${positionals[maxPositional + 1]}" (see --help)`);
  }
  const out: Record<string, unknown> = {};
  for (const [key, opt] of Object.entries(spec)) {
    const fromArgv = named.get(opt.flag) ?? (opt.positional === undefined ? undefined : positionals[opt.positional]);
    const envName = opt.env?.find((n) => sources.env[n] !== undefined && sources.env[n] !== '');
    const fileName = opt.env?.find((n) => fileEnv[n] !== undefined && fileEnv[n] !== '');
    if (fromArgv !== undefined) out[key] = opt.parse(fromArgv, `--${opt.flag}`);
    else if (envName) out[key] = opt.parse(sources.env[envName] as string, envName);
    else if (fileName) out[key] = opt.parse(fileEnv[fileName], `${fileName} (from ${sources.envFile})`);
    else out[key] = opt.default;
  }
  return out as ConfigOf<S>;
}

/** Usage text generated from the spec, for `--help`. */
export function usage(program: string, spec: ConfigSpec): string {
  const pos = Object.values(spec)
    .filter((o) => o.positional !== undefined)
    .sort((a, b) => (a.positional ?? 0) - (b.positional ?? 0))
    .map((o) => `[${o.flag}]`);
  const width = Math.max(...Object.values(spec).map((o) => o.flag.length), 'version'.length);
  const line = (flag: string, text: string) => `  --${flag.padEnd(width)}  ${text}`;
  const lines = Object.values(spec).map((o) => {
    const env = o.env?.length ? ` (env ${o.env.join(', ')})` : '';
    return line(o.flag, `${o.describe}${env}; default ${defaultText(o)}`);
  });
  return [
    `usage: ${[program, ...pos].join(' ')} [options]`,
    ...lines,
    line('help', 'print this text'),
    line('version', 'print the release'),
  ].join('\n');
}
