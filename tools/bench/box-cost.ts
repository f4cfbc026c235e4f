/**
 * What CURVE's boxes alone cost here: the CPU time of one MESSAGE box at each size, sealed and
 * opened through the boxes our sockets use (native libsodium where it loads). A request larger
 * than a batch takes (MAX_BATCHED_BODY) travels in frames of its own, each boxed at every hop:
 * its body is sealed by the client, opened and sealed again by the broker, opened by a worker, and
 * the same back, eight boxes of its size, whoever does the rest of the work. So on a machine
 * whose cores every process shares, CURVE / plain throughput can be at most
 * plain / (plain + 8 boxes), plain being the CPU of a request in the clear summed over every
 * process (broker, workers, generator): the bound the report prints beside the 0.7 target. Smaller
 * requests share boxes in batches, so no such bound holds for them.
 */
import { MAX_BATCHED_BODY } from '@tsr/protocol';
import { curveReady, secretBoxes } from '@tsr/zmtp';

/** Boxes of its body's size a request through a CURVE broker takes: client, broker twice and worker, each way. */
export const BOXES_PER_REQUEST = 8;

/** The sizes the bound holds for: requests that travel one to a message, never in a batch. */
export const boundedSizes = (sizes: readonly number[]): number[] => sizes.filter((size) => size > MAX_BATCHED_BODY);

export interface BoxCost {
  /** Who boxed (native libsodium, or its WebAssembly build). */
  boxes: string;
  /** CPU µs of one box (a seal or an open, their mean) of a frame of each size. */
  usPerBox: Record<number, number>;
}

/** CPU µs (user + system) that `f` takes: the process's, the bench's being otherwise idle by then (a thread's own CPU time comes in 4 ms ticks on Linux). */
function cpuUs(f: () => void): number {
  const start = process.cpuUsage();
  f();
  const { user, system } = process.cpuUsage(start);
  return user + system;
}

/** Measures each size: `batches` batches of at least `batchUs` of CPU each; the median batch's µs per box. */
export async function measureBoxCost(sizes: readonly number[], batches = 7, batchUs = 20_000): Promise<BoxCost> {
  await curveReady; // the WebAssembly build, where it is the one, loads first
  const boxes = secretBoxes();
  const key = new Uint8Array(32).fill(3);
  const nonce = new Uint8Array(24).fill(5);
  const usPerBox: Record<number, number> = {};
  for (const size of sizes) {
    const frame = new Uint8Array(size).fill(7);
    const box = new Uint8Array(size + 17);
    const opened = new Uint8Array(size + 1);
    /** CPU µs of `n` round trips: a seal, then an open. */
    const roundTrips = (n: number) =>
      cpuUs(() => {
        for (let i = 0; i < n; i++) {
          boxes.sealInto(box, 0, 0, frame, nonce, key);
          if (!boxes.openInto(box, nonce, key, opened, 0)) throw new Error('a box of our own did not open');
        }
      });
    let n = 1;
    while (roundTrips(n) < batchUs / 4) n *= 2; // also warms up
    n *= 4;
    const perBox = Array.from({ length: batches }, () => roundTrips(n) / (2 * n)).sort((a, b) => a - b);
    usPerBox[size] = perBox[Math.floor(batches / 2)];
  }
  return { boxes: boxes.name, usPerBox };
}

/** The most CURVE / plain throughput can be when boxing adds `boxUs` × BOXES_PER_REQUEST to a plain request's `plainUs` of CPU. */
export const boxesBound = (plainUs: number, boxUs: number): number => plainUs / (plainUs + BOXES_PER_REQUEST * boxUs);
