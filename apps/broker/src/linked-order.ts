interface Link<K, V> {
  key: K;
  value: V;
  linked: boolean;
  prev: Link<K, V> | undefined;
  next: Link<K, V> | undefined;
}

/**
 * Keys in the order they were last set, like a Map whose `set` first deletes: the front is the
 * least recently set. Unlike that Map, moving a key to the back allocates nothing and leaves the
 * hash table alone, and `delete` keeps the key's link for its next `set`; only `forget` drops it.
 *
 * Why not a Map: a Map that is re-set at every request rehashes every few calls, and each
 * discarded table points to its successor. Once one is promoted to the old generation (as a full
 * GC promotes every live young object), the dead chain of tables keeps each successor, and what
 * they hold, alive through every scavenge until the next full GC, which promotes the live table
 * again: a regime in which the broker promoted far more and spent more CPU per request (measured
 * in docs/benchmarks/2026-11-28/README.md).
 */
export class LinkedOrder<K, V> {
  private readonly links = new Map<K, Link<K, V>>();
  private head: Link<K, V> | undefined;
  private tail: Link<K, V> | undefined;
  private count = 0;

  /** Keys in the order (set and not deleted). */
  get size(): number {
    return this.count;
  }

  has(key: K): boolean {
    return this.links.get(key)?.linked === true;
  }

  get(key: K): V | undefined {
    const link = this.links.get(key);
    return link?.linked ? link.value : undefined;
  }

  /** Puts `key` at the back with `value`, moving it there if it is in the order already. */
  set(key: K, value: V): void {
    let link = this.links.get(key);
    if (link === undefined) {
      link = { key, value, linked: false, prev: undefined, next: undefined };
      this.links.set(key, link);
    } else if (link.linked) this.unlink(link);
    link.value = value;
    link.prev = this.tail;
    if (this.tail) this.tail.next = link;
    else this.head = link;
    this.tail = link;
    link.linked = true;
    this.count++;
  }

  /** Takes `key` out of the order; its link is kept for its next `set`. */
  delete(key: K): boolean {
    const link = this.links.get(key);
    if (!link?.linked) return false;
    this.unlink(link);
    return true;
  }

  /** Takes `key` out of the order and drops its link: for keys that will not come back. */
  forget(key: K): void {
    this.delete(key);
    this.links.delete(key);
  }

  /** The least recently set key. */
  first(): K | undefined {
    return this.head?.key;
  }

  /** The value of the least recently set key. */
  firstValue(): V | undefined {
    return this.head?.value;
  }

  /** The key after `key` in the order (undefined after the last, or for a key not in it): a loop without an iterator. */
  after(key: K): K | undefined {
    const link = this.links.get(key);
    return link?.linked ? link.next?.key : undefined;
  }

  /** Front to back; the current key may be deleted meanwhile. */
  *entries(): IterableIterator<[K, V]> {
    for (let link = this.head; link; ) {
      const next = link.next;
      yield [link.key, link.value];
      link = next;
    }
  }

  *keys(): IterableIterator<K> {
    for (const [key] of this.entries()) yield key;
  }

  *values(): IterableIterator<V> {
    for (const [, value] of this.entries()) yield value;
  }

  [Symbol.iterator](): IterableIterator<[K, V]> {
    return this.entries();
  }

  private unlink(link: Link<K, V>): void {
    if (link.prev) link.prev.next = link.next;
    else this.head = link.next;
    if (link.next) link.next.prev = link.prev;
    else this.tail = link.prev;
    link.prev = link.next = undefined;
    link.linked = false;
    this.count--;
  }
}
