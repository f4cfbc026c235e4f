/**
 * What a client or a worker says about its connections, read with `for await (const e of
 * x.events())` as nats.js's `status()` is: `connected` once a connection's handshake is done,
 * `disconnected` when it is lost or replaced, `refused` when a dial finds no broker (a name that does
 * not resolve, a port nobody listens on) or the broker refuses this program's CURVE key. `address` is
 * the broker's `tcp://host:port`. A refusal is said again only when its reason changes.
 */
export type ConnectionEvent =
  | { readonly type: 'connected'; readonly address: string }
  | { readonly type: 'disconnected'; readonly address: string }
  | { readonly type: 'refused'; readonly address: string; readonly reason: string };

interface Reader<T> {
  push(event: T): void;
  end(): void;
}

/**
 * Events for any number of readers (async iterators): each gets, in order, those emitted after it
 * was made. A reader that falls behind keeps the latest `limit` (older ones are dropped, so a
 * forgotten iterator costs bounded memory); `end()` finishes every reader, and those made after it.
 */
export class EventFeed<T> {
  readonly #readers = new Set<Reader<T>>();
  #ended = false;

  constructor(private readonly limit = 256) {}

  emit(event: T): void {
    for (const reader of this.#readers) reader.push(event);
  }

  end(): void {
    this.#ended = true;
    for (const reader of this.#readers) reader.end();
    this.#readers.clear();
  }

  iterate(): AsyncIterableIterator<T> {
    const queue: T[] = [];
    let done = this.#ended;
    let wake: ((result: IteratorResult<T>) => void) | undefined;
    const settle = (result: IteratorResult<T>) => {
      const w = wake;
      wake = undefined;
      w?.(result);
    };
    const reader: Reader<T> = {
      push: (event) => {
        if (wake) return settle({ value: event, done: false });
        queue.push(event);
        if (queue.length > this.limit) queue.shift();
      },
      end: () => {
        done = true;
        settle({ value: undefined, done: true });
      },
    };
    if (!done) this.#readers.add(reader);
    const readers = this.#readers;
    return {
      next: () =>
        queue.length > 0
          ? Promise.resolve({ value: queue.shift() as T, done: false })
          : done
            ? Promise.resolve({ value: undefined, done: true })
            : new Promise((resolve) => (wake = resolve)),
      // `break` out of a for-await loop: this reader stops
      return: () => {
        readers.delete(reader);
        queue.length = 0;
        reader.end();
        return Promise.resolve({ value: undefined, done: true });
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }
}
