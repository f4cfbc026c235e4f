import { CreditLender } from './credit-lender';

/** A lender of `credit` over brokers named by strings; every window it asks is recorded as `broker:window`. */
function setup(credit: number) {
  const asked: string[] = [];
  const lender = new CreditLender<string>(credit, (link, window) => asked.push(`${link}:${window}`));
  const take = () => asked.splice(0);
  /** Opens a broker that moves credit, and acknowledges what the lender asked on accepting. */
  const leasing = (link: string): number => {
    const window = lender.opened(link);
    lender.leasing(link);
    lender.acknowledged(link, window);
    take();
    return window;
  };
  return { lender, take, leasing };
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

  it('lends a broker that wants more what is free', () => {
    const { lender, take, leasing } = setup(3);
    leasing('A');
    leasing('B');
    const t = lender.took('A');
    lender.finished(t);
    lender.wanted('B'); // A lends 3 and uses none: nothing free, so A gives back what it does not use
    expect(take()).toEqual(['A:0']);
    lender.acknowledged('A', 0);
    expect(take()).toEqual(['B:3']);
    lender.acknowledged('B', 3);
    expect(lender.status('B')).toEqual({ window: 3, held: 0, leases: true });
  });

  it('takes back only what a broker does not use, and shares what comes back among all that wait', () => {
    const { lender, take, leasing } = setup(4);
    leasing('A');
    leasing('B');
    lender.took('A');
    lender.took('A');
    lender.wanted('B');
    expect(take()).toEqual(['A:2']); // A keeps the two it holds
    lender.wanted('A'); // its queue grew meanwhile
    expect(take()).toEqual([]); // one change at a time per broker, and none taken from a broker that waits
    lender.acknowledged('A', 2);
    expect(take()).toEqual(['A:3', 'B:1']);
  });

  it('shares what is free among the brokers that want it', () => {
    const { lender, take, leasing } = setup(5);
    leasing('A');
    leasing('B');
    leasing('C');
    lender.wanted('B');
    lender.wanted('C');
    expect(take()).toEqual(['A:0']);
    lender.acknowledged('A', 0);
    expect(take()).toEqual(['B:3', 'C:2']);
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
