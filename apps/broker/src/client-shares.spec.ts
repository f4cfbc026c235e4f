import { ClientShares, SWEEP_AT } from './client-shares';

describe('ClientShares', () => {
  it('counts only clients holding bytes, and re-uses the entry of a client that held none', () => {
    const shares = new ClientShares();
    shares.hold('a', 10);
    shares.hold('a', 5);
    shares.hold('b', 1);
    shares.release('a', 15);
    expect(shares.size).toBe(1);
    expect(shares.get('a')).toBe(0);
    expect([...shares.held()]).toEqual([['b', 1]]);
    shares.hold('a', 3);
    expect(shares.size).toBe(2);
    expect(shares.entries).toBe(2);
    expect(shares.get('a')).toBe(3);
  });

  it('keeps idle entries within their bound however many one-request clients come and go', () => {
    const shares = new ClientShares();
    for (let i = 0; i < 10; i++) shares.hold(`busy${i}`, 7);
    let most = 0;
    for (let i = 0; i < 20 * SWEEP_AT; i++) {
      shares.hold(`once${i}`, 100);
      shares.release(`once${i}`, 100);
      most = Math.max(most, shares.entries);
    }
    expect(most).toBeLessThanOrEqual(10 + SWEEP_AT);
    expect(shares.size).toBe(10);
    expect([...shares.held()].map(([, n]) => n)).toEqual(Array(10).fill(7));
  });
});
