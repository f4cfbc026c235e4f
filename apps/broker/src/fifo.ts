/**
 * A growable ring buffer: O(1) push, shift and pushFront without the O(n) `Array.shift`.
 * The broker's pending queue lives here.
 */
export class Fifo<T> {
  private items: (T | undefined)[] = new Array(16);
  private head = 0;
  private count = 0;

  get length(): number {
    return this.count;
  }

  push(item: T): void {
    if (this.count === this.items.length) this.grow();
    this.items[(this.head + this.count) & (this.items.length - 1)] = item;
    this.count++;
  }

  pushFront(item: T): void {
    if (this.count === this.items.length) this.grow();
    this.head = (this.head - 1) & (this.items.length - 1);
    this.items[this.head] = item;
    this.count++;
  }

  shift(): T | undefined {
    if (this.count === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined; // let the request be collected
    this.head = (this.head + 1) & (this.items.length - 1);
    this.count--;
    return item;
  }

  /** Puts an item `index` places from the front (0: ahead of all); O(index), meant for small ones. */
  insertAt(index: number, item: T): void {
    this.pushFront(item);
    const mask = this.items.length - 1;
    for (let k = 0; k < index && k < this.count - 1; k++) {
      const here = (this.head + k) & mask;
      const next = (this.head + k + 1) & mask;
      [this.items[here], this.items[next]] = [this.items[next], this.items[here]];
    }
  }

  /** Drops every item. */
  clear(): void {
    this.items.fill(undefined);
    this.head = 0;
    this.count = 0;
  }

  /** The item `shift` would return, left in place. */
  peek(): T | undefined {
    return this.count === 0 ? undefined : this.items[this.head];
  }

  /** The item `index` places from the front (0 is the front); undefined out of range. */
  at(index: number): T | undefined {
    return index >= 0 && index < this.count ? this.items[(this.head + index) & (this.items.length - 1)] : undefined;
  }

  /** Capacity stays a power of two so the index wraps with a mask. */
  private grow(): void {
    const next: (T | undefined)[] = new Array(this.items.length * 2);
    for (let i = 0; i < this.count; i++) next[i] = this.items[(this.head + i) & (this.items.length - 1)];
    this.items = next;
    this.head = 0;
  }
}
