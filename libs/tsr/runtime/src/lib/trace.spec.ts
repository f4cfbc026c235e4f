import { type Level, type LogFormat, createTracer, defaultLevel, levels } from './trace';

/** A tracer whose output lands in two arrays. */
function capture(level: Level, component = 'broker', format: LogFormat = 'text', instance?: string) {
  const out: string[] = [];
  const err: string[] = [];
  const tracer = createTracer(
    component,
    level,
    (l) => out.push(l),
    (l) => err.push(l),
    format,
    instance,
  );
  return { tracer, out, err };
}

/** Emits one message of each kind and reports which ones came out. */
function emitted(level: Level) {
  const { tracer, out, err } = capture(level);
  tracer.step('step', 'x', [1]);
  tracer.debug('looking');
  tracer.info('hello');
  tracer.warn('odd');
  tracer.error('bad');
  const expected = {
    debug: '[broker] debug: looking',
    info: '[broker] hello',
    warn: '[broker] warning: odd',
    error: '[broker] error: bad',
  };
  return {
    step: out.some((l) => l.includes('step:')),
    debug: out.includes(expected.debug),
    info: out.includes(expected.info),
    warn: err.includes(expected.warn),
    error: err.includes(expected.error),
    strayOut: out.filter((l) => !l.includes('step:') && l !== expected.debug && l !== expected.info),
    strayErr: err.filter((l) => l !== expected.warn && l !== expected.error),
  };
}

describe('levels', () => {
  it('go from quietest to loudest', () => {
    expect(levels).toEqual(['silent', 'error', 'warn', 'info', 'debug', 'trace']);
  });

  it.each([
    ['silent', { step: false, debug: false, info: false, warn: false, error: false }],
    ['error', { step: false, debug: false, info: false, warn: false, error: true }],
    ['warn', { step: false, debug: false, info: false, warn: true, error: true }],
    ['info', { step: false, debug: false, info: true, warn: true, error: true }],
    ['debug', { step: false, debug: true, info: true, warn: true, error: true }],
    ['trace', { step: true, debug: true, info: true, warn: true, error: true }],
  ] as const)('%s lets through exactly what it should', (level, want) => {
    const { strayOut, strayErr, ...got } = emitted(level);
    expect(got).toEqual(want);
    expect(strayOut).toEqual([]);
    expect(strayErr).toEqual([]);
  });

  it('the tracer reports its level', () => {
    expect(capture('error').tracer.level).toBe('error');
  });
});

describe('sinks', () => {
  it('info goes to out, error goes to err, each prefixed with the component', () => {
    const { tracer, out, err } = capture('info', 'worker');
    tracer.info('ready');
    tracer.error('socket closed');
    expect(out).toEqual(['[worker] ready']);
    expect(err).toEqual(['[worker] error: socket closed']);
  });

  it('step goes to out', () => {
    const { tracer, out, err } = capture('trace');
    tracer.step('s', 'a', [1]);
    expect(out).toHaveLength(1);
    expect(err).toEqual([]);
  });

  it('default sinks write whole lines to stdout and stderr', () => {
    const stdout = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    let outCalls: unknown[][];
    let errCalls: unknown[][];
    try {
      const t = createTracer('c', 'info');
      t.info('to stdout');
      t.error('to stderr');
    } finally {
      outCalls = [...stdout.mock.calls];
      errCalls = [...stderr.mock.calls];
      stdout.mockRestore();
      stderr.mockRestore();
    }
    expect(outCalls).toEqual([['[c] to stdout\n']]);
    expect(errCalls).toEqual([['[c] error: to stderr\n']]);
  });
});

describe("step (the seed's traza: a protocol step and its values)", () => {
  it('formats `[component] step: name=value ...`', () => {
    const { tracer, out } = capture('trace');
    tracer.step('new_task', 'worker client request', [Buffer.from('W h-1-aa'), Buffer.from('C h-2-bb'), Buffer.from('hello')]);
    expect(out).toEqual(['[broker] new_task: worker="W h-1-aa" client="C h-2-bb" request="hello"']);
  });

  it('shows Buffers as strings, bytes mapped one to one (latin1)', () => {
    const { tracer, out } = capture('trace');
    tracer.step('s', 'b e', [Buffer.from([0x41, 0xff]), Buffer.alloc(0)]);
    expect(out).toEqual(['[broker] s: b="A\u00ff" e=""']);
  });

  it('shows other values as JSON, and missing ones as undefined', () => {
    const { tracer, out } = capture('trace');
    tracer.step('s', 'str num obj arr nul missing', ['x y', 42, { a: 1 }, [1, 'b'], null]);
    expect(out).toEqual(['[broker] s: str="x y" num=42 obj={"a":1} arr=[1,"b"] nul=null missing=undefined']);
  });

  it('splits names on any whitespace', () => {
    const { tracer, out } = capture('trace');
    tracer.step('s', 'a \t b', [1, 2]);
    expect(out).toEqual(['[broker] s: a=1 b=2']);
  });

  it('never throws on values JSON cannot encode', () => {
    const { tracer, out } = capture('trace');
    const circular: Record<string, unknown> = {};
    circular['self'] = circular;
    expect(() => tracer.step('s', 'big circ', [10n, circular])).not.toThrow();
    expect(out).toEqual(['[broker] s: big=10 circ=[object Object]']);
  });

  it('does not even format its values below the trace level', () => {
    const { tracer, out } = capture('info');
    const value = { toJSON: jest.fn(() => 'x') };
    tracer.step('s', 'v', [value]);
    expect(value.toJSON).not.toHaveBeenCalled();
    expect(out).toEqual([]);
  });
});

