import { runFixture } from './__fixtures__/run-fixture';
import { adios, exitOnSignals } from './shutdown';
import { type Tracer, createTracer } from './trace';

/** A tracer that records its info lines, plus a log shared with sockets and hooks to check the order. */
function recorder() {
  const log: string[] = [];
  const trace: Tracer = createTracer(
    't',
    'info',
    (l) => log.push(`info ${l}`),
    (l) => log.push(`error ${l}`),
  );
  const socket = (name: string, fails = false) => ({
    close: jest.fn(() => {
      log.push(`close ${name}`);
      if (fails) throw new Error('Socket is closed');
    }),
  });
  return { log, trace, socket };
}

describe('adios (in process, process.exit mocked)', () => {
  let exit: jest.SpiedFunction<typeof process.exit>;
  beforeEach(() => {
    exit = jest.spyOn(process, 'exit').mockImplementation((() => undefined) as never);
  });
  afterEach(() => exit.mockRestore());

  it('does nothing until called', () => {
    const { log, trace, socket } = recorder();
    adios([socket('a')], 'bye', trace);
    expect(log).toEqual([]);
    expect(exit).not.toHaveBeenCalled();
  });

  it('runs beforeExit, closes every socket, says why, then exits 0', () => {
    const { log, trace, socket } = recorder();
    const a = socket('a');
    const b = socket('b');
    adios([a, b], 'stopped by test', trace, 0, () => log.push('beforeExit'))();
    expect(log).toEqual(['beforeExit', 'close a', 'close b', 'info [t] stopped by test']);
    expect(a.close).toHaveBeenCalledTimes(1);
    expect(b.close).toHaveBeenCalledTimes(1);
    expect(exit).toHaveBeenCalledTimes(1);
    expect(exit).toHaveBeenCalledWith(0);
  });

  it('exits with the code it was given', () => {
    const { trace } = recorder();
    adios([], 'failed', trace, 3)();
    expect(exit).toHaveBeenCalledWith(3);
  });

  it('keeps closing the others when a socket throws (already closed)', () => {
    const { log, trace, socket } = recorder();
    const fn = adios([socket('a'), socket('b', true), socket('c')], 'bye', trace);
    expect(() => fn()).not.toThrow();
    expect(log).toEqual(['close a', 'close b', 'close c', 'info [t] bye']);
    expect(exit).toHaveBeenCalledWith(0);
  });

  it('runs only once however often it is called', () => {
    const { log, trace, socket } = recorder();
    const a = socket('a');
    const fn = adios([a], 'bye', trace);
    fn();
    fn();
    expect(a.close).toHaveBeenCalledTimes(1);
    expect(log.filter((l) => l.startsWith('info'))).toHaveLength(1);
    expect(exit).toHaveBeenCalledTimes(1);
  });
});

describe('exitOnSignals (in process, handlers called directly)', () => {
  let exit: jest.SpiedFunction<typeof process.exit>;
  const before: Record<'SIGINT' | 'SIGTERM', ReturnType<typeof process.rawListeners>> = { SIGINT: [], SIGTERM: [] };
  beforeEach(() => {
    exit = jest.spyOn(process, 'exit').mockImplementation((() => undefined) as never);
    before.SIGINT = process.rawListeners('SIGINT');
    before.SIGTERM = process.rawListeners('SIGTERM');
  });
  afterEach(() => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      for (const l of process.rawListeners(signal)) if (!before[signal].includes(l)) process.removeListener(signal, l as () => void);
    }
    exit.mockRestore();
  });

  const added = (signal: 'SIGINT' | 'SIGTERM') => process.rawListeners(signal).filter((l) => !before[signal].includes(l));

  it.each(['SIGINT', 'SIGTERM'] as const)('on %s closes the sockets, traces the signal and exits 0, once', (signal) => {
    const { log, trace, socket } = recorder();
    const a = socket('a');
    exitOnSignals([a], trace, () => log.push('beforeExit'));
    expect(added('SIGINT')).toHaveLength(1);
    expect(added('SIGTERM')).toHaveLength(1);

    (added(signal)[0] as (s: string) => void)(signal);
    expect(log).toEqual(['beforeExit', 'close a', `info [t] stopped by ${signal}`]);
    expect(exit).toHaveBeenCalledWith(0);
    // Installed with `once`: a second signal gets Node's default action, so a stuck process can still be killed.
    expect(added(signal)).toHaveLength(0);
  });
});

describe('exitOnSignals in a real process with ZeroMQ sockets', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)(
    'exits 0 promptly on %s, after closing the sockets',
    async (signal) => {
      let sentAt = 0;
      const run = await runFixture(['127.0.0.1', '1'], {
        env: { FIXTURE_MODE: 'signals' },
        onReady: (child) => {
          sentAt = Date.now();
          child.kill(signal);
        },
      });
      const elapsed = Date.now() - sentAt;
      expect(sentAt).toBeGreaterThan(0);
      expect(run).toMatchObject({ code: 0, signal: null, stderr: '' });
      expect(run.stdout.split('\n')).toEqual([
        'ready',
        'before exit',
        'closed router',
        'closed dealer',
        `[fixture] stopped by ${signal}`,
        '',
      ]);
      expect(elapsed).toBeLessThan(1000);
    },
    30_000,
  );
});
