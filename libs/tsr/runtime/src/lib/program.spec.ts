import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixtureOptions } from './__fixtures__/fixture-options';
import { emptyDir, runFixture } from './__fixtures__/run-fixture';
import { usage } from './config';
import { ConfigError } from './errors';
import { EXIT, fail } from './program';
import { VERSION } from './version';

describe('fail (in process, exit and stderr mocked)', () => {
  let exit: jest.SpiedFunction<typeof process.exit>;
  let stderr: jest.SpiedFunction<typeof process.stderr.write>;
  beforeEach(() => {
    exit = jest.spyOn(process, 'exit').mockImplementation((() => undefined) as never);
    stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  });
  afterEach(() => {
    exit.mockRestore();
    stderr.mockRestore();
  });

  it('a ConfigError is bad input: its message alone, exit 2', () => {
    fail('broker', new ConfigError('--port must be a port number 1-65535, got "0"'));
    expect(stderr.mock.calls).toEqual([['broker: --port must be a port number 1-65535, got "0"\n']]);
    expect(exit).toHaveBeenCalledWith(EXIT.usage);
  });

  it('anything else is a failure: "error:" and the first line only, exit 1', () => {
    fail('worker', new Error('socket died\n    at Socket.receive (x.js:1:1)'));
    expect(stderr.mock.calls).toEqual([['worker: error: socket died\n']]);
    expect(exit).toHaveBeenCalledWith(1);
  });

  it('exits with the code the program chose, if it chose one', () => {
    fail('client', new Error('no worker serves "x"'), 3);
    expect(stderr.mock.calls).toEqual([['client: error: no worker serves "x"\n']]);
    expect(exit).toHaveBeenCalledWith(3);
  });

  it('copes with thrown non-errors', () => {
    fail('client', 42);
    expect(stderr.mock.calls).toEqual([['client: error: 42\n']]);
    expect(exit).toHaveBeenCalledWith(1);
  });
});

/** The fixture's stderr must be one line: no stack trace, no Node banner. */
function expectOneLine(stderr: string, line: string) {
  expect(stderr).toBe(`${line}\n`);
  expect(stderr).not.toMatch(/^\s+at /m);
}

describe('runProgram in a real process', () => {
  jest.setTimeout(30_000);

  // The child inherits JEST_WORKER_ID (and no TSR_LOG), so its log default is 'silent'.
  const expectedUsage = usage('fixture', { ...fixtureOptions, log: { ...fixtureOptions.log, default: 'silent' } }) + '\n';

  it('--version prints the release on stdout and exits 0 without running main', async () => {
    const run = await runFixture(['--version'], { env: { FIXTURE_MODE: 'throw' } });
    expect(run).toEqual({ code: 0, signal: null, stdout: `fixture ${VERSION}\n`, stderr: '' });
  });

  it('--help prints the usage on stdout and exits 0 without running main', async () => {
    const run = await runFixture(['--help'], { env: { FIXTURE_MODE: 'throw' } });
    expect(run).toEqual({ code: 0, signal: null, stdout: expectedUsage, stderr: '' });
    expect(run.stdout).toMatch(/^usage: fixture \[broker-host\] \[broker-port\] \[options\]\n/);
    for (const text of ['--broker-host', '(env BROKER_HOST)', '(env BROKER_PORT)', '--verbose', '(env TSR_LOG)', '--help']) {
      expect(run.stdout).toContain(text);
    }
  });

  it('-h anywhere wins over otherwise invalid arguments', async () => {
    const run = await runFixture(['--broker-port', '0', '-h'], { env: { FIXTURE_MODE: 'throw' } });
    expect(run).toEqual({ code: 0, signal: null, stdout: expectedUsage, stderr: '' });
  });

  it('runs main with argv > env > ./.env > defaults', async () => {
    const cwd = emptyDir();
    try {
      writeFileSync(join(cwd, '.env'), 'BROKER_HOST=dotenv-host\nBROKER_PORT=7001\nFIXTURE_VERBOSE=true\nTSR_LOG=trace\n');
      const run = await runFixture(['--log', 'error'], { cwd, env: { FIXTURE_MODE: 'print', BROKER_PORT: '7002' } });
      expect(run).toMatchObject({ code: 0, stderr: '' });
      expect(JSON.parse(run.stdout)).toEqual({
        brokerHost: 'dotenv-host',
        brokerPort: 7002,
        verbose: true,
        log: 'error',
        logFormat: 'text',
      });

      const positional = await runFixture(['pos-host', '7003', '--verbose=false'], { cwd, env: { FIXTURE_MODE: 'print' } });
      expect(JSON.parse(positional.stdout)).toEqual({
        brokerHost: 'pos-host',
        brokerPort: 7003,
        verbose: false,
        log: 'trace',
        logFormat: 'text',
      });
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  it('reads the dotenv file named by TSR_ENV_FILE instead of ./.env', async () => {
    const cwd = emptyDir();
    try {
      writeFileSync(join(cwd, '.env'), 'BROKER_HOST=cwd-host\n');
      writeFileSync(join(cwd, 'other.env'), 'BROKER_PORT=7100\n');
      const run = await runFixture([], { cwd, env: { FIXTURE_MODE: 'print', TSR_ENV_FILE: join(cwd, 'other.env') } });
      expect(run).toMatchObject({ code: 0, stderr: '' });
      expect(JSON.parse(run.stdout)).toEqual({
        brokerHost: '127.0.0.1',
        brokerPort: 7100,
        verbose: false,
        log: 'silent',
        logFormat: 'text',
      });
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  describe('bad input: one line on stderr, exit 2', () => {
    it.each([
      [['--broker-port', '0'], {}, 'fixture: --broker-port must be a port number 1-65535, got "0"'],
      [['host', '65536'], {}, 'fixture: --broker-port must be a port number 1-65535, got "65536"'],
      [[], { BROKER_PORT: 'abc' }, 'fixture: BROKER_PORT must be a port number 1-65535, got "abc"'],
      [['--bogus'], {}, 'fixture: unknown option --bogus (see --help)'],
      [['--log', 'loud'], {}, 'fixture: --log must be one of silent, error, warn, info, debug, trace, got "loud"'],
    ] as [string[], Record<string, string>, string][])('%j %j', async (args, env, line) => {
      const run = await runFixture(args, { env: { FIXTURE_MODE: 'print', ...env } });
      expect(run.code).toBe(2);
      expect(run.stdout).toBe(''); // main never ran
      expectOneLine(run.stderr, line);
    });

    it('a ConfigError thrown by main (e.g. a failed bind) is bad input too', async () => {
      const run = await runFixture([], { env: { FIXTURE_MODE: 'config-error' } });
      expect(run.code).toBe(2);
      expectOneLine(run.stderr, 'fixture: cannot bind tcp://*:1: denied');
    });
  });

  describe('failures: one line on stderr, exit 1, no stack trace', () => {
    it.each([
      ['throw', 'fixture: error: boom'],
      ['throw-string', 'fixture: error: plain string'],
      ['reject', 'fixture: error: late boom'],
      ['uncaught', 'fixture: error: uncaught boom'],
      ['unhandled', 'fixture: error: unhandled boom'],
      ['deaf-loop', 'fixture: error: fixture receive loop failed: handler bug'],
    ])('main %s', async (mode, line) => {
      const run = await runFixture([], { env: { FIXTURE_MODE: mode } });
      expect(run).toMatchObject({ code: 1, signal: null, stdout: '' });
      expectOneLine(run.stderr, line);
    });
  });
});
