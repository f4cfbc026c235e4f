import { parseArgs } from 'node:util';
import { ConfigError } from './errors';

/** What the command line says, before precedence and parsing: `--flag value` pairs and positionals. */
export interface CommandLine {
  named: Map<string, string>;
  positionals: string[];
}

/**
 * Splits argv with Node's `util.parseArgs`: `--flag value`, `--flag=value`, booleans standing
 * alone (`--json`) or with a value (`--json=false`), `--` ending the options. Non-strict mode, so
 * that a boolean's inline value and a value that looks like a flag (`--retries -1`) reach the
 * option's own parser; unknown options and missing values are reported here as ConfigErrors.
 */
export function splitCommandLine(flags: ReadonlyMap<string, 'string' | 'boolean'>, argv: readonly string[]): CommandLine {
  const options = Object.fromEntries([...flags].map(([flag, type]) => [flag, { type }]));
  const { tokens } = parseArgs({ args: [...argv], options, strict: false, allowPositionals: true, tokens: true });
  const named = new Map<string, string>();
  const positionals: string[] = [];
  for (const token of tokens) {
    if (token.kind === 'positional') positionals.push(token.value);
    if (token.kind !== 'option') continue;
    const type = flags.get(token.name);
    if (!type) throw new ConfigError(`unknown option ${token.rawName} (see --help)`);
    const value = token.value ?? (type === 'boolean' ? 'true' : undefined);
    if (value === undefined) throw new ConfigError(`option ${token.rawName} needs a value`);
    named.set(token.name, value);
  }
  return { named, positionals };
}
