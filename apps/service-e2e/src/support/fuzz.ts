import { writeRecords } from './plain-peers';

/**
 * Seeded generators of protocol-breaking frame sequences, so a failing fuzz run reproduces
 * from its seed. Frames are what a DEALER sends: the ROUTER prepends the sender's routing id.
 */

/** mulberry32: a tiny, well-known 32-bit PRNG; good enough to pick shapes. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Random = () => number;
const pick = <T>(r: Random, items: readonly T[]): T => items[Math.floor(r() * items.length)];

function frame(r: Random): Buffer {
  const size = pick(r, [0, 0, 1, 5, 16, 100, 1000, r() < 0.02 ? 200_000 : 10]);
  // Huge frames test sizes, not contents: one byte value repeated keeps generation fast.
  if (size > 1000) return Buffer.alloc(size, Math.floor(r() * 256));
  const b = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) b[i] = Math.floor(r() * 256);
  return b;
}

const nonEmpty = (r: Random) => {
  const f = frame(r);
  return f.length ? f : Buffer.from('x');
};

const UNKNOWN_COMMANDS = ['TSR/1 ', 'TSR/1 READY ', 'TSR/1 HB2', 'TSR/1 ERR', 'TSR/1 \u0000', 'TSR/1 DISCONNECT'];

/** A frontend message a client must never send: not exactly `['', request]`. */
export function badClientMessage(r: Random): Buffer[] {
  switch (pick(r, ['count', 'delimiter', 'both'] as const)) {
    case 'count': {
      const n = pick(r, [1, 3, 4, 5, 8]);
      return Array.from({ length: n }, () => frame(r));
    }
    case 'delimiter':
      return [nonEmpty(r), frame(r)];
    case 'both':
      return [nonEmpty(r), frame(r), frame(r)];
  }
}

/**
 * A batch of answers no worker may send (docs/protocol.md "Batches"), written by hand: empty, a
 * record of an unknown kind, or records whose lengths run past the frame.
 */
function badBatch(r: Random): Buffer {
  const record = writeRecords([{ envelope: frame(r).subarray(0, 255), body: frame(r) }]);
  switch (pick(r, ['empty', 'kind', 'truncated'] as const)) {
    case 'empty':
      return Buffer.alloc(0);
    case 'kind':
      record[0] = 2 + Math.floor(r() * 254);
      return record;
    case 'truncated':
      return Buffer.concat([record, record]).subarray(0, record.length + 1 + Math.floor(r() * (record.length - 1)));
  }
}

/** A backend message no worker may send: wrong count, missing delimiters, an unknown command or a bad batch. */
export function badWorkerMessage(r: Random): Buffer[] {
  switch (pick(r, ['count', 'first-delimiter', 'second-delimiter', 'unknown-command', 'bad-batch'] as const)) {
    case 'count': {
      const n = pick(r, [1, 2, 3, 5, 6, 9]);
      return Array.from({ length: n }, () => frame(r));
    }
    case 'first-delimiter':
      return [nonEmpty(r), frame(r), frame(r), frame(r)];
    case 'second-delimiter':
      return [Buffer.alloc(0), frame(r), nonEmpty(r), frame(r)];
    case 'unknown-command':
      return [
        Buffer.alloc(0),
        Buffer.alloc(0),
        Buffer.alloc(0),
        Buffer.from(pick(r, UNKNOWN_COMMANDS) + frame(r).toString('latin1'), 'latin1'),
      ];
    case 'bad-batch':
      return [Buffer.from('TSR/1 REPS'), badBatch(r)];
  }
}
