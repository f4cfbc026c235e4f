import fc from 'fast-check';
import { DeadlineHeap } from './deadline-heap';

describe('DeadlineHeap', () => {
  it('gives items back in deadline order, whatever was pushed and removed from wherever', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 50 }), fc.boolean())), (ops) => {
        const heap = new DeadlineHeap<{ deadline: number; heapAt: number }>();
        const live = new Set<{ deadline: number; heapAt: number }>();
        for (const [deadline, removeOne] of ops) {
          const item = { deadline, heapAt: -1 };
          heap.push(item);
          live.add(item);
          if (removeOne) {
            const victim = [...live][deadline % live.size];
            heap.remove(victim);
            heap.remove(victim); // twice: the second is nothing
            expect(victim.heapAt).toBe(-1);
            live.delete(victim);
          }
        }
        expect(heap.size).toBe(live.size);
        const out: number[] = [];
        for (let top; (top = heap.peek()); ) {
          out.push(top.deadline);
          heap.remove(top);
        }
        expect(out).toEqual([...live].map((i) => i.deadline).sort((a, b) => a - b));
      }),
    );
  });
});
