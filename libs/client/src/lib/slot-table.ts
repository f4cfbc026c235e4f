/**
 * Values filed in reusable numbered slots, each with a generation that changes when its value
 * leaves: (slot, generation) names one value for good, so a late answer never finds a newer
 * request in its slot. Adding and removing allocates nothing once the table has grown.
 *
 * Why not a Map keyed by request id: a Map with a new key per request rehashes every few dozen
 * requests, and each discarded table points to its successor. Once one is promoted (as a full GC
 * promotes every live young object), that chain of dead tables keeps every later table, and the
 * requests they hold, alive through each scavenge until the next full GC: a regime in which a
 * process promotes far more and spends more CPU per request (measured in docs/benchmarks/2026-11-28/README.md).
 */
export class SlotTable<T> {
  private readonly items: (T | undefined)[] = [];
  private readonly generations: number[] = [];
  private readonly free: number[] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Files `value` and returns its slot; `generation(slot)` completes its name. */
  add(value: T): number {
    const slot = this.free.pop() ?? this.items.length;
    if (slot === this.items.length) this.generations.push(0);
    this.items[slot] = value;
    this.count++;
    return slot;
  }

  generation(slot: number): number {
    return this.generations[slot] ?? 0;
  }

  get(slot: number, generation: number): T | undefined {
    return this.generations[slot] === generation ? this.items[slot] : undefined;
  }

  /** Removes the value named (slot, generation); false if it is not there. */
  delete(slot: number, generation: number): boolean {
    if (this.get(slot, generation) === undefined) return false;
    this.items[slot] = undefined;
    this.generations[slot] = (generation + 1) >>> 0;
    this.free.push(slot);
    this.count--;
    return true;
  }

  /** The values filed, in slot order (a copy: removing while looping is safe). */
  values(): T[] {
    return this.items.filter((item): item is T => item !== undefined);
  }
}
