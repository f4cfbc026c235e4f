import { CreditLender } from './credit-lender';

/**
 * A lender of `credit` over brokers named by strings, on a clock the test moves (`at`); every
 * window it asks is recorded as `broker:window`. Demand holds 2000 ms; the credit goes round after 1000.
 */
function setup(credit: number) {
  const asked: string[] = [];
  let now = 0;
  const lender = new CreditLender<string>(credit, (link, window) => asked.push(`${link}:${window}`), {
    demandTtlMs: 2000,
    rotateAfterMs: 1000,
    clock: () => now,
  });
  const take = () => asked.splice(0);
  const at = (ms: number) => {
    now = ms;
    lender.tick();
  };
  /** Opens a broker that moves credit, and acknowledges what the lender asked on accepting. */
  const leasing = (link: string): number => {
    const window = lender.opened(link);
    lender.leasing(link);
    lender.acknowledged(link, window);
    take();
    return window;
  };
  /** Acknowledges every window in `asks` (`broker:window`). */
  const acknowledge = (asks: string[]) => {
    for (const a of asks) {
      const [link, window] = a.split(':');
      lender.acknowledged(link, Number(window));
    }
  };
  return { lender, take, at, leasing, acknowledge };
}

describe('CreditLender', () => {
  it('lends a new connection all that is free, and the next one nothing while the first holds it', () => {
    const { lender } = setup(4);
    expect(lender.opened('A')).toBe(4);
    expect(lender.opened('B')).toBe(0);
    expect(lender.status('A')).toEqual({ window: 4, held: 0, leases: false });
  });

  it('accepts an offer of leases by asking for the window the broker has', () => {
    const { lender, take } = setup(2);
    lender.opened('A');
    lender.leasing('A');
    lender.leasing('A'); // once
    expect(take()).toEqual(['A:2']);
  });

  it('takes back the window of a broker that does not wait, and lends it to the one that does', () => {
    const { lender, take, leasing, acknowledge } = setup(3);
    leasing('A');
    leasing('B');
    lender.took('A');
    lender.wanted('B');
    expect(take()).toEqual(['A:1']); // A keeps the one it holds
    lender.acknowledged('A', 1);
    expect(take()).toEqual(['B:2']);
    acknowledge(['B:2']);
    expect(lender.status('B')).toEqual({ window: 2, held: 0, leases: true });
  });

  it('between brokers that both wait, brings the one above its fair share down to it, as it stops using the rest', () => {
    const { lender, take, leasing, acknowledge } = setup(4);
    leasing('A');
    leasing('B');
    const held = [1, 2, 3, 4].map(() => lender.took('A'));
    lender.wanted('A');
    lender.wanted('B');
    expect(take()).toEqual([]); // A uses all four
    lender.finished(held[0]);
    expect(take()).toEqual(['A:3']);
    acknowledge(['A:3']);
    expect(take()).toEqual(['B:1']);
    acknowledge(['B:1']);
    lender.wanted('B');
    lender.finished(held[1]);
    expect(take()).toEqual(['A:2']); // its fair share: 4 over 2
    acknowledge(['A:2']);
    expect(take()).toEqual(['B:2']);
    acknowledge(['B:2']);
    lender.wanted('A');
    lender.wanted('B');
    lender.finished(held[2]);
    lender.finished(held[3]);
    expect(take()).toEqual([]); // 2 and 2: nothing moves however busy both are
  });

  it('lends what is free to the waiting brokers, the smallest windows first', () => {
    const { lender, take, leasing } = setup(5);
    leasing('A');
    leasing('B');
    leasing('C');
    lender.wanted('B');
    lender.wanted('C');
    expect(take()).toEqual(['A:0']);
    lender.acknowledged('A', 0);
    expect(take().sort()).toEqual(['B:3', 'C:2']);
  });

  it('believes a demand only while it is repeated: a broker that went quiet gives back its unused window to one that waits', () => {
    const { lender, take, at, leasing, acknowledge } = setup(2);
    leasing('A');
    leasing('B');
    lender.wanted('A');
    lender.wanted('B');
    expect(take()).toEqual(['A:1']); // both wait: A gives back what it does not use above its share
    acknowledge(['A:1']);
    expect(take()).toEqual(['B:1']);
    acknowledge(['B:1']);
    at(1500);
    lender.wanted('B');
    expect(take()).toEqual([]); // A's word still holds: 1 and 1
    at(2500); // A said nothing more: it does not wait
    lender.wanted('B');
    expect(take()).toEqual(['A:0']);
    acknowledge(['A:0']);
    expect(take()).toEqual(['B:2']);
  });

  it('with less credit than waiting brokers, the credit goes round: one without a window for a while gets it when the other is not using it', () => {
    const { lender, take, at, leasing, acknowledge } = setup(1);
    leasing('A');
    leasing('B');
    const first = lender.took('A');
    lender.wanted('A');
    lender.wanted('B');
    lender.finished(first);
    expect(take()).toEqual([]); // B has waited without a window for less than 1000 ms
    const second = lender.took('A');
    at(1200);
    lender.wanted('A');
    lender.wanted('B');
    expect(take()).toEqual([]); // A is using its one
    lender.finished(second);
    expect(take()).toEqual(['A:0']);
    acknowledge(['A:0']);
    expect(take()).toEqual(['B:1']);
  });

  it('takes no window round to a waiting broker that cannot be lent it yet (its change unacknowledged): the window would only come back', () => {
    const { lender, take, at, leasing, acknowledge } = setup(1);
    leasing('A');
    lender.opened('B');
    lender.leasing('B');
    expect(take()).toEqual(['B:0']); // B has not acknowledged it yet
    const request = lender.took('A');
    lender.wanted('A');
    lender.wanted('B');
    lender.finished(request);
    at(1000); // B has waited 1000 ms without a window
    expect(take()).toEqual([]); // not A:0, lent back to A at its acknowledgement, A:0 again at that one's, …
    acknowledge(['B:0']);
    expect(take()).toEqual(['A:0']);
    acknowledge(['A:0']);
    expect(take()).toEqual(['B:1']);
  });

  it('keeps a shrinking window reserved until the broker acknowledges it: it may still dispatch under the old one', () => {
    const { lender, take, leasing } = setup(2);
    leasing('A');
    leasing('B');
    lender.wanted('B');
    expect(take()).toEqual(['A:0']);
    lender.took('A'); // dispatched before A saw the new window
    lender.took('A');
    expect(lender.held).toBe(2);
    lender.acknowledged('A', 0);
    expect(take()).toEqual([]); // nothing free: A's two requests hold the credit
  });

  it("ignores an acknowledgement of a window it did not ask (a confused broker), and any broker's message after its connection is gone", () => {
    const { lender, take, leasing } = setup(2);
    leasing('A');
    lender.acknowledged('A', 7);
    expect(lender.status('A').window).toBe(2);
    lender.closed('A');
    lender.wanted('A');
    lender.acknowledged('A', 2);
    expect(take()).toEqual([]);
    expect(lender.status('A')).toEqual({ window: 0, held: 0, leases: false });
  });

  it("counts what a lost connection's broker left being served until it is finished, and drops nothing twice", () => {
    const { lender, leasing } = setup(1);
    leasing('A');
    const running = lender.took('A');
    lender.closed('A');
    expect(lender.current(running)).toBe(false);
    expect(lender.opened('A')).toBe(0); // still serving the old one
    lender.finished(running);
    expect(lender.held).toBe(0);
    expect(lender.opened('B')).toBe(1);
    expect(lender.peak).toBe(1);
  });

  it('a broker removed frees its window for the others', () => {
    const { lender, take, leasing } = setup(2);
    leasing('A');
    leasing('B');
    lender.wanted('B');
    take();
    lender.removed('A');
    expect(take()).toEqual(['B:2']);
  });
});
