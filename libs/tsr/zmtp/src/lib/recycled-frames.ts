/**
 * Large frames received into memory that is used again. Read into fresh memory, a frame of a MiB
 * leaves a MiB to the garbage collector, and V8 answers every 64 MiB of such memory with a
 * whole-heap collection (docs/benchmarks/2026-12-07/encrypted). A socket told to recycle
 * (`recycleLargeFrames`) reads each frame of POOLED_MIN_BYTES or more into the pool that large
 * outgoing messages are encoded into (write-buffers.ts). Its owner gives such a frame back with
 * `recycleFrame` once nothing reads it any more, and its memory serves the next large message read
 * or written. A frame never given back is the garbage collector's, as any other.
 *
 * Only the very frame a socket handed over is taken back, and only once: a view of it (a record
 * cut out of a batch frame) is not, so memory is never reused under another view that still reads it.
 */
import { POOLED_MIN_BYTES, giveBackWriteBuffer, isPooled, takeWriteBuffer } from './write-buffers';

const recyclable = new WeakSet<Buffer>();

/** Memory for a frame of `bytes` read by a recycling socket: pooled from POOLED_MIN_BYTES on; else its own, never a slice of Node's shared pool. */
export const recyclableMemory = (bytes: number): Buffer =>
  bytes >= POOLED_MIN_BYTES ? takeWriteBuffer(bytes) : Buffer.allocUnsafeSlow(bytes);

/** A recycling socket hands `frame` over: it may be given back if it lies in pooled memory. */
export function handedOver(frame: Buffer): void {
  if (isPooled(frame)) recyclable.add(frame);
}

/**
 * Gives back the memory of a frame that a recycling socket handed over; whether it did. Call it only
 * once nothing reads the frame: not the program, not a message still to be written (a send encodes
 * its frames before it returns). Any other Buffer is left alone.
 */
export function recycleFrame(frame: Buffer): boolean {
  if (!recyclable.delete(frame)) return false;
  giveBackWriteBuffer(frame);
  return true;
}
