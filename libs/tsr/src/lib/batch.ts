/**
 * Batches (TSR/1, negotiated per connection): the requests the broker sends one worker in one turn
 * of its event loop, or the answers a worker finishes in one turn, travel as one message of one
 * frame. The binding's cost is per message (a promise) and per frame (a Buffer, a native call);
 * a batch pays them once for all its records, where the classic frames pay 5 frames per request
 * and 5 per reply. See docs/protocol.md "Batches".
 *
 *   broker -> worker   [workerId, 'TSR/1 REQS', records]   (a DEALER worker sees the last two)
 *   worker -> broker   [workerId, 'TSR/1 REPS', records]
 *   records: one after another, each [kind: u8][ticket length: u8][ticket][body length: u32 BE][body]
 *   kind: 0 a request or a reply, 1 a handler's failure (the body is its message)
 *
 * Negotiation, so that neither a seed peer nor an earlier version of ours ever sees a batch: the
 * broker offers `TSR/1 BATCH max=N` after its first heartbeat (N: the largest frame it accepts
 * from a worker); a worker that understands answers `TSR/1 BATCH` and may send batches from then
 * on; the broker sends batches only after that answer. Both are control messages (empty ticket).
 */

// The words are spelled out: frames.ts, which holds PROTOCOL, reads batches.
export const REQUESTS_HEADER = Buffer.from('TSR/1 REQS');
export const REPLIES_HEADER = Buffer.from('TSR/1 REPS');
/** A worker's acceptance of the broker's offer. */
export const BATCH_ACCEPT = Buffer.from('TSR/1 BATCH');
const OFFER = /^TSR\/1 BATCH max=([1-9]\d{0,9})$/;

export const batchOffer = (maxFrameBytes: number): Buffer => Buffer.from(`TSR/1 BATCH max=${maxFrameBytes}`);

/** The largest frame the offering broker accepts, or undefined if `body` is no offer. */
export function parseBatchOffer(body: Buffer): number | undefined {
  const offer = OFFER.exec(body.toString('latin1'));
  return offer ? Number(offer[1]) : undefined;
}

export interface BatchRecord {
  ticket: Buffer;
  body: Buffer;
  /** A handler's failure: `body` is its message. */
  failed: boolean;
}

const HEAD_BYTES = 6;
const MAX_TICKET = 255;
/** Bodies larger than this travel in classic frames: copying them into a batch would cost more than the frames it saves. */
export const MAX_BATCHED_BODY = 16 * 1024;
/** Batches are cut at this size, whatever the peer accepts: a frame is copied whole. */
export const MAX_BATCH_FRAME = 256 * 1024;

export const recordBytes = (record: BatchRecord): number => HEAD_BYTES + record.ticket.length + record.body.length;

/** Whether a record may travel in a batch whose frames may hold `maxFrameBytes`. */
export const batchable = (record: BatchRecord, maxFrameBytes: number): boolean =>
  record.body.length <= MAX_BATCHED_BODY && record.ticket.length <= MAX_TICKET && recordBytes(record) <= Math.min(maxFrameBytes, MAX_BATCH_FRAME);

/**
 * The records as frames of at most `maxFrameBytes` (and `MAX_BATCH_FRAME`), in order; every
 * record must be `batchable` with that limit.
 */
export function packBatches(records: readonly BatchRecord[], maxFrameBytes: number): Buffer[] {
  const limit = Math.min(maxFrameBytes, MAX_BATCH_FRAME);
  const frames: Buffer[] = [];
  for (let first = 0; first < records.length; ) {
    let bytes = 0;
    let end = first;
    // at least one record a frame: a record beyond the limit (a caller's mistake) makes a large frame, never a hang
    while (end < records.length && (end === first || bytes + recordBytes(records[end]) <= limit)) bytes += recordBytes(records[end++]);
    frames.push(pack(records, first, end, bytes));
    first = end;
  }
  return frames;
}

function pack(records: readonly BatchRecord[], first: number, end: number, bytes: number): Buffer {
  const frame = Buffer.allocUnsafe(bytes);
  let at = 0;
  for (let i = first; i < end; i++) {
    const { ticket, body, failed } = records[i];
    frame[at] = failed ? 1 : 0;
    frame[at + 1] = ticket.length;
    frame.set(ticket, at + 2);
    at += 2 + ticket.length;
    frame.writeUInt32BE(body.length, at);
    frame.set(body, at + 4);
    at += 4 + body.length;
  }
  return frame;
}

/**
 * The records of a batch frame (views into it, no copies), or why it is malformed: a peer that
 * sends a truncated or inconsistent batch gets none of it taken.
 */
export function unpackBatch(frame: Buffer): BatchRecord[] | string {
  const records: BatchRecord[] = [];
  let at = 0;
  while (at < frame.length) {
    if (frame.length - at < HEAD_BYTES) return `batch record ${records.length + 1} is truncated`;
    const kind = frame[at];
    if (kind > 1) return `batch record ${records.length + 1} has unknown kind ${kind}`;
    const ticketEnd = at + 2 + frame[at + 1];
    if (ticketEnd + 4 > frame.length) return `batch record ${records.length + 1} is truncated`;
    const bodyEnd = ticketEnd + 4 + frame.readUInt32BE(ticketEnd);
    if (bodyEnd > frame.length) return `batch record ${records.length + 1} is truncated`;
    records.push({ ticket: frame.subarray(at + 2, ticketEnd), body: frame.subarray(ticketEnd + 4, bodyEnd), failed: kind === 1 });
    at = bodyEnd;
  }
  return records.length > 0 ? records : 'empty batch';
}

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

/** Broker -> worker, on the backend ROUTER: a batch of requests. */
export const toWorkerBatchFrames = (worker: Buffer, records: Buffer): Buffer[] => [worker, REQUESTS_HEADER, records];

/** A DEALER worker's batch of answers. */
export const workerBatchFrames = (records: Buffer): Buffer[] => [REPLIES_HEADER, records];
