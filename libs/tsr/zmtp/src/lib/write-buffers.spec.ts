import { POOLED_MIN_BYTES, POOL_MAX_BYTES, giveBackWriteBuffer, idleWriteBytes, isPooled, takeWriteBuffer } from './write-buffers';

/** The pool of large outgoing messages' memory: what it hands out, what it takes back, and how much it keeps. */

afterEach(() => {
  // empties the pool between tests: what is taken and not given back is the garbage collector's
  while (idleWriteBytes() > 0) takeWriteBuffer(POOLED_MIN_BYTES);
});

describe('write buffers', () => {
  it('gives small messages fresh memory of their own, and takes none of it back', () => {
    const small = takeWriteBuffer(POOLED_MIN_BYTES - 1);
    expect([small.length, isPooled(small)]).toEqual([POOLED_MIN_BYTES - 1, false]);
    giveBackWriteBuffer(small);
    expect(idleWriteBytes()).toBe(0);
  });

  it('hands out large messages exactly their length, and the same memory again once given back', () => {
    const first = takeWriteBuffer(300_000);
    expect([first.length, isPooled(first)]).toEqual([300_000, true]);
    const other = takeWriteBuffer(300_000);
    expect(other.buffer).not.toBe(first.buffer); // in use: never handed out twice
    giveBackWriteBuffer(first);
    expect(idleWriteBytes()).toBe(first.buffer.byteLength);
    const again = takeWriteBuffer(200_000); // smaller fits in it
    expect([again.buffer, again.length, idleWriteBytes()]).toEqual([first.buffer, 200_000, 0]);
  });

  it('hands out the smallest idle buffer that fits, and fresh memory when none does', () => {
    const [big, small] = [takeWriteBuffer(1 << 20), takeWriteBuffer(100_000)];
    giveBackWriteBuffer(big);
    giveBackWriteBuffer(small);
    expect(takeWriteBuffer(90_000).buffer).toBe(small.buffer);
    expect(takeWriteBuffer(2 << 20).buffer).not.toBe(big.buffer);
    expect(takeWriteBuffer(500_000).buffer).toBe(big.buffer);
  });

  it('keeps a buffer given back twice once, and no more than its limit', () => {
    const once = takeWriteBuffer(POOLED_MIN_BYTES);
    giveBackWriteBuffer(once);
    giveBackWriteBuffer(once);
    expect(idleWriteBytes()).toBe(once.buffer.byteLength);
    const many = Array.from({ length: 12 }, () => takeWriteBuffer(1 << 20));
    many.forEach(giveBackWriteBuffer);
    expect(idleWriteBytes()).toBeLessThanOrEqual(POOL_MAX_BYTES);
    expect(idleWriteBytes()).toBeGreaterThan(POOL_MAX_BYTES - (1 << 20) - POOLED_MIN_BYTES);
  });
});
