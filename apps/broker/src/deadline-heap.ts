/** What the heap orders: an item that knows its deadline and its place in the heap (-1: not in one). */
export interface HasDeadline {
  readonly deadline: number;
  heapAt: number;
}

/**
 * A binary min-heap by deadline whose items know their index, so any of them leaves in O(log n):
 * the waiting requests that carry a deadline of their own, which ends in no particular order (one
 * client's 100 ms behind another's 10 s), where the TTL ends the oldest first.
 */
export class DeadlineHeap<T extends HasDeadline> {
  private readonly items: T[] = [];

  get size(): number {
    return this.items.length;
  }

  /** The item whose deadline comes first. */
  peek(): T | undefined {
    return this.items[0];
  }

  push(item: T): void {
    item.heapAt = this.items.length;
    this.items.push(item);
    this.up(item.heapAt);
  }

  /** Takes `item` out, wherever it is; nothing if it is in no heap. */
  remove(item: T): void {
    const at = item.heapAt;
    if (at < 0) return;
    item.heapAt = -1;
    const last = this.items.pop() as T;
    if (at === this.items.length) return;
    this.items[at] = last;
    last.heapAt = at;
    this.down(at);
    this.up(last.heapAt);
  }

  private up(at: number): void {
    const item = this.items[at];
    while (at > 0) {
      const parent = (at - 1) >> 1;
      if (this.items[parent].deadline <= item.deadline) break;
      this.place(this.items[parent], at);
      at = parent;
    }
    this.place(item, at);
  }

  private down(at: number): void {
    const item = this.items[at];
    const n = this.items.length;
    for (;;) {
      let child = 2 * at + 1;
      if (child >= n) break;
      if (child + 1 < n && this.items[child + 1].deadline < this.items[child].deadline) child++;
      if (this.items[child].deadline >= item.deadline) break;
      this.place(this.items[child], at);
      at = child;
    }
    this.place(item, at);
  }

  private place(item: T, at: number): void {
    this.items[at] = item;
    item.heapAt = at;
  }
}
