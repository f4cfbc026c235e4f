/** Zero entries tolerated before a sweep, when they are also the majority. */
export const SWEEP_AT = 1024;

/**
 * Bytes held per client, for the fair share. A client whose bytes fall to zero keeps its entry
 * until a sweep, so a client with one request at a time re-sets an entry instead of adding and
 * deleting one per request (a Map churned that way rehashes all the time, see LinkedOrder). The
 * zero entries are swept when they pass `SWEEP_AT` and outnumber the others, which bounds them.
 */
export class ClientShares {
  private readonly bytes = new Map<string, number>();
  private zeros = 0;

  /** Clients holding bytes. */
  get size(): number {
    return this.bytes.size - this.zeros;
  }

  /** Entries kept, zero ones included: at most `size` + max(`SWEEP_AT` - 1, `size`). */
  get entries(): number {
    return this.bytes.size;
  }

  get(client: string): number {
    return this.bytes.get(client) ?? 0;
  }

  hold(client: string, n: number): void {
    const held = this.bytes.get(client);
    if (held === 0) this.zeros--;
    this.bytes.set(client, (held ?? 0) + n);
  }

  release(client: string, n: number): void {
    const left = this.get(client) - n;
    this.bytes.set(client, left);
    if (left === 0 && ++this.zeros >= SWEEP_AT && this.zeros * 2 > this.bytes.size) this.sweep();
  }

  /** Clients holding bytes, and how many. */
  *held(): IterableIterator<[string, number]> {
    for (const entry of this.bytes) if (entry[1] !== 0) yield entry;
  }

  private sweep(): void {
    for (const [client, held] of this.bytes) if (held === 0) this.bytes.delete(client);
    this.zeros = 0;
  }
}
