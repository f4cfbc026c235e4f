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

  it('peek and at read without removing, across wrap-around', () => {
    const q = new Fifo<number>();
    expect(q.peek()).toBeUndefined();
    for (let i = 0; i < 20; i++) q.push(i);
    for (let i = 0; i < 15; i++) q.shift();
    for (let i = 20; i < 30; i++) q.push(i); // the ring wraps
    expect(q.peek()).toBe(15);
    expect(Array.from({ length: q.length }, (_, i) => q.at(i))).toEqual([15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29]);
    expect(q.at(-1)).toBeUndefined();
    expect(q.at(q.length)).toBeUndefined();
    expect(q.length).toBe(15);
  });

  it('insertAt puts an item at a position from the front, across wrap-around', () => {
    const q = new Fifo<number>();
    for (let i = 0; i < 14; i++) q.push(i);
    for (let i = 0; i < 10; i++) q.shift(); // head near the end of the ring: inserts wrap
    for (let i = 14; i < 24; i++) q.push(i);
    q.insertAt(0, -1);
    q.insertAt(3, -2);
    q.insertAt(q.length, -3);
    expect(Array.from({ length: q.length }, (_, i) => q.at(i))).toEqual([
      -1, 10, 11, -2, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, -3,
    ]);
  });
});
