import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ConfigSpec, type OptionSpec, loadConfig, parsers, usage } from './config';
import { ConfigError } from './errors';
import { brokerAddressOptions, brokerAddresses, commonOptions } from './options';

/** A spec like the client's: the seed's positional broker address plus typed extras. */
const spec = {
  ...brokerAddressOptions(9998),
  retries: {
    flag: 'retries',
    env: ['APP_RETRIES'],
    default: 3,
    parse: parsers.int(0, 1000),
    describe: 'retries',
  } satisfies OptionSpec<number>,
  json: { flag: 'json', env: ['APP_JSON'], default: false, parse: parsers.boolean, describe: 'print json' } satisfies OptionSpec<boolean>,
  mode: {
    flag: 'mode',
    env: ['APP_MODE', 'LEGACY_MODE'],
    default: 'fast' as 'fast' | 'slow',
    parse: parsers.oneOf('fast', 'slow'),
    describe: 'speed',
  } satisfies OptionSpec<'fast' | 'slow'>,
  name: { flag: 'name', default: 'anon', parse: parsers.string, describe: 'no env variable' } satisfies OptionSpec<string>,
};

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tsr-config-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Writes `contents` as a dotenv file and returns its path. */
function dotenv(contents: string): string {
  const file = join(dir, `${Math.random().toString(36).slice(2)}.env`);
  writeFileSync(file, contents);
  return file;
}

const load = (argv: string[], env: NodeJS.ProcessEnv = {}, file?: string) => loadConfig(spec, { argv, env, envFile: file });

/** Runs `fn`, expects a ConfigError and returns its message. */
function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    expect(e).toBeInstanceOf(Error);
    expect((e as Error).name).toBe('ConfigError');
    return (e as Error).message;
  }
  throw new Error('expected a ConfigError, nothing was thrown');
}

