import fc from 'fast-check';
import { SlotTable } from './slot-table';

describe('SlotTable', () => {
  it('names each value by (slot, generation) for good, for any sequence of adds and deletes', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constant(-1), fc.nat(40)), { maxLength: 300 }), (steps) => {
        const table = new SlotTable<number>();
        const live = new Map<number, [number, number]>(); // value -> its name
        const gone: [number, number][] = [];
        let next = 0;
        for (const step of steps) {
          if (step === -1 || live.size === 0) {
            const value = next++;
            const slot = table.add(value);
            live.set(value, [slot, table.generation(slot)]);
          } else {
            const value = [...live.keys()][step % live.size];
            const [slot, generation] = live.get(value) as [number, number];
            expect(table.delete(slot, generation)).toBe(true);
            expect(table.delete(slot, generation)).toBe(false);
            live.delete(value);
            gone.push([slot, generation]);
          }
          expect(table.size).toBe(live.size);
        }
        for (const [value, [slot, generation]] of live) expect(table.get(slot, generation)).toBe(value);
        for (const [slot, generation] of gone) expect(table.get(slot, generation)).toBeUndefined();
        expect(table.values().sort((a, b) => a - b)).toEqual([...live.keys()].sort((a, b) => a - b));
      }),
    );
  });

  it('reuses freed slots instead of growing', () => {
    const table = new SlotTable<string>();
    for (let i = 0; i < 1000; i++) {
      const slot = table.add(`r${i}`);
      expect(slot).toBeLessThan(2);
      if (i % 2 === 1) {
        table.delete(0, table.generation(0));
        table.delete(1, table.generation(1));
      }
    }
    expect(table.size).toBe(0);
  });
});
