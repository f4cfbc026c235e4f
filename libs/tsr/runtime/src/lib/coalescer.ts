/**
 * Collects what is sent to each peer during one turn of the event loop and hands it over, per
 * peer, at the end of the turn (`setImmediate`): a burst of messages received together becomes one
 * batch per peer, and a lone message waits for nothing but the end of its own turn.
 */
export class Coalescer<K, T> {
  private pending = new Map<K, T[]>();
  private scheduled = false;

  constructor(
    private readonly flush: (key: K, items: T[]) => void,
    /** A flush that threw: the caller's bug, reported instead of an uncaught exception. */
    private readonly onError: (error: Error) => void,
  ) {}

  add(key: K, item: T): void {
    const items = this.pending.get(key);
    if (items) items.push(item);
    else this.pending.set(key, [item]);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.run);
  }

  /** Hands over what waits for `key` now, ahead of the turn's end (what follows must come after it). */
  flushNow(key: K): void {
    const items = this.pending.get(key);
    if (items === undefined) return;
    this.pending.delete(key);
    this.flush(key, items);
  }

  /** Forgets what waits for `key` (its connection is gone). */
  discard(key: K): void {
    this.pending.delete(key);
  }

  /** Forgets everything that waits. */
  clear(): void {
    this.pending.clear();
  }

  private readonly run = (): void => {
    this.scheduled = false;
    const pending = this.pending;
    this.pending = new Map();
    try {
      for (const [key, items] of pending) this.flush(key, items);
    } catch (e) {
      this.onError(e instanceof Error ? e : new Error(String(e)));
    }
  };
}
