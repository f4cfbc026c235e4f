import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { parseOptions } from './options';
import { profileKinds } from './profile';

describe('--profile options', () => {
  it('profiles broker and forwarders with V8 by default; --profile-kinds, --perf and --client-batches choose what and how', () => {
    expect(parseOptions(['--profile'], '2026-01-01', '/r')).toMatchObject({
      profileKinds: ['broker', 'forwarder-lru', 'forwarder'],
      perf: false,
    });
    const o = parseOptions(['--profile', '--perf', '--profile-kinds', 'broker-curve,forwarder-c-curve'], '2026-01-01', '/r');
    expect(o).toMatchObject({ perf: true, out: '/r/tmp/benchmarks/2026-01-01-profile' });
    expect(profileKinds(o.profileKinds)).toEqual(['broker-curve', 'forwarder-c-curve']);
    // the generator batches, as in the encrypted experiment, only when asked
    expect(parseOptions(['--profile', '--client-batches'], '2026-01-01', '/r')).toMatchObject({ profile: true, clientBatches: true });
    expect(o.clientBatches).toBe(false);
  });

  it('refuses --perf or --profile-kinds without --profile, and kinds it does not know, naming those it does', () => {
    expect(() => parseOptions(['--perf'], '2026-01-01', '/r')).toThrow('--perf and --profile-kinds go with --profile');
    expect(() => parseOptions(['--profile-kinds', 'broker'], '2026-01-01', '/r')).toThrow('go with --profile');
    expect(() => profileKinds(['broker', 'nope'])).toThrow(/--profile-kinds: nope; the kinds are broker, .*forwarder-c-curve/);
    expect(() => profileKinds([])).toThrow('--profile-kinds: none given');
  });
});

describe('bad input to the benchmark', () => {
  const root = join(__dirname, '../..');
  /** The benchmark's command line as npm runs it, with `path` for PATH. */
  const bench = (args: string[], path = process.env.PATH) =>
    spawnSync(process.execPath, [join(root, 'node_modules/tsx/dist/cli.mjs'), join(__dirname, 'bench.ts'), ...args], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, PATH: path },
      timeout: 60_000,
    });

  it('is said in one line, exit code 2, before anything starts: options that do not go together, a flag it does not know, perf missing', () => {
    const cases = [
      { args: ['--perf'], says: 'bench: --perf and --profile-kinds go with --profile' },
      { args: ['--profile', '--profile-kinds', 'nope'], says: 'bench: --profile-kinds: nope; the kinds are' },
      { args: ['--frobnicate'], says: "bench: Unknown option '--frobnicate'" },
      // PATH with Node alone: no perf on it.
      { args: ['--profile', '--perf'], path: dirname(process.execPath), says: 'bench: --perf needs Linux perf, which is not on PATH' },
    ];
    for (const { args, path, says } of cases) {
      const { status, stdout, stderr } = bench(args, path);
      expect({ args, status, stdout, lines: stderr.trimEnd().split('\n').length }).toEqual({ args, status: 2, stdout: '', lines: 1 });
      expect(stderr.startsWith(says)).toBe(true);
    }
  });
});
