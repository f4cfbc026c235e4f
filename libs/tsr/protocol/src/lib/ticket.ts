import { randomBytes } from 'node:crypto';

/**
 * A dispatch ticket: what the broker puts in a request's client frame on the backend, in place of
 * the client's routing id. Workers echo that frame untouched (the seed's `workerReq` does:
 * `send([cliente, '', reply])`), so a reply names the very dispatch it answers.
 *
 *   [ instance: 8 bytes ][ admission: 4 bytes, big-endian ][ sequence: 6 bytes, big-endian ]
 *
 * The instance id is random per broker process: generated routing ids are short and may come back
 * in another process (ours count from a random start, libzmq's from the same number in every
 * process), but no two broker instances share tickets, so a reply that crosses a broker restart
 * can never be taken for an answer to a new client. The admission number names the worker the dispatch went to (it wraps, harmlessly: the sequence alone is unique), so a reply
 * is found among that worker's few outstanding dispatches, with no table of every dispatch.
 */
export const INSTANCE_BYTES = 8;
const ADMISSION_BYTES = 4;
export const TICKET_BYTES = INSTANCE_BYTES + ADMISSION_BYTES + 6;

export const newInstanceId = (): Buffer => randomBytes(INSTANCE_BYTES);

export interface TicketNumbers {
  /** The admission number of the worker it was sent to (modulo 2^32). */
  admission: number;
  /** The dispatch's number, unique within the instance. */
  sequence: number;
}

export function encodeTicket(instance: Buffer, admission: number, sequence: number): Buffer {
  const ticket = Buffer.allocUnsafe(TICKET_BYTES);
  instance.copy(ticket, 0, 0, INSTANCE_BYTES);
  ticket.writeUInt32BE(admission >>> 0, INSTANCE_BYTES);
  ticket.writeUIntBE(sequence, INSTANCE_BYTES + ADMISSION_BYTES, 6);
  return ticket;
}

/** The numbers of a ticket of `instance`; undefined for anything else. */
export function decodeTicket(instance: Buffer, ticket: Buffer): TicketNumbers | undefined {
  if (ticket.length !== TICKET_BYTES || instance.compare(ticket, 0, INSTANCE_BYTES, 0, INSTANCE_BYTES) !== 0) return undefined;
  return { admission: ticket.readUInt32BE(INSTANCE_BYTES), sequence: ticket.readUIntBE(INSTANCE_BYTES + ADMISSION_BYTES, 6) };
}