describe('loadConfig precedence: argv > env > .env file > default', () => {
  it('uses the defaults when no source has a value', () => {
    expect(load([])).toEqual({ brokerHost: '127.0.0.1', brokerPort: 9998, retries: 3, json: false, mode: 'fast', name: 'anon' });
  });

  it('brokerAddressOptions takes its default port from the caller', () => {
    expect(loadConfig(brokerAddressOptions(9999), { argv: [], env: {} })).toEqual({ brokerHost: '127.0.0.1', brokerPort: 9999 });
  });

  it('takes several brokers in --broker-host, each host or host:port; brokerAddresses gives the rest the --broker-port', () => {
    const raw = 'bro-a, 10.0.0.2:7001,[::1]:7002,::1,bro-a:9998,[fd00::3]';
    const { brokerHost, brokerPort } = load(['--broker-host', raw]);
    expect(brokerHost).toBe(raw);
    expect(brokerAddresses(brokerHost, brokerPort)).toEqual([
      { host: 'bro-a', port: 9998 },
      { host: '10.0.0.2', port: 7001 },
      { host: '::1', port: 7002 },
      { host: '::1', port: 9998 },
      { host: 'fd00::3', port: 9998 },
    ]);
    expect(brokerAddresses('tasks.bro', 7000)).toEqual([{ host: 'tasks.bro', port: 7000 }]);
  });

  it.each([
    ['a b', '--broker-host must be a host or host:port, several separated by commas (IPv6 with a port: [::1]:5000), got "a b"'],
    ['bro,', 'got "" in "bro,"'],
    ['bro:1,x:y', 'got "x:y" in "bro:1,x:y"'],
    ['*', 'got "*"'],
    ['bro:99999', '--broker-host: the port of "bro:99999" must be a port number 1-65535, got "99999"'],
    ['bro:', '--broker-host: the port of "bro:" must be a port number 1-65535, got ""'],
    ['[::1', 'got "[::1"'],
  ])('refuses the --broker-host %j naming the bad entry', (raw, message) => {
    expect(() => load(['--broker-host', raw])).toThrow(ConfigError);
    expect(() => load(['--broker-host', raw])).toThrow(message);
  });

  it('a .env file beats the defaults (and values are parsed)', () => {
    const file = dotenv('BROKER_HOST=file-host\nBROKER_PORT=7001\nAPP_RETRIES=5\nAPP_JSON=yes\nAPP_MODE=slow\n');
    expect(load([], {}, file)).toEqual({ brokerHost: 'file-host', brokerPort: 7001, retries: 5, json: true, mode: 'slow', name: 'anon' });
  });

  it('the environment beats the .env file', () => {
    const file = dotenv('BROKER_HOST=file-host\nBROKER_PORT=7001\n');
    expect(load([], { BROKER_HOST: 'env-host', BROKER_PORT: '7002' }, file)).toMatchObject({ brokerHost: 'env-host', brokerPort: 7002 });
    // Per option: an option only the file sets still comes from the file.
    expect(load([], { BROKER_HOST: 'env-host' }, file)).toMatchObject({ brokerHost: 'env-host', brokerPort: 7001 });
  });

  it('a named flag beats the environment and the file', () => {
    const file = dotenv('BROKER_HOST=file-host\nBROKER_PORT=7001\n');
    const env = { BROKER_HOST: 'env-host', BROKER_PORT: '7002' };
    expect(load(['--broker-host', 'argv-host', '--broker-port=7003'], env, file)).toMatchObject({
      brokerHost: 'argv-host',
      brokerPort: 7003,
    });
  });

  it('a positional argument (the seed order: host port) beats the environment and the file', () => {
    const file = dotenv('BROKER_HOST=file-host\nBROKER_PORT=7001\n');
    const env = { BROKER_HOST: 'env-host', BROKER_PORT: '7002' };
    expect(load(['pos-host', '7004'], env, file)).toMatchObject({ brokerHost: 'pos-host', brokerPort: 7004 });
    // Only the first positional given: the port falls through to the environment.
    expect(load(['pos-host'], env, file)).toMatchObject({ brokerHost: 'pos-host', brokerPort: 7002 });
  });

  it('a named flag beats a positional argument for the same option', () => {
    expect(load(['pos-host', '--broker-host', 'named-host'])).toMatchObject({ brokerHost: 'named-host' });
  });

  it('takes the first environment name that is set, in the order the spec lists them', () => {
    expect(load([], { LEGACY_MODE: 'slow' })).toMatchObject({ mode: 'slow' });
    expect(load([], { APP_MODE: 'fast', LEGACY_MODE: 'slow' })).toMatchObject({ mode: 'fast' });
  });

  it('any environment name beats any file name', () => {
    const file = dotenv('APP_MODE=fast\n');
    expect(load([], { LEGACY_MODE: 'slow' }, file)).toMatchObject({ mode: 'slow' });
  });

  it('treats empty environment and file values as unset', () => {
    const file = dotenv('BROKER_HOST=\nBROKER_PORT=7001\n');
    expect(load([], { BROKER_HOST: '', BROKER_PORT: '' }, file)).toMatchObject({ brokerHost: '127.0.0.1', brokerPort: 7001 });
  });

  it('ignores a missing .env file and an undefined one', () => {
    expect(load([], {}, join(dir, 'does-not-exist.env'))).toMatchObject({ brokerHost: '127.0.0.1', brokerPort: 9998 });
    expect(load([], {}, undefined)).toMatchObject({ brokerHost: '127.0.0.1', brokerPort: 9998 });
  });

  it('never reads options without env names from the environment or the file', () => {
    const file = dotenv('name=file\nNAME=file\n');
    expect(load([], { name: 'env', NAME: 'env' }, file)).toMatchObject({ name: 'anon' });
    expect(load(['--name', 'argv'])).toMatchObject({ name: 'argv' });
  });
});

