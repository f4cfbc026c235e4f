import { Fifo } from './fifo';

describe('Fifo', () => {
  it('keeps first-in first-out order across growth and wrap-around', () => {
    const q = new Fifo<number>();
    const expected: number[] = [];
    let next = 0;
    // Interleave pushes and shifts so the head wraps while the buffer grows past 16.
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 7; i++) {
        q.push(next);
        expected.push(next++);
      }
      for (let i = 0; i < 5; i++) expect(q.shift()).toBe(expected.shift());
    }
    expect(q.length).toBe(expected.length);
    while (expected.length) expect(q.shift()).toBe(expected.shift());
    expect(q.shift()).toBeUndefined();
    expect(q.length).toBe(0);
  });

  it('pushFront puts an item ahead of everything queued', () => {
    const q = new Fifo<string>();
    q.push('b');
    q.push('c');
    q.pushFront('a');
    for (let i = 0; i < 40; i++) q.push(`x${i}`); // grow with head not at index 0
    q.pushFront('first');
    expect([q.shift(), q.shift(), q.shift(), q.shift()]).toEqual(['first', 'a', 'b', 'c']);
    expect(q.length).toBe(40);
  });
});
