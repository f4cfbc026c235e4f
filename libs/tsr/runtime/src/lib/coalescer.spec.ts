import { Coalescer } from './coalescer';

describe('Coalescer', () => {
  const nextTurn = () => new Promise((r) => setImmediate(r));
  /** A coalescer that records what it hands over, per key. */
  const recording = () => {
    const flushed: [string, number[]][] = [];
    const c = new Coalescer<string, number>(
      (key, items) => flushed.push([key, items]),
      (e) => {
        throw e;
      },
    );
    return { c, flushed };
  };

  it('hands over what was added during one turn at its end, once per key, in order', async () => {
    const { c, flushed } = recording();
    c.add('a', 1);
    c.add('b', 2);
    c.add('a', 3);
    expect(flushed).toEqual([]);
    await nextTurn();
    expect(flushed).toEqual([
      ['a', [1, 3]],
      ['b', [2]],
    ]);
    c.add('a', 4);
    await nextTurn();
    expect(flushed).toEqual([
      ['a', [1, 3]],
      ['b', [2]],
      ['a', [4]],
    ]);
  });

  it('forgets a discarded key, and everything when cleared', async () => {
    const { c, flushed } = recording();
    c.add('gone', 1);
    c.add('kept', 2);
    c.discard('gone');
    await nextTurn();
    expect(flushed).toEqual([['kept', [2]]]);
    c.add('a', 3);
    c.clear();
    await nextTurn();
    expect(flushed).toEqual([['kept', [2]]]);
  });

  it("hands over one key at once on flushNow, the others at the turn's end", async () => {
    const { c, flushed } = recording();
    c.add('a', 1);
    c.add('b', 2);
    c.flushNow('a');
    c.flushNow('none');
    expect(flushed).toEqual([['a', [1]]]);
    await nextTurn();
    expect(flushed).toEqual([
      ['a', [1]],
      ['b', [2]],
    ]);
  });

  it('reports a flush that throws instead of letting it escape', async () => {
    const errors: Error[] = [];
    const c = new Coalescer<string, number>(
      () => {
        throw new Error('socket gone');
      },
      (e) => errors.push(e),
    );
    c.add('a', 1);
    await nextTurn();
    expect(errors.map((e) => e.message)).toEqual(['socket gone']);
  });
});
