import { type ConfigOf, type ConfigSpec, loadConfig, usage } from './config';
import { ConfigError } from './errors';
import { VERSION } from './version';

/** Exit codes shared by the three programs. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

const oneLine = (e: unknown) => (e instanceof Error ? e.message : String(e)).split('\n')[0];

/** Prints one line (never a stack trace) and exits: 2 for bad input, 1 for anything else, unless `code` says otherwise. */
export function fail(program: string, e: unknown, code: number = e instanceof ConfigError ? EXIT.usage : EXIT.failure): never {
  process.stderr.write(`${program}: ${code === EXIT.usage ? '' : 'error: '}${oneLine(e)}\n`);
  process.exit(code);
}

/**
 * Entry point of a program: reads its configuration (argv > env > `.env` > defaults, `--help`,
 * `--version`), runs it, and turns every failure into a one-line message and an exit code.
 */
export function runProgram<S extends ConfigSpec>(program: string, spec: S, main: (config: ConfigOf<S>) => Promise<void> | void): void {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(usage(program, spec) + '\n');
    process.exit(EXIT.ok);
  }
  if (argv.includes('--version')) {
    process.stdout.write(`${program} ${VERSION}\n`);
    process.exit(EXIT.ok);
  }
  process.on('uncaughtException', (e) => fail(program, e));
  process.on('unhandledRejection', (e) => fail(program, e));
  try {
    const config = loadConfig(spec, { argv, env: process.env, envFile: process.env['TSR_ENV_FILE'] ?? '.env' });
    Promise.resolve(main(config)).catch((e) => fail(program, e));
  } catch (e) {
    fail(program, e);
  }
}
