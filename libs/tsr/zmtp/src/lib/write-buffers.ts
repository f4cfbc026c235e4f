/**
 * The memory of large outgoing messages, used again once the socket has written them (and of the
 * large frames a recycling socket reads, given back by its owner: recycled-frames.ts). A message
 * of a MiB encoded into fresh memory each time costs the page faults of a MiB and leaves a MiB to
 * the garbage collector; from a buffer the socket has just finished with it costs neither
 * (docs/benchmarks/2026-12-07/encrypted). Small messages take fresh memory as before: they are
 * cheap to allocate, and a pool would only hold them back.
 *
 * Each connection gives a buffer back from its socket's write callback, which Node calls once the
 * kernel has the bytes (or the write failed): nothing reads it after that. A buffer never given
 * back (its connection closed first) is the garbage collector's, as any other.
 */

/** Messages of this size and over are encoded into pooled memory. */
export const POOLED_MIN_BYTES = 64 * 1024;
/** Pooled buffers are sized up to a multiple of this, so that messages of nearly one size share them. */
const SIZE_STEP = 64 * 1024;
/** The most memory the pool keeps while no message uses it: buffers given back past it are let go. */
export const POOL_MAX_BYTES = 8 * 1024 * 1024;

const idle: ArrayBuffer[] = [];
let idleBytes = 0;
/** The memory this pool handed out: only that is taken back. */
const pooled = new WeakSet<ArrayBuffer>();

/** `bytes` of memory to encode a message into: pooled memory from POOLED_MIN_BYTES on. */
export function takeWriteBuffer(bytes: number): Buffer {
  if (bytes < POOLED_MIN_BYTES) return Buffer.allocUnsafe(bytes);
  let best = -1;
  for (let i = 0; i < idle.length; i++)
    if (idle[i].byteLength >= bytes && (best < 0 || idle[i].byteLength < idle[best].byteLength)) best = i;
  let memory: ArrayBuffer;
  if (best < 0) {
    // its own memory, not a view of Node's shared pool (which is for small buffers only)
    memory = Buffer.allocUnsafeSlow(Math.ceil(bytes / SIZE_STEP) * SIZE_STEP).buffer as ArrayBuffer;
    pooled.add(memory);
  } else {
    memory = idle[best];
    idle[best] = idle[idle.length - 1];
    idle.pop();
    idleBytes -= memory.byteLength;
  }
  return Buffer.from(memory, 0, bytes);
}

/** Whether `buffer` must be given back once written (it came from the pool). */
export const isPooled = (buffer: Buffer): boolean => pooled.has(buffer.buffer as ArrayBuffer);

/** `buffer`'s memory back to the pool: its bytes are no longer read by anyone. */
export function giveBackWriteBuffer(buffer: Buffer): void {
  const memory = buffer.buffer as ArrayBuffer;
  if (!pooled.has(memory) || idleBytes + memory.byteLength > POOL_MAX_BYTES || idle.includes(memory)) return;
  idle.push(memory);
  idleBytes += memory.byteLength;
}

/** Memory the pool holds while no message uses it (for tests and diagnostics). */
export const idleWriteBytes = (): number => idleBytes;
