/**
 * Batches (TSR/1, negotiated per connection): the requests the broker sends one worker in one turn
 * of its event loop, or the answers a worker finishes in one turn, travel as one message of one
 * frame. Every message and every frame costs the sockets work of its own (a header and a Buffer
 * per frame, a handler call and a share of a write per message; with CURVE, a box per frame);
 * a batch pays them once for all its records, where the classic frames pay 5 frames per request
 * and 5 per reply. See docs/protocol.md "Batches".
 *
 *   broker -> worker   [workerId, 'TSR/1 REQS', records]   (a DEALER worker sees the last two)
 *   worker -> broker   [workerId, 'TSR/1 REPS', records]
 *   records: one after another, each [kind: u8][ticket length: u8][ticket][body length: u32 BE][body]
 *   kind: 0 a request or a reply, 1 a handler's failure (the body is its message),
 *         2 a request with metadata (./metadata.ts): [2][ticket length: u8][ticket]
 *           [metadata length: u16 BE][metadata][body length: u32 BE][body]
 *
 * Negotiation, so that neither a seed peer nor an earlier version of ours ever sees a batch: the
 * broker offers `TSR/1 BATCH max=N` after its first heartbeat (N: the largest frame it accepts
 * from a worker); a worker that understands answers `TSR/1 BATCH` and may send batches from then
 * on; the broker sends batches only after that answer. Both are control messages (empty ticket).
 */

import { BATCH_ACCEPT } from './headers';

const OFFER = /^TSR\/1 BATCH max=([1-9]\d{0,9})$/;

/** The broker's offer: `TSR/1 BATCH max=N`, N the largest frame it accepts from the worker. */
export const batchOffer = (maxMessageBytes: number): Buffer => Buffer.from(`${BATCH_ACCEPT.toString('latin1')} max=${maxMessageBytes}`);

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
  /** A request's metadata frame (./metadata.ts), where it has one. */
  metadata?: Buffer;
}

const HEAD_BYTES = 6;
const METADATA_LENGTH_BYTES = 2;
const MAX_TICKET = 255;
/** Bodies larger than this travel in classic frames: copying them into a batch would cost more than the frames it saves. */
export const MAX_BATCHED_BODY = 16 * 1024;
/** Batches are cut at this size, whatever the peer accepts: a frame is copied whole. */
export const MAX_BATCH_FRAME = 256 * 1024;

export const recordBytes = (record: BatchRecord): number =>
  HEAD_BYTES + record.ticket.length + record.body.length + (record.metadata ? METADATA_LENGTH_BYTES + record.metadata.length : 0);

/** Whether a record may travel in a batch whose frames may hold `maxMessageBytes`. */
export const batchable = (record: BatchRecord, maxMessageBytes: number): boolean =>
  record.body.length <= MAX_BATCHED_BODY &&
  record.ticket.length <= MAX_TICKET &&
  (record.metadata?.length ?? 0) < 0x10000 &&
  recordBytes(record) <= Math.min(maxMessageBytes, MAX_BATCH_FRAME);

/**
 * The records as frames of at most `maxMessageBytes` (and `MAX_BATCH_FRAME`), in order; every
 * record must be `batchable` with that limit.
 */
export function packBatches(records: readonly BatchRecord[], maxMessageBytes: number): Buffer[] {
  const limit = Math.min(maxMessageBytes, MAX_BATCH_FRAME);
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
    const { ticket, body, failed, metadata } = records[i];
    frame[at] = failed ? 1 : metadata ? 2 : 0;
    frame[at + 1] = ticket.length;
    frame.set(ticket, at + 2);
    at += 2 + ticket.length;
    if (metadata) {
      frame.writeUInt16BE(metadata.length, at);
      frame.set(metadata, at + 2);
      at += 2 + metadata.length;
    }
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
    if (kind > 2) return `batch record ${records.length + 1} has unknown kind ${kind}`;
    const ticketEnd = at + 2 + frame[at + 1];
    let metadata: Buffer | undefined;
    let bodyAt = ticketEnd;
    if (kind === 2) {
      if (ticketEnd + METADATA_LENGTH_BYTES > frame.length) return `batch record ${records.length + 1} is truncated`;
      bodyAt = ticketEnd + METADATA_LENGTH_BYTES + frame.readUInt16BE(ticketEnd);
      metadata = frame.subarray(ticketEnd + METADATA_LENGTH_BYTES, bodyAt);
    }
    if (bodyAt + 4 > frame.length) return `batch record ${records.length + 1} is truncated`;
    const bodyEnd = bodyAt + 4 + frame.readUInt32BE(bodyAt);
    if (bodyEnd > frame.length) return `batch record ${records.length + 1} is truncated`;
    // one shape for every record (metadata or not), so that what reads them stays monomorphic
    records.push({ ticket: frame.subarray(at + 2, ticketEnd), body: frame.subarray(bodyAt + 4, bodyEnd), failed: kind === 1, metadata });
    at = bodyEnd;
  }
  return records.length > 0 ? records : 'empty batch';
}
