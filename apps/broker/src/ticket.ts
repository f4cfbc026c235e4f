import { randomBytes } from 'node:crypto';

/**
 * A dispatch ticket: what the broker puts in a request's client frame on the backend, in place of
 * the client's routing id. Workers echo that frame untouched (the seed's `workerReq` does:
 * `send([cliente, '', reply])`), so a reply names the very dispatch it answers.
 *
 *   [ instance: 8 bytes ][ sequence: 6 bytes, big-endian ]
 *
 * The instance id is random per broker process: libzmq hands out the same generated routing ids
 * in every process, but no two broker instances share tickets, so a reply that crosses a broker
 * restart can never be taken for an answer to a new client.
 */
export const INSTANCE_BYTES = 8;
export const TICKET_BYTES = INSTANCE_BYTES + 6;

export const newInstanceId = (): Buffer => randomBytes(INSTANCE_BYTES);

export function encodeTicket(instance: Buffer, sequence: number): Buffer {
  const ticket = Buffer.allocUnsafe(TICKET_BYTES);
  instance.copy(ticket, 0, 0, INSTANCE_BYTES);
  ticket.writeUIntBE(sequence, INSTANCE_BYTES, 6);
  return ticket;
}

/** The sequence number of a ticket of `instance`; undefined for anything else. */
export function decodeTicket(instance: Buffer, ticket: Buffer): number | undefined {
  if (ticket.length !== TICKET_BYTES || instance.compare(ticket, 0, INSTANCE_BYTES, 0, INSTANCE_BYTES) !== 0) return undefined;
  return ticket.readUIntBE(INSTANCE_BYTES, 6);
}
