import { hostname } from 'node:os';
import { uniqueIdentity } from './identity';

/** `<prefix> <host>-<pid>-` then six hex digits (the host name compared as text, not as a pattern). */
const expectIdentity = (id: string, prefix: string, host: string) => {
  expect(id.slice(0, -6)).toBe(`${prefix} ${host}-${process.pid}-`);
  expect(id.slice(-6)).toMatch(/^[0-9a-f]{6}$/);
};

describe('uniqueIdentity', () => {
  it('is `W <hostname>-<pid>-<hex>` for workers, like the seed\'s "W " + hostname plus a suffix', () => {
    expectIdentity(uniqueIdentity('W'), 'W', hostname());
  });

  it('uses the C prefix for clients', () => {
    expectIdentity(uniqueIdentity('C'), 'C', hostname());
  });

  it('takes an explicit host name', () => {
    expectIdentity(uniqueIdentity('W', 'worker-7.example'), 'W', 'worker-7.example');
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
