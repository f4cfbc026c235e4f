import { hostname } from 'node:os';
import { escapeRegExp as escape } from '@tsr/testing';
import { uniqueIdentity } from './identity';

describe('uniqueIdentity', () => {
  it('is `W <hostname>-<pid>-<hex>` for workers, like the seed\'s "W " + hostname plus a suffix', () => {
    const id = uniqueIdentity('W');
    expect(id).toMatch(new RegExp(`^W ${escape(hostname())}-${process.pid}-[0-9a-f]{6}$`));
  });

  it('uses the C prefix for clients', () => {
    expect(uniqueIdentity('C')).toMatch(new RegExp(`^C ${escape(hostname())}-${process.pid}-[0-9a-f]{6}$`));
  });

  it('takes an explicit host name', () => {
    expect(uniqueIdentity('W', 'worker-7.example')).toMatch(new RegExp(`^W worker-7\\.example-${process.pid}-[0-9a-f]{6}$`));
  });

  it('never repeats within a process, for either prefix', () => {
    const n = 20_000;
    const ids = new Set<string>();
    for (let i = 0; i < n; i++) ids.add(uniqueIdentity(i % 2 ? 'W' : 'C', 'h'));
    expect(ids.size).toBe(n);
    const suffixes = new Set([...ids].map((id) => id.slice(id.lastIndexOf('-') + 1)));
    expect(suffixes.size).toBe(n); // unique by the suffix alone, not only thanks to the prefix
  });

  it('is a valid ZeroMQ routing id: 1-255 bytes, not starting with a zero byte', () => {
    const id = Buffer.from(uniqueIdentity('W'));
    expect(id.length).toBeGreaterThan(0);
    expect(id.length).toBeLessThanOrEqual(255);
    expect(id[0]).not.toBe(0);
  });
});