describe('loadConfig command line syntax', () => {
  it('accepts `--flag value` and `--flag=value` alike', () => {
    expect(load(['--retries', '7', '--mode', 'slow'])).toMatchObject({ retries: 7, mode: 'slow' });
    expect(load(['--retries=7', '--mode=slow'])).toMatchObject({ retries: 7, mode: 'slow' });
  });

  it('keeps everything after the first "=" as the value', () => {
    expect(load(['--name=a=b=c'])).toMatchObject({ name: 'a=b=c' });
  });

  it('accepts an empty value with `--flag=`', () => {
    expect(load(['--name='])).toMatchObject({ name: '' });
  });

  it('takes the next argument as the value even when it looks like a flag', () => {
    expect(load(['--name', '--json'])).toMatchObject({ name: '--json', json: false });
  });

  it('lets a boolean flag stand alone, without eating the next argument', () => {
    expect(load(['--json'])).toMatchObject({ json: true });
    expect(load(['--json', 'pos-host', '7005'])).toMatchObject({ json: true, brokerHost: 'pos-host', brokerPort: 7005 });
    expect(load(['pos-host', '--json', '7005'])).toMatchObject({ json: true, brokerHost: 'pos-host', brokerPort: 7005 });
  });

  it('accepts an explicit boolean value with `--flag=value`', () => {
    expect(load(['--json=false'], { APP_JSON: 'true' })).toMatchObject({ json: false });
    expect(load(['--json=on'])).toMatchObject({ json: true });
  });

  it('the last occurrence of a flag wins', () => {
    expect(load(['--retries', '1', '--retries', '2'])).toMatchObject({ retries: 2 });
  });

  it('rejects an unknown option, naming it', () => {
    expect(configError(() => load(['--nope']))).toMatch(/unknown option --nope/);
    expect(configError(() => load(['--nope=1']))).toMatch(/unknown option --nope\b/);
  });

  it('rejects a flag missing its value, naming it', () => {
    expect(configError(() => load(['--broker-port']))).toMatch(/option --broker-port needs a value/);
    expect(configError(() => load(['pos-host', '--retries']))).toMatch(/--retries needs a value/);
  });

  it('rejects more positional arguments than the spec has, naming the extra one', () => {
    expect(configError(() => load(['h', '1', 'extra']))).toMatch(/unexpected argument "extra"/);
    expect(configError(() => loadConfig({ name: spec.name }, { argv: ['stray'], env: {} }))).toMatch(/unexpected argument "stray"/);
  });
});

describe('loadConfig validation errors name the option and its source', () => {
  it.each(['0', '65536', 'abc', '1.5', '-1', '', ' 80', '0x50', '1e3'])('rejects port %p on the command line', (raw) => {
    const msg = configError(() => load([`--broker-port=${raw}`]));
    expect(msg).toContain('--broker-port');
    expect(msg).toContain(`"${raw}"`);
    expect(msg).toMatch(/1-65535/);
  });

  it('rejects a bad positional port under its flag name', () => {
    expect(configError(() => load(['host', '99999']))).toMatch(/^--broker-port must be a port number 1-65535, got "99999"$/);
  });

  it('rejects a bad port from the environment under the variable name', () => {
    expect(configError(() => load([], { BROKER_PORT: '0' }))).toMatch(/^BROKER_PORT must be a port number 1-65535, got "0"$/);
  });

  it('rejects a bad port from the .env file naming the variable and the file', () => {
    const file = dotenv('BROKER_PORT=abc\n');
    const msg = configError(() => load([], {}, file));
    expect(msg).toContain('BROKER_PORT');
    expect(msg).toContain(file);
    expect(msg).toContain('"abc"');
  });

  it('does not validate values that lower-precedence sources would have given', () => {
    const file = dotenv('BROKER_PORT=abc\n');
    expect(load(['--broker-port', '80'], { BROKER_PORT: 'xyz' }, file)).toMatchObject({ brokerPort: 80 });
  });

  it.each(['-1', '1001', '2.5', 'ten', '1e2', ''])('rejects retries %p outside int(0, 1000)', (raw) => {
    const msg = configError(() => load([`--retries=${raw}`]));
    expect(msg).toContain('--retries');
    expect(msg).toMatch(/integer 0-1000/);
  });

  it('rejects an invalid host, naming the option', () => {
    for (const raw of ['bad host', '-lead', 'trail-', 'tcp://x', 'a/b', '[x]:1', '']) {
      expect(configError(() => load([`--broker-host=${raw}`]))).toContain('--broker-host');
    }
    expect(configError(() => load([], { BROKER_HOST: 'no way' }))).toContain('BROKER_HOST');
  });

  it('rejects a value outside oneOf, listing the choices', () => {
    expect(configError(() => load(['--mode', 'medium']))).toBe('--mode must be one of fast, slow, got "medium"');
    expect(configError(() => load([], { LEGACY_MODE: 'FAST' }))).toContain('LEGACY_MODE');
  });

  it('rejects a non-boolean for a boolean flag', () => {
    expect(configError(() => load(['--json=maybe']))).toContain('--json');
    expect(configError(() => load([], { APP_JSON: 'maybe' }))).toContain('APP_JSON');
  });

  it('validates the shared log option against the levels', () => {
    const log = { log: commonOptions.log };
    expect(loadConfig(log, { argv: ['--log', 'trace'], env: {} })).toEqual({ log: 'trace' });
    expect(loadConfig(log, { argv: [], env: { TSR_LOG: 'error' } })).toEqual({ log: 'error' });
    expect(configError(() => loadConfig(log, { argv: [], env: { TSR_LOG: 'loud' } }))).toContain('TSR_LOG');
  });
});

