import { EventFeed } from './event-feed';

/** Everything `iterator` yields until it finishes. */
async function drain<T>(iterator: AsyncIterableIterator<T>): Promise<T[]> {
  const seen: T[] = [];
  for await (const event of iterator) seen.push(event);
  return seen;
}

describe('EventFeed', () => {
  it('gives every reader, in order, what is emitted after it was made; end() finishes them all', async () => {
    const feed = new EventFeed<number>();
    feed.emit(0); // nobody reads yet: gone
    const early = feed.iterate();
    feed.emit(1);
    const late = feed.iterate();
    feed.emit(2);
    const waiting = early.next(); // already queued: 1
    feed.end();
    expect(await waiting).toEqual({ value: 1, done: false });
    expect(await drain(early)).toEqual([2]);
    expect(await drain(late)).toEqual([2]);
    expect(await drain(feed.iterate())).toEqual([]); // made after the end: finished at once
  });

  it('wakes a reader waiting for the next event, and ends one waiting at the end', async () => {
    const feed = new EventFeed<string>();
    const reader = feed.iterate();
    const next = reader.next();
    feed.emit('connected');
    expect(await next).toEqual({ value: 'connected', done: false });
    const pending = reader.next();
    feed.end();
    expect(await pending).toEqual({ value: undefined, done: true });
  });

  it('keeps the latest `limit` for a reader that falls behind', async () => {
    const feed = new EventFeed<number>(3);
    const reader = feed.iterate();
    for (let i = 1; i <= 10; i++) feed.emit(i);
    feed.end();
    expect(await drain(reader)).toEqual([8, 9, 10]);
  });

  it('stops a reader left with break, the others read on', async () => {
    const feed = new EventFeed<number>();
    const left = feed.iterate();
    const stays = feed.iterate();
    feed.emit(1);
    for await (const n of left) if (n === 1) break;
    feed.emit(2);
    feed.end();
    expect(await left.next()).toEqual({ value: undefined, done: true });
    expect(await drain(stays)).toEqual([1, 2]);
  });
});
