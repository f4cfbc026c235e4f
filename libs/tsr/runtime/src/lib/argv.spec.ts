import { splitCommandLine } from './argv';
import { ConfigError } from './errors';

const flags = new Map([
  ['port', 'string'],
  ['json', 'boolean'],
] as const);
const split = (...argv: string[]) => {
  const { named, positionals } = splitCommandLine(flags, argv);
  return { named: Object.fromEntries(named), positionals };
};

describe('splitCommandLine (util.parseArgs underneath)', () => {
  it('takes values after the flag or after =, booleans alone or with a value', () => {
    expect(split('host', '--port', '7', '--json')).toEqual({ named: { port: '7', json: 'true' }, positionals: ['host'] });
    expect(split('--port=8', '--json=false', 'a', 'b')).toEqual({ named: { port: '8', json: 'false' }, positionals: ['a', 'b'] });
  });

  it('hands a value that looks like a flag to the option, and ends options at --', () => {
    expect(split('--port', '-1')).toEqual({ named: { port: '-1' }, positionals: [] });
    expect(split('--', '--port', 'x')).toEqual({ named: {}, positionals: ['--port', 'x'] });
  });

  it('the last of a repeated flag wins', () => {
    expect(split('--port', '1', '--port', '2').named).toEqual({ port: '2' });
  });

  it.each([
    [['--bogus'], 'unknown option --bogus (see --help)'],
    [['-x'], 'unknown option -x (see --help)'],
    [['--port'], 'option --port needs a value'],
  ])('%j is a ConfigError: %s', (argv, message) => {
    expect(() => split(...argv)).toThrow(new ConfigError(message));
  });
});