describe('defaultLevel', () => {
  it('honours TSR_LOG when it names a level, even under Jest', () => {
    for (const level of levels) {
      expect(defaultLevel({ TSR_LOG: level })).toBe(level);
      expect(defaultLevel({ TSR_LOG: level, JEST_WORKER_ID: '1' })).toBe(level);
    }
  });

  it('is silent under Jest and info otherwise', () => {
    expect(defaultLevel({ JEST_WORKER_ID: '3' })).toBe('silent');
    expect(defaultLevel({})).toBe('info');
  });

  it('ignores an unknown or empty TSR_LOG', () => {
    expect(defaultLevel({ TSR_LOG: 'verbose' })).toBe('info');
    expect(defaultLevel({ TSR_LOG: 'TRACE', JEST_WORKER_ID: '1' })).toBe('silent');
    expect(defaultLevel({ TSR_LOG: '' })).toBe('info');
  });

  describe('with the real process environment', () => {
    const saved = process.env['TSR_LOG'];
    beforeEach(() => delete process.env['TSR_LOG']);
    afterEach(() => {
      if (saved === undefined) delete process.env['TSR_LOG'];
      else process.env['TSR_LOG'] = saved;
    });

    it('is silent in this Jest run', () => {
      expect(process.env['JEST_WORKER_ID']).toBeDefined();
      expect(defaultLevel()).toBe('silent');
    });

    it('reads TSR_LOG from process.env', () => {
      process.env['TSR_LOG'] = 'trace';
      expect(defaultLevel()).toBe('trace');
    });

    it('is what createTracer uses when no level is given', () => {
      expect(createTracer('x').level).toBe('silent');
      process.env['TSR_LOG'] = 'error';
      expect(createTracer('x').level).toBe('error');
    });
  });
});

describe('json format', () => {
  it('writes one object per line with time, level, program and instance', () => {
    const { tracer, out, err } = capture('trace', 'worker', 'json', 'W one');
    tracer.info('hello');
    tracer.step('reply', 'client body n', [Buffer.from('C1'), 'ok', 3n]);
    tracer.error('bad');
    const lines = [...out, ...err].map((l) => JSON.parse(l) as Record<string, unknown>);
    for (const line of lines) expect(new Date(line['time'] as string).toISOString()).toBe(line['time']);
    const pid = process.pid;
    expect(lines.map((l) => Object.fromEntries(Object.entries(l).filter(([key]) => key !== 'time')))).toEqual([
      { level: 'info', program: 'worker', instance: 'W one', pid, msg: 'hello' },
      { level: 'trace', program: 'worker', instance: 'W one', pid, step: 'reply', fields: { client: 'C1', body: 'ok', n: '3' } },
      { level: 'error', program: 'worker', instance: 'W one', pid, msg: 'bad' },
    ]);
    expect(out).toHaveLength(2);
  });

  it('carries the facts of a line as fields, and the error behind one with its name, code and stack', () => {
    const { tracer, out, err } = capture('info', 'broker', 'json');
    tracer.info('stopped: requests 3, replies 2', { requests: 3, replies: 2 });
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
    tracer.error('cannot reach the broker', refused);
    tracer.error('odd', 'a string thrown');
    expect(JSON.parse(out[0])).toMatchObject({ msg: 'stopped: requests 3, replies 2', fields: { requests: 3, replies: 2 } });
    expect(JSON.parse(err[0])).toMatchObject({
      msg: 'cannot reach the broker',
      error: {
        name: 'Error',
        message: 'connect ECONNREFUSED 127.0.0.1:9',
        code: 'ECONNREFUSED',
        stack: expect.stringContaining('trace.spec.ts'),
      },
    });
    expect(JSON.parse(err[1])).toMatchObject({ msg: 'odd', error: { message: 'a string thrown' } });
  });

  it('writes text lines as before: the fields and the error are in the message', () => {
    const { tracer, out, err } = capture('info');
    tracer.info('stopped: requests 3', { requests: 3 });
    tracer.error('failed', new Error('x'));
    expect([...out, ...err]).toEqual(['[broker] stopped: requests 3', '[broker] error: failed']);
  });

  it('writes warn and debug lines with their level, a warning with its cause', () => {
    const { tracer, out, err } = capture('debug', 'worker', 'json');
    tracer.debug('connected to tcp://b:1', { address: 'tcp://b:1' });
    tracer.warn('broker silent: reconnecting');
    tracer.warn('cannot reach the broker', Object.assign(new Error('getaddrinfo ENOTFOUND b'), { code: 'ENOTFOUND' }));
    expect(JSON.parse(out[0])).toMatchObject({ level: 'debug', msg: 'connected to tcp://b:1', fields: { address: 'tcp://b:1' } });
    expect(JSON.parse(err[0])).toMatchObject({ level: 'warn', msg: 'broker silent: reconnecting' });
    expect(JSON.parse(err[0])).not.toHaveProperty('error');
    expect(JSON.parse(err[1])).toMatchObject({ level: 'warn', error: { code: 'ENOTFOUND', message: 'getaddrinfo ENOTFOUND b' } });
  });

  it('keeps the levels: info is silent at error level', () => {
    const { tracer, out } = capture('error', 'broker', 'json');
    tracer.info('quiet');
    expect(out).toEqual([]);
  });
});
