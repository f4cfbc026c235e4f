import { parseOptions } from './options';
import { profileKinds } from './profile';

describe('--profile options', () => {
  it('profiles broker and forwarders with V8 by default; --profile-kinds and --perf choose what and how', () => {
    expect(parseOptions(['--profile'], '2026-01-01', '/r')).toMatchObject({
      profileKinds: ['broker', 'forwarder-lru', 'forwarder'],
      perf: false,
    });
    const o = parseOptions(['--profile', '--perf', '--profile-kinds', 'broker-curve,forwarder-c-curve'], '2026-01-01', '/r');
    expect(o).toMatchObject({ perf: true, out: '/r/tmp/benchmarks/2026-01-01-profile' });
    expect(profileKinds(o.profileKinds)).toEqual(['broker-curve', 'forwarder-c-curve']);
  });

  it('refuses --perf or --profile-kinds without --profile, and kinds it does not know, naming those it does', () => {
    expect(() => parseOptions(['--perf'], '2026-01-01', '/r')).toThrow('--perf and --profile-kinds go with --profile');
    expect(() => parseOptions(['--profile-kinds', 'broker'], '2026-01-01', '/r')).toThrow('go with --profile');
    expect(() => profileKinds(['broker', 'nope'])).toThrow(/--profile-kinds: nope; the kinds are broker, .*forwarder-c-curve/);
    expect(() => profileKinds([])).toThrow('--profile-kinds: none given');
  });
});