describe('parsers', () => {
  it('port accepts 1 and 65535', () => {
    expect(parsers.port('1', 'p')).toBe(1);
    expect(parsers.port('65535', 'p')).toBe(65535);
  });

  it('int honours both bounds, negative minimums and the default maximum', () => {
    const p = parsers.int(-5, 5);
    expect(p('-5', 'n')).toBe(-5);
    expect(p('5', 'n')).toBe(5);
    expect(() => p('6', 'n')).toThrow(ConfigError);
    expect(() => p('-6', 'n')).toThrow(ConfigError);
    expect(parsers.int(0)(String(Number.MAX_SAFE_INTEGER), 'n')).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('host accepts names, IPv4, IPv6 and "*"', () => {
    for (const h of ['localhost', 'a', 'broker.example.com', 'my_host-1', '10.0.0.1', '::1', 'fe80::1', '*']) {
      expect(parsers.host(h, 'h')).toBe(h);
    }
  });

  it('boolean knows the usual spellings, case-insensitively', () => {
    for (const t of ['1', 'true', 'YES', 'On']) expect(parsers.boolean(t, 'b')).toBe(true);
    for (const f of ['0', 'false', 'NO', 'Off']) expect(parsers.boolean(f, 'b')).toBe(false);
    expect(() => parsers.boolean('', 'b')).toThrow(ConfigError);
  });

  it('string keeps the text as it is', () => {
    expect(parsers.string(' x ')).toBe(' x ');
  });
});

describe('usage', () => {
  const text = usage('client', spec);
  const lines = text.split('\n');

  it('starts with the program and its positional arguments in order', () => {
    expect(lines[0]).toBe('usage: client [broker-host] [broker-port] [options]');
  });

  it('lists every flag with its description, env names and default', () => {
    expect(lines).toHaveLength(Object.keys(spec).length + 3); // the usage line, --help and --version
    const line = (flag: string) => lines.find((l) => l.trimStart().startsWith(`--${flag} `)) ?? '';
    expect(line('broker-host')).toContain('(env BROKER_HOST)');
    expect(line('broker-host')).toContain('default "127.0.0.1"');
    expect(line('broker-port')).toContain('(env BROKER_PORT)');
    expect(line('broker-port')).toContain('default 9998');
    expect(line('mode')).toContain('(env APP_MODE, LEGACY_MODE)');
    expect(line('json')).toContain('print json');
    expect(line('json')).toContain('default false');
    expect(line('name')).not.toContain('(env');
    expect(line('help')).toContain('print this text');
    expect(line('version')).toContain('print the release');
  });

  it('aligns every description after the longest flag, and says what a derived default or a size means', () => {
    const s: ConfigSpec = {
      short: { flag: 'a', default: 1, parse: parsers.int(0), describe: 'short' },
      long: { flag: 'a-rather-long-flag-name', default: 0, defaultMeans: 'half of --a', parse: parsers.int(0), describe: 'long' },
      size: { flag: 'size', default: 4 * 1024 * 1024, parse: parsers.int(0), describe: 'bytes' },
    };
    const rows = usage('x', s).split('\n').slice(1);
    const descriptionAt = (row: string) => /^ {2}--\S+ +/.exec(row)?.[0].length;
    expect(new Set(rows.map(descriptionAt))).toEqual(new Set(['  --a-rather-long-flag-name  '.length]));
    expect(rows[1]).toBe('  --a-rather-long-flag-name  long; default 0 (half of --a)');
    expect(rows[2]).toMatch(/^ {2}--size {21}bytes; default 4194304 \(4 MiB\)$/);
  });

  it('omits the positional part when there are none', () => {
    const s: ConfigSpec = { name: spec.name };
    expect(usage('x', s).split('\n')[0]).toBe('usage: x [options]');
  });
});
