import fc from 'fast-check';
import { LinkedOrder } from './linked-order';

type Op = { op: 'set'; key: number; value: number } | { op: 'delete'; key: number } | { op: 'forget'; key: number };

const ops = fc.array(
  fc.oneof(
    fc.record({ op: fc.constant('set' as const), key: fc.nat(7), value: fc.integer() }),
    fc.record({ op: fc.constant('delete' as const), key: fc.nat(7) }),
    fc.record({ op: fc.constant('forget' as const), key: fc.nat(7) }),
  ),
  { maxLength: 200 },
);

describe('LinkedOrder', () => {
  it('behaves as a Map whose set deletes first, for any sequence of set, delete and forget', () => {
    fc.assert(
      fc.property(ops, (steps: Op[]) => {
        const order = new LinkedOrder<number, number>();
        const model = new Map<number, number>();
        for (const step of steps) {
          if (step.op === 'set') {
            model.delete(step.key);
            model.set(step.key, step.value);
            order.set(step.key, step.value);
          } else {
            expect(order.has(step.key)).toBe(model.has(step.key));
            if (step.op === 'delete') expect(order.delete(step.key)).toBe(model.delete(step.key));
            else {
              order.forget(step.key);
              model.delete(step.key);
            }
          }
          expect([...order]).toEqual([...model]);
          expect(order.size).toBe(model.size);
          expect(order.first()).toBe(model.keys().next().value);
          expect(order.firstValue()).toBe(model.values().next().value);
          const walked: number[] = [];
          for (let key = order.first(); key !== undefined; key = order.after(key)) walked.push(key);
          expect(walked).toEqual([...model.keys()]);
        }
        for (let key = 0; key < 8; key++) expect(order.get(key)).toBe(model.get(key));
        expect([...order.keys()]).toEqual([...model.keys()]);
        expect([...order.values()]).toEqual([...model.values()]);
      }),
    );
  });

  it('lets the loop over it delete the key it is at', () => {
    const order = new LinkedOrder<string, number>();
    for (const [i, key] of ['a', 'b', 'c', 'd'].entries()) order.set(key, i);
    const seen: string[] = [];
    for (const [key, value] of order) {
      seen.push(key);
      if (value % 2 === 0) order.delete(key);
    }
    expect(seen).toEqual(['a', 'b', 'c', 'd']);
    expect([...order.keys()]).toEqual(['b', 'd']);
  });

  it('moves a key to the back without a new link, and forgets it only when told', () => {
    const order = new LinkedOrder<string, number>();
    order.set('w1', 1);
    order.set('w2', 2);
    order.set('w1', 3);
    expect([...order]).toEqual([
      ['w2', 2],
      ['w1', 3],
    ]);
    order.delete('w2');
    expect(order.has('w2')).toBe(false);
    expect(order.get('w2')).toBeUndefined();
    expect(order.first()).toBe('w1');
    order.forget('w1');
    expect(order.size).toBe(0);
    expect(order.first()).toBeUndefined();
  });
});
